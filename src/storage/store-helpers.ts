/** Pieces every storage adapter shares: the contract's errors and small collection helpers. */
import { ClickstreamError } from '../domain/errors.js';

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
