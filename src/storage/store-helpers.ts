/** Pieces every storage adapter shares: the contract's errors and small collection helpers. */
import { ClickstreamError } from '../domain/errors.js';
import type { SessionWithEvents, StoredEvent, StoredSession } from '../schemas/records.js';

/** Columns of an event row, named alike in every backend's schema. */
export const EVENT_COLUMNS =
  'session_id, event_id, object_id, event_type, position, created_at, created_at_given, meta';

/** A JSON value as stored in a JSON or text column; SQL NULL for null. */
export function toJson(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

/** Throws `session_not_found` or `session_closed` unless a session can take writes at `now`. */
export function assertWritable<S extends { readonly sealed_at: number | null }>(
  sessionId: string,
  state: S | undefined,
  now: number,
): asserts state is S {
  if (!state) throw new ClickstreamError('session_not_found', `session ${JSON.stringify(sessionId)} is not registered`);
  if (state.sealed_at !== null && now >= state.sealed_at) {
    throw new ClickstreamError(
      'session_closed',
      `session ${JSON.stringify(sessionId)} belongs to a batch sealed at ${state.sealed_at}; it takes no more writes`,
    );
  }
}

export function eventConflict(sessionId: string, eventId: string): ClickstreamError {
  return new ClickstreamError(
    'event_conflict',
    `event ${JSON.stringify(eventId)} of session ${JSON.stringify(sessionId)} is stored already with different content`,
  );
}

export function noSessionsToRelease(): ClickstreamError {
  return new ClickstreamError('no_sessions_to_release', 'no session was registered since the last release');
}

export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/**
 * Sessions with their events, as reads return them. `eventRows` are the events of these sessions in the
 * order reads give them (by session, then `created_at`, then arrival); with a limit, at most one more than
 * `eventsLimit` per session, which tells whether the list was cut.
 */
export function attachEvents<S extends { readonly session_id: string }, E extends { readonly session_id: string }>(
  sessions: readonly S[],
  eventRows: readonly E[],
  eventsLimit: number | null,
  toSession: (row: S) => StoredSession,
  toEvent: (row: E) => StoredEvent,
): SessionWithEvents[] {
  const events = groupBy(eventRows, (e) => e.session_id);
  return sessions.map((row) => {
    const all = events.get(row.session_id) ?? [];
    const truncated = eventsLimit !== null && all.length > eventsLimit;
    return {
      ...toSession(row),
      events: (truncated ? all.slice(0, eventsLimit) : all).map(toEvent),
      events_truncated: truncated,
    };
  });
}

/**
 * The rules every store keeps, as queries valid on SQLite and PostgreSQL alike. Each returns one row per
 * violation (at most 20), with the violation described in `problem`; run by `checkIntegrity`. The rules on
 * search results depend on how a backend keeps them, and each store has its own: SQLite keeps a row per
 * result keyed by the session's arrival number, PostgreSQL a JSON list in the session's row.
 */
export const INTEGRITY_RULES: readonly string[] = [
  `SELECT 'there are ' || count(*) || ' collecting batches instead of one' AS problem
   FROM batches WHERE released_at IS NULL HAVING count(*) <> 1`,
  `SELECT 'session ' || s.session_id || ' is in the unknown batch ' || s.batch_id AS problem
   FROM sessions s LEFT JOIN batches b ON b.batch_id = s.batch_id WHERE b.batch_id IS NULL LIMIT 20`,
  `SELECT 'batch ' || b.batch_id || ' counts ' || b.session_count || ' sessions but holds ' || n.sessions AS problem
   FROM batches b JOIN (SELECT batch_id, count(*) AS sessions FROM sessions GROUP BY batch_id) n
     ON n.batch_id = b.batch_id
   WHERE b.released_at IS NOT NULL AND b.session_count IS NOT NULL AND b.session_count <> n.sessions LIMIT 20`,
  `SELECT 'batch ' || batch_id || ' has ' || count(*) || ' sessions numbered ' || session_number AS problem
   FROM sessions GROUP BY batch_id, session_number HAVING count(*) > 1 LIMIT 20`,
  `SELECT 'event ' || e.event_id || ' belongs to the unknown session ' || e.session_id AS problem
   FROM events e LEFT JOIN sessions s ON s.session_id = e.session_id WHERE s.session_id IS NULL LIMIT 20`,
];
