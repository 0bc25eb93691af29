import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, getJson, INTERNAL, newReleaseId, postJson } from '../api';
import type { Batch, ReleaseResponse } from '../api-types';
import { CallState, Failure, Note, Section, Status } from '../components/bits';
import { count, duration, nowSeconds, time } from '../format';
import { batchHref } from '../router';
import { useApi } from '../use-api';

type Release =
  | { readonly state: 'idle' }
  | { readonly state: 'confirming'; readonly collecting: Batch | undefined }
  | { readonly state: 'sending' }
  | { readonly state: 'done'; readonly answer: ReleaseResponse }
  | { readonly state: 'failed'; readonly error: unknown };

/**
 * Asks before a release: it closes the collecting batch for good. A modal <dialog>, so that the page
 * around it cannot be clicked meanwhile.
 */
function ConfirmRelease({
  collecting,
  onConfirm,
  onCancel,
}: {
  collecting: Batch | undefined;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="confirm"
      data-testid="release-dialog"
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <h2>Release the collecting batch?</h2>
      <p>
        {collecting
          ? `Batch ${collecting.batch_id} (${count(collecting.session_count)} sessions) stops collecting; new sessions go to a new batch. `
          : 'The collecting batch stops collecting; new sessions go to a new batch. '}
        Late events are still accepted until it seals. This cannot be undone.
      </p>
      <div class="actions">
        <button type="button" onClick={onCancel} data-testid="release-cancel">
          Cancel
        </button>
        <button type="button" class="primary" onClick={onConfirm} data-testid="release-confirm">
          Release
        </button>
      </div>
    </dialog>
  );
}

export function BatchesPage() {
  const batches = useApi(() => getJson<{ batches: Batch[] }>(`${INTERNAL}/batches`, { limit: 100 }), []);
  const [release, setRelease] = useState<Release>({ state: 'idle' });
  const collecting = batches.data?.batches.find((b) => b.status === 'collecting');

  const send = async () => {
    setRelease({ state: 'sending' });
    try {
      // One id per click: a retry of this very request would reuse it, a second click is a second release.
      const answer = await postJson<ReleaseResponse>(`${INTERNAL}/batch/release`, { release_id: newReleaseId() });
      setRelease({ state: 'done', answer });
    } catch (error) {
      setRelease({ state: 'failed', error });
    }
    batches.reload();
  };

  return (
    <div class="page" data-testid="page-batches">
      <Section
        title="Batches"
        actions={
          <>
            <button type="button" onClick={batches.reload}>
              Refresh
            </button>
            <button
              type="button"
              class="primary"
              data-testid="release-button"
              disabled={release.state === 'sending'}
              onClick={() => {
                setRelease({ state: 'confirming', collecting });
              }}
            >
              Release the collecting batch…
            </button>
          </>
        }
      >
        {release.state === 'confirming' ? (
          <ConfirmRelease
            collecting={release.collecting}
            onCancel={() => {
              setRelease({ state: 'idle' });
            }}
            onConfirm={() => void send()}
          />
        ) : null}
        {release.state === 'sending' ? <Note>Releasing…</Note> : null}
        {release.state === 'done' ? (
          <Note>
            <span data-testid="release-result">
              Released <a href={batchHref(release.answer.batch_id)}>{release.answer.batch_id}</a> with{' '}
              {count(release.answer.session_count)} sessions; it seals at {time(release.answer.sealed_at)}.
            </span>
          </Note>
        ) : null}
        {release.state === 'failed' ? (
          release.error instanceof ApiError && release.error.code === 'no_sessions_to_release' ? (
            <Note kind="warning">Nothing to release: no session was collected since the last release.</Note>
          ) : (
            <Failure error={release.error} />
          )
        ) : null}
        <CallState call={batches} />
        {batches.data ? (
          <table data-testid="batches">
            <thead>
              <tr>
                <th>batch</th>
                <th>status</th>
                <th class="num">sessions</th>
                <th>created</th>
                <th>released</th>
                <th>sealed</th>
                <th>release id</th>
              </tr>
            </thead>
            <tbody>
              {batches.data.batches.map((b) => (
                <tr key={b.batch_id} data-testid="batch-row" data-batch-id={b.batch_id}>
                  <td>
                    <a href={batchHref(b.batch_id)}>{b.batch_id}</a>
                  </td>
                  <td>
                    <Status status={b.status} />
                  </td>
                  <td class="num" data-testid="batch-sessions">
                    {count(b.session_count)}
                  </td>
                  <td>
                    {time(b.created_at)}
                    {b.status === 'collecting' ? (
                      <span class="muted"> ({duration(nowSeconds() - b.created_at)} ago)</span>
                    ) : null}
                  </td>
                  <td>{time(b.released_at)}</td>
                  <td>{time(b.sealed_at)}</td>
                  <td class="mono">{b.release_id ?? '—'}</td>
                </tr>
              ))}
              {batches.data.batches.length === 0 ? (
                <tr>
                  <td colSpan={7} class="muted">
                    No batch yet: the first session registered starts one.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        ) : null}
      </Section>
    </div>
  );
}
