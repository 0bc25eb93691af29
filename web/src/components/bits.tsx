/** Small pieces every page uses: figures, notes, errors, a status badge. */
import type { ComponentChildren } from 'preact';
import { ApiError } from '../api';
import type { Loaded } from '../use-api';

export function Figure({ id, label, value, hint }: { id: string; label: string; value: string; hint?: string }) {
  return (
    <div class="figure">
      <div class="figure-value" data-testid={`figure-${id}`}>
        {value}
      </div>
      <div class="figure-label">{label}</div>
      {hint ? <div class="figure-hint">{hint}</div> : null}
    </div>
  );
}

export function Figures({ children }: { children: ComponentChildren }) {
  return <div class="figures">{children}</div>;
}

export function Note({ children, kind = 'info' }: { children: ComponentChildren; kind?: 'info' | 'warning' }) {
  return <p class={`note note-${kind}`}>{children}</p>;
}

/** A failed call as the service explained it: its detail, code and request id (for the logs). */
export function Failure({ error, testId }: { error: unknown; testId?: string }) {
  if (error instanceof ApiError) {
    return (
      <div class="failure" role="alert" data-testid={testId} data-code={error.code ?? ''}>
        <strong>{error.problem?.title ?? `HTTP ${error.status}`}</strong>: {error.problem?.detail ?? error.message}
        {error.problem ? (
          <span class="muted">
            {' '}
            ({error.problem.code}, request {error.problem.request_id})
          </span>
        ) : null}
        {error.problem?.errors && error.problem.errors.length > 0 ? (
          <ul>
            {error.problem.errors.map((item) => (
              <li key={item.path}>
                <code>{item.path}</code>: {item.message}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    );
  }
  return (
    <div class="failure" role="alert" data-testid={testId}>
      {error instanceof Error ? error.message : String(error)}
    </div>
  );
}

export function Status({ status }: { status: string }) {
  return <span class={`status status-${status}`}>{status.replace('_', ' ')}</span>;
}

export function Loading() {
  return <p class="muted loading">Loading…</p>;
}

/** What a call shows before its data: its failure, or that it is loading for the first time. */
export function CallState<T>({ call, testId }: { call: Loaded<T>; testId?: string }) {
  if (call.error) return <Failure error={call.error} {...(testId === undefined ? {} : { testId })} />;
  return call.loading && !call.data ? <Loading /> : null;
}

/** Keyset pages: back along the trail of page keys, or on to the next page. */
export function Pager({
  back,
  on,
  canBack,
  canGoOn,
  onBack,
  onGoOn,
}: {
  back: string;
  on: string;
  canBack: boolean;
  canGoOn: boolean;
  onBack: () => void;
  onGoOn: () => void;
}) {
  return (
    <div class="pager">
      <button type="button" disabled={!canBack} onClick={onBack}>
        ← {back}
      </button>
      <button type="button" disabled={!canGoOn} onClick={onGoOn}>
        {on} →
      </button>
    </div>
  );
}

export function Section({
  title,
  children,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section class="card">
      <header class="card-head">
        <h2>{title}</h2>
        {actions ? <div class="actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}
