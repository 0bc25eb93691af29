/**
 * The PostgreSQL store's events-debugger records (DebugEventStore). An append is one transaction: one
 * INSERT of every record, then the trim. It first locks the table against other appends (not against
 * reads), so that appends from several replicas trim one after the other and the cap holds after each.
 */
import type { DebugEvent } from '../../schemas/debug-events.js';
import {
  DEBUG_EVENT_INSERT_COLUMNS,
  debugEventListQuery,
  debugEventTrimStatements,
  toDebugEvent,
  type DebugEventRow,
} from '../debug-event-rows.js';
import type { DebugEventCaps, DebugEventFilter, DebugEventStore, NewDebugEvent } from '../debug-event-store.js';
import type { PgConnection } from './connection.js';

const placeholder = (n: number) => `$${n}`;
const asIs = (value: unknown): unknown => value;

export class PostgresDebugEvents implements DebugEventStore {
  constructor(private readonly db: PgConnection) {}

  append(records: readonly NewDebugEvent[], caps: DebugEventCaps): Promise<void> {
    const [trimAge, trimCount] = debugEventTrimStatements(placeholder);
    return this.db.transaction(async (client) => {
      await client.query('LOCK TABLE debug_events IN SHARE ROW EXCLUSIVE MODE');
      if (records.length > 0) {
        // One parameter for the whole batch; rows are inserted (and numbered) in the array's order.
        await client.query(
          `INSERT INTO debug_events (${DEBUG_EVENT_INSERT_COLUMNS})
           SELECT r.time, r.method, r.route, r.url, r.status, r.code, r.detail, r.errors, r.session_id, r.request_id,
                  r.headers, r.body, r.body_bytes, r.body_truncated, r.duration_ms
           FROM ROWS FROM (json_to_recordset($1::json) AS (time bigint, method text, route text, url text,
             status integer, code text, detail text, errors json, session_id text, request_id text, headers json,
             body text, body_bytes bigint, body_truncated boolean, duration_ms double precision))
             WITH ORDINALITY AS r(time, method, route, url, status, code, detail, errors, session_id, request_id,
               headers, body, body_bytes, body_truncated, duration_ms, ord)
           ORDER BY r.ord`,
          [JSON.stringify(records)],
        );
      }
      await client.query(trimAge, [caps.minTime]);
      await client.query(trimCount, [caps.maxRows]);
    });
  }

  async list(filter: DebugEventFilter): Promise<DebugEvent[]> {
    const { sql, values } = debugEventListQuery(filter, placeholder);
    const rows = await this.db.query<DebugEventRow>(sql, values);
    return rows.map((row) => toDebugEvent(row, asIs));
  }
}
