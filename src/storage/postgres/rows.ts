/** Rows of the PostgreSQL store as its statements read them, and the schema's constants its SQL uses. */
import type { NewEvent } from '../../domain/event.js';
import type { SessionRecord } from '../../domain/session.js';
import type { StoredEvent, StoredSearchResult, StoredSession } from '../../schemas/records.js';

export interface SessionRow {
  session_id: string;
  batch_id: string;
  session_number: number;
  search_query: SessionRecord['search_query'];
  search_meta: Record<string, unknown> | null;
  payload_filter: Record<string, unknown> | null;
  sort_by: Record<string, unknown> | null;
  user_id: string | null;
  created_at: number;
  created_at_given: boolean;
  is_irrelevant: boolean;
  search_results: StoredSearchResult[];
}

/**
 * A session's columns in the order of the read schema (StoredSession), so that an export's JSON Lines are
 * the same bytes as SQLite's; its results are one JSON value (migration 4).
 */
export const SESSION_ROW = `session_id, batch_id, session_number, search_query, results AS search_results, search_meta,
  payload_filter, sort_by, user_id, created_at, created_at_given, is_irrelevant`;

export interface EventRow {
  session_id: string;
  event_id: string;
  object_id: string;
  event_type: string;
  position: number | null;
  created_at: number;
  created_at_given: boolean;
  meta: Record<string, unknown> | null;
}

// session_count is NULL while a batch collects (and between a release's commit and its count).
export const BATCH_COLUMNS = 'batch_id, release_id, created_at, released_at, sealed_at, session_count';

// The first session_number of a new batch is 1: the sequence's last value, taken while no registration
// is in flight (under the exclusive release lock, or at migration).
export const NUMBER_BASE = '(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM session_numbers)';

/**
 * Advisory lock class (first key) of the batch boundary (see PostgresStore); the second key is a hash of
 * the schema, so that stores in different schemas of one database do not contend.
 */
export const RELEASE_LOCK = 0x636c6b31;

export function toEvent(row: EventRow): NewEvent & { position: number | null } {
  const { session_id: _session, ...event } = row;
  return event;
}

/** An event as reads return it, keys in the order of the read schema (StoredEvent), as SQLite's are. */
export function publicEvent(row: EventRow): StoredEvent {
  const { event_id, object_id, event_type, created_at, position, meta } = row;
  return { event_id, object_id, event_type, created_at, position, meta };
}

/** A session as reads return it: the row without what only idempotency comparison needs. */
export function toStoredSession(row: SessionRow): StoredSession {
  const { created_at_given: _given, ...session } = row;
  return session;
}

export function eventKey(sessionId: string, eventId: string): string {
  return `${sessionId}\u0000${eventId}`;
}
