import { useState } from 'preact/hooks';
import { getJson, INTERNAL, API } from '../api';
import type { Batch, SessionWithEvents, StoredEvent } from '../api-types';
import { CallState, Note, Section, Status } from '../components/bits';
import { time } from '../format';
import { batchHref, hrefOf, navigate } from '../router';
import { useApi } from '../use-api';

/** A search query as text: a string as it is, a structured query as compact JSON. */
export function queryText(query: SessionWithEvents['search_query']): string {
  return typeof query === 'string' ? query : JSON.stringify(query);
}

/**
 * An event that reached the batch after its release: clicks trail the search, and the grace period
 * accepts them until the batch seals. The store keeps the event's own time, so that is what is compared.
 */
export function isLate(event: StoredEvent, batch: Batch | undefined): boolean {
  return batch?.released_at !== null && batch?.released_at !== undefined && event.created_at > batch.released_at;
}

function SessionForm({ current }: { current: string | null }) {
  const [value, setValue] = useState(current ?? '');
  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        const id = value.trim();
        if (id !== '') navigate({ page: 'session', sessionId: id });
      }}
    >
      <label>
        session id{' '}
        <input
          type="search"
          value={value}
          data-testid="session-input"
          placeholder="a session_id"
          size={40}
          onInput={(event) => {
            setValue(event.currentTarget.value);
          }}
        />
      </label>
      <button type="submit" class="primary" data-testid="session-open">
        Open
      </button>
    </form>
  );
}

function SessionDetails({ session, batch }: { session: SessionWithEvents; batch: Batch | undefined }) {
  const byObject = new Map<string, StoredEvent[]>();
  for (const event of session.events) byObject.set(event.object_id, [...(byObject.get(event.object_id) ?? []), event]);
  const notShown = session.events.filter((e) => e.position === null);
  return (
    <>
      <dl class="facts" data-testid="session-facts">
        <dt>query</dt>
        <dd class="query" data-testid="session-query">
          {queryText(session.search_query)}
        </dd>
        <dt>batch</dt>
        <dd>
          <a href={batchHref(session.batch_id)}>{session.batch_id}</a> {batch ? <Status status={batch.status} /> : null}{' '}
          <span class="muted">session #{session.session_number}</span>
        </dd>
        <dt>created</dt>
        <dd>{time(session.created_at)}</dd>
        <dt>user</dt>
        <dd>{session.user_id ?? '—'}</dd>
        <dt>flags</dt>
        <dd data-testid="session-irrelevant" data-irrelevant={String(session.is_irrelevant)}>
          {session.is_irrelevant ? (
            <span class="flag flag-irrelevant">irrelevant: kept, never used for training</span>
          ) : (
            <span class="muted">relevant</span>
          )}
        </dd>
      </dl>
      <h3>Results, in the order shown</h3>
      {session.search_results.length === 0 ? (
        <Note kind="warning">
          <span data-testid="session-zero-results">This search had no result.</span>
        </Note>
      ) : (
        <table data-testid="session-results">
          <thead>
            <tr>
              <th class="num">position</th>
              <th>object</th>
              <th class="num">rank</th>
              <th>interactions</th>
            </tr>
          </thead>
          <tbody>
            {session.search_results.map((result) => {
              const events = byObject.get(result.object_id) ?? [];
              return (
                <tr
                  key={result.object_id}
                  class={events.length > 0 ? 'clicked' : ''}
                  data-testid="result-row"
                  data-position={result.position}
                  data-clicked={String(events.some((e) => e.event_type === 'click'))}
                  data-events={events.length}
                >
                  <td class="num">{result.position}</td>
                  <td class="mono">{result.object_id}</td>
                  <td class="num">{result.rank ?? '—'}</td>
                  <td>
                    {events.map((e) => (
                      <span
                        key={e.event_id}
                        class={`flag flag-event${isLate(e, batch) ? ' flag-late' : ''}`}
                        title={time(e.created_at)}
                      >
                        {e.event_type}
                        {isLate(e, batch) ? ' (late)' : ''}
                      </span>
                    ))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <h3>Events</h3>
      {notShown.length > 0 ? (
        <Note kind="warning">
          {notShown.length} event(s) name an object that was not among the results: stored, with no position.
        </Note>
      ) : null}
      <table data-testid="session-events">
        <thead>
          <tr>
            <th>event</th>
            <th>type</th>
            <th>object</th>
            <th class="num">position</th>
            <th>time</th>
            <th>flags</th>
          </tr>
        </thead>
        <tbody>
          {session.events.map((e) => (
            <tr key={e.event_id} data-testid="event-row" data-late={String(isLate(e, batch))}>
              <td class="mono">{e.event_id}</td>
              <td>{e.event_type}</td>
              <td class="mono">{e.object_id}</td>
              <td class="num">{e.position ?? <span class="muted">not shown</span>}</td>
              <td>{time(e.created_at)}</td>
              <td>{isLate(e, batch) ? <span class="flag flag-late">after the release</span> : null}</td>
            </tr>
          ))}
          {session.events.length === 0 ? (
            <tr>
              <td colSpan={6} class="muted">
                No event: nothing was clicked.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {session.events_truncated ? <Note>Only the first events are shown.</Note> : null}
    </>
  );
}

export function SessionPage({ sessionId }: { sessionId: string | null }) {
  const session = useApi(
    () =>
      sessionId === null
        ? Promise.resolve(undefined)
        : getJson<SessionWithEvents>(`${API}/session`, { session_id: sessionId }),
    [sessionId],
  );
  const batchId = session.data?.batch_id;
  const batch = useApi(
    () =>
      batchId === undefined ? Promise.resolve(undefined) : getJson<Batch>(`${INTERNAL}/batch`, { batch_id: batchId }),
    [batchId],
  );
  return (
    <div class="page" data-testid="page-session">
      <Section title="Session inspector">
        <SessionForm key={sessionId ?? ''} current={sessionId} />
        {sessionId === null ? (
          <p class="muted">
            Type a session id, or open one from a batch's sessions or from the{' '}
            <a href={hrefOf({ page: 'debugger', sessionId: null, code: null })}>events debugger</a>.
          </p>
        ) : null}
      </Section>
      {sessionId !== null ? (
        <Section
          title={`Session ${sessionId}`}
          actions={
            <a href={hrefOf({ page: 'debugger', sessionId, code: null })} class="button">
              Its requests in the debugger
            </a>
          }
        >
          <CallState call={session} testId="session-error" />
          {session.data ? <SessionDetails session={session.data} batch={batch.data} /> : null}
        </Section>
      ) : null}
    </div>
  );
}
