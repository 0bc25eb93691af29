/** Pieces every storage adapter shares: the contract's errors and small collection helpers. */
import { ClickstreamError } from '../domain/errors.js';

/** Columns of a session row and of an event row, named alike in every backend's schema. */
export const SESSION_COLUMNS = `session_id, batch_id, session_number, search_query, search_meta, payload_filter,
  sort_by, user_id, created_at, created_at_given, is_irrelevant`;
export const EVENT_COLUMNS =
  'session_id, event_id, object_id, event_type, position, created_at, created_at_given, meta';

/** A JSON value as stored in a JSON or text column; SQL NULL for null. */
export function toJson(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

/** Throws `session_not_found` or `session_closed` unless a session can take writes at `now`. */
export function assertWritable(
  sessionId: string,
  state: { readonly sealed_at: number | null } | undefined,
  now: number,
): void {
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
