import { useState } from 'preact/hooks';
import { getJson, INTERNAL } from '../api';
import type { DebugEvent, DebugEventsPage } from '../api-types';
import { CallState, Pager, Section } from '../components/bits';
import { bytes, time } from '../format';
import { navigate, sessionHref } from '../router';
import { useApi } from '../use-api';
import { ERROR_CODES } from '../../../src/domain/errors';

const EVENTS_PER_PAGE = 50;

function Filters({ sessionId, code }: { sessionId: string | null; code: string | null }) {
  const [session, setSession] = useState(sessionId ?? '');
  const [chosen, setChosen] = useState(code ?? '');
  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        navigate({ page: 'debugger', sessionId: session.trim() || null, code: chosen || null });
      }}
    >
      <label>
        session id{' '}
        <input
          type="search"
          value={session}
          size={32}
          data-testid="debugger-session"
          onInput={(event) => {
            setSession(event.currentTarget.value);
          }}
        />
      </label>
      <label>
        code{' '}
        <select
          value={chosen}
          data-testid="debugger-code"
          onChange={(event) => {
            setChosen(event.currentTarget.value);
          }}
        >
          <option value="">any</option>
          {ERROR_CODES.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" class="primary" data-testid="debugger-apply">
        Filter
      </button>
    </form>
  );
}

function Row({ event }: { event: DebugEvent }) {
  const headers = Object.entries(event.headers);
  return (
    <tr
      data-testid="debug-row"
      data-request-id={event.request_id}
      data-status={event.status}
      class={event.status >= 400 ? 'rejected' : ''}
    >
      <td>
        {time(event.time)}
        <div class="muted small">{event.duration_ms.toFixed(1)} ms</div>
      </td>
      <td class="mono">
        {event.method} {event.route}
      </td>
      <td class="num">{event.status}</td>
      <td class="mono">{event.code ?? '—'}</td>
      <td>{event.session_id ? <a href={sessionHref(event.session_id)}>{event.session_id}</a> : '—'}</td>
      <td>
        {event.detail ? <div data-testid="debug-detail">{event.detail}</div> : null}
        {event.errors.length > 0 ? (
          <ul class="errors" data-testid="debug-errors">
            {event.errors.map((e, i) => (
              <li key={`${e.path}-${i}`}>
                <code data-testid="debug-error-path">{e.path}</code>: {e.message}
              </li>
            ))}
          </ul>
        ) : null}
        <details>
          <summary>
            request <span class="mono">{event.request_id}</span>
          </summary>
          <div class="mono small">{event.url}</div>
          {event.body === null ? (
            <p class="muted">no body read</p>
          ) : (
            <>
              <pre class="excerpt">{event.body}</pre>
              <p class="muted small">
                {event.body_truncated ? 'the start of a body of ' : 'a body of '}
                {bytes(event.body_bytes ?? 0)}
              </p>
            </>
          )}
          {headers.length > 0 ? (
            <table class="headers">
              <tbody>
                {headers.map(([name, value]) => (
                  <tr key={name}>
                    <td class="mono">{name}</td>
                    <td class="mono">{value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </details>
      </td>
    </tr>
  );
}

/**
 * The requests the service kept for debugging: every rejected one and a sample of the accepted ones, newest
 * first, keys and secrets removed by the service before storing them.
 */
export function DebuggerPage({ sessionId, code }: { sessionId: string | null; code: string | null }) {
  // The `before` of each page shown so far: the first page has none.
  const [trail, setTrail] = useState<(number | null)[]>([null]);
  const before = trail[trail.length - 1] ?? null;
  const page = useApi(
    () =>
      getJson<DebugEventsPage>(`${INTERNAL}/debug/events`, {
        session_id: sessionId,
        code,
        before,
        limit: EVENTS_PER_PAGE,
      }),
    [sessionId, code, before],
  );
  const next = page.data?.next_before ?? null;
  return (
    <div class="page" data-testid="page-debugger">
      <Section
        title="Events debugger"
        actions={
          <button
            type="button"
            onClick={() => {
              setTrail([null]);
              page.reload();
            }}
            data-testid="debugger-refresh"
          >
            Refresh
          </button>
        }
      >
        <Filters key={`${sessionId ?? ''}|${code ?? ''}`} sessionId={sessionId} code={code} />
        <p class="muted small">
          Every rejected request, and a sample of accepted ones; Authorization, X-API-Key, the key parameter and any
          header naming a key, token, secret or cookie are removed before they are kept.
        </p>
        <CallState call={page} />
        {page.data ? (
          <table data-testid="debug-events">
            <thead>
              <tr>
                <th>received</th>
                <th>request</th>
                <th class="num">status</th>
                <th>code</th>
                <th>session</th>
                <th>errors, body and headers</th>
              </tr>
            </thead>
            <tbody>
              {page.data.events.map((event) => (
                <Row key={event.seq} event={event} />
              ))}
              {page.data.events.length === 0 ? (
                <tr>
                  <td colSpan={6} class="muted">
                    Nothing kept{sessionId || code ? ' for this filter' : ''}.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        ) : null}
        <Pager
          back="newer"
          on="older"
          canBack={trail.length > 1 && !page.loading}
          canGoOn={next !== null && !page.loading}
          onBack={() => {
            setTrail(trail.slice(0, -1));
          }}
          onGoOn={() => {
            if (next !== null) setTrail([...trail, next]);
          }}
        />
      </Section>
    </div>
  );
}
