/** Rows of the SQLite store as its statements read them, and their conversion into domain records. */
import type { SessionRecord } from '../../domain/session.js';
import type { StoredEvent, StoredSearchResult, StoredSession } from '../../schemas/records.js';

export interface SessionRow {
  /** The session's arrival number, which keys its results (migration 2); never leaves the store. */
  sid: number;
  session_id: string;
  batch_id: string;
  session_number: number;
  search_query: string;
  search_meta: string | null;
  payload_filter: string | null;
  sort_by: string | null;
  user_id: string | null;
  created_at: number;
  created_at_given: number;
  is_irrelevant: number;
}

/**
 * A search result as read: an array (the statements run in raw mode), not an object. Pages and exports read
 * about 20 results per session, and building a keyed object per row took half of an export's time.
 */
export type ResultRow = [sid: number, position: number, object_id: string, rank: number | null, meta: string | null];

export interface EventRow {
  session_id: string;
  event_id: string;
  object_id: string;
  event_type: string;
  position: number | null;
  created_at: number;
  created_at_given: number;
  meta: string | null;
}

/** The columns of SessionRow but its sid. */
export const SESSION_COLUMNS = `session_id, batch_id, session_number, search_query, search_meta, payload_filter,
  sort_by, user_id, created_at, created_at_given, is_irrelevant`;
export const BATCH_COLUMNS = 'batch_id, release_id, created_at, released_at, sealed_at, session_count';

const fromJsonObject = (text: string | null): Record<string, unknown> | null =>
  text === null ? null : (JSON.parse(text) as Record<string, unknown>);

export function toResult([, position, object_id, rank, meta]: ResultRow): StoredSearchResult {
  return { object_id, position, rank, meta: fromJsonObject(meta) };
}

export function toEvent(row: EventRow): StoredEvent & { created_at_given: boolean } {
  return {
    event_id: row.event_id,
    object_id: row.object_id,
    event_type: row.event_type,
    created_at: row.created_at,
    position: row.position,
    meta: fromJsonObject(row.meta),
    created_at_given: row.created_at_given === 1,
  };
}

export function publicEvent(row: EventRow): StoredEvent {
  const { created_at_given: _given, ...event } = toEvent(row);
  return event;
}

/** A session as reads return it, keys in the order of the read schema (StoredSession). */
export function toStoredSession(row: SessionRow, results: StoredSearchResult[]): StoredSession {
  return {
    session_id: row.session_id,
    batch_id: row.batch_id,
    session_number: row.session_number,
    search_query: JSON.parse(row.search_query) as SessionRecord['search_query'],
    search_results: results,
    search_meta: fromJsonObject(row.search_meta),
    payload_filter: fromJsonObject(row.payload_filter),
    sort_by: fromJsonObject(row.sort_by),
    user_id: row.user_id,
    created_at: row.created_at,
    is_irrelevant: row.is_irrelevant === 1,
  };
}

/** A session as idempotency comparison needs it. */
export function toSession(row: SessionRow, results: StoredSearchResult[]): SessionRecord {
  return { ...toStoredSession(row, results), created_at_given: row.created_at_given === 1 };
}
