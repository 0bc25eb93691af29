/**
 * How a stored session becomes what the click models read (ObservedSession): the query text (the string
 * query, or the text at `queryField` of a structured one) and each result's document text (its object id,
 * or the text at `documentField` of its meta, where EmbeddingStudio clients put `item_info`). A session
 * that gives no query text is skipped and counted, never turned into text by other means.
 */
import type { Interaction, ObservedSession, ShownResult } from '../learning/observed-session.js';
import type { SessionWithEvents } from '../schemas/records.js';

export interface TextFields {
  /** A dot path into a structured query; null: structured queries are skipped. */
  readonly queryField: string | null;
  /** A dot path into each result's meta; null: the document is the object id. */
  readonly documentField: string | null;
}

export type SkipReason = 'irrelevant' | 'structured_query' | 'empty_query';

export function observe(session: SessionWithEvents, fields: TextFields): ObservedSession | SkipReason {
  if (session.is_irrelevant) return 'irrelevant';
  const query = queryText(session.search_query, fields.queryField);
  if (query === null) return 'structured_query';
  if (query.trim() === '') return 'empty_query';
  const results: ShownResult[] = session.search_results.map((result) => ({
    objectId: result.object_id,
    document: fields.documentField === null ? result.object_id : textAt(result.meta, fields.documentField),
  }));
  const interactions: Interaction[] = session.events.map((event) => ({
    objectId: event.object_id,
    position: event.position,
    eventType: event.event_type,
  }));
  return { sessionId: session.session_id, query, results, interactions };
}

/** The text of a query: the string query, or the text at `field` of a structured one; null when there is none. */
export function queryText(query: SessionWithEvents['search_query'], field: string | null): string | null {
  if (typeof query === 'string') return query;
  return field === null ? null : textAt(query, field);
}

/** The string (or number, as written) at a dot path (`query.text`, `items.0.title`), or null. */
export function textAt(value: unknown, path: string): string | null {
  let current: unknown = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return null;
    current = (current as Record<string, unknown>)[key];
  }
  if (typeof current === 'string') return current;
  return typeof current === 'number' && Number.isFinite(current) ? String(current) : null;
}
