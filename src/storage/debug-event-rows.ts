/** The events debugger's table as both backends read and trim it (debug-event-store.ts has the contract). */
import type { DebugEvent } from '../schemas/debug-events.js';
import type { DebugEventFilter } from './debug-event-store.js';

/** The columns of a record in the order of {@link DebugEventRow}; `received_at` is the record's `time`. */
export const DEBUG_EVENT_COLUMNS =
  'seq, received_at, method, route, url, status, code, detail, errors, session_id, request_id, headers, body, body_bytes, body_truncated, duration_ms';

/** The columns an append writes, all but `seq`. */
export const DEBUG_EVENT_INSERT_COLUMNS = DEBUG_EVENT_COLUMNS.replace('seq, ', '');

export interface DebugEventRow {
  seq: number;
  received_at: number;
  method: string;
  route: string;
  url: string;
  status: number;
  code: string | null;
  detail: string | null;
  /** JSON text (SQLite) or the parsed value (PostgreSQL). */
  errors: unknown;
  session_id: string | null;
  request_id: string;
  headers: unknown;
  body: string | null;
  body_bytes: number | null;
  /** 0/1 (SQLite) or a boolean (PostgreSQL). */
  body_truncated: unknown;
  duration_ms: number;
}

/** A row as the port answers it; `json` turns the backend's JSON columns into values. */
export function toDebugEvent(row: DebugEventRow, json: (value: unknown) => unknown): DebugEvent {
  return {
    seq: row.seq,
    time: row.received_at,
    method: row.method,
    route: row.route,
    url: row.url,
    status: row.status,
    code: row.code,
    detail: row.detail,
    errors: json(row.errors) as DebugEvent['errors'],
    session_id: row.session_id,
    request_id: row.request_id,
    headers: json(row.headers) as DebugEvent['headers'],
    body: row.body,
    body_bytes: row.body_bytes,
    body_truncated: Boolean(row.body_truncated),
    duration_ms: row.duration_ms,
  };
}

/**
 * The list query: only the filters given are in the WHERE clause, so that each filter's index serves it.
 * `placeholder` writes the n-th parameter (1-based) as the backend spells it.
 */
export function debugEventListQuery(
  filter: DebugEventFilter,
  placeholder: (n: number) => string,
): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const where: string[] = [];
  const add = (clause: string, value: unknown) => {
    values.push(value);
    where.push(`${clause} ${placeholder(values.length)}`);
  };
  if (filter.sessionId !== undefined) add('session_id =', filter.sessionId);
  if (filter.code !== undefined) add('code =', filter.code);
  if (filter.beforeSeq !== undefined) add('seq <', filter.beforeSeq);
  if (filter.minTime !== undefined) add('received_at >=', filter.minTime);
  values.push(filter.limit);
  const sql = `SELECT ${DEBUG_EVENT_COLUMNS} FROM debug_events${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
    ORDER BY seq DESC LIMIT ${placeholder(values.length)}`;
  return { sql, values };
}

/** The trim of an append: rows older than the age cap, then all but the newest rows of the count cap. */
export function debugEventTrimStatements(placeholder: (n: number) => string): readonly [string, string] {
  return [
    `DELETE FROM debug_events WHERE received_at < ${placeholder(1)}`,
    `DELETE FROM debug_events WHERE seq <= (SELECT seq FROM debug_events ORDER BY seq DESC LIMIT 1 OFFSET ${placeholder(1)})`,
  ];
}
