/**
 * The SQLite store's events-debugger records (DebugEventStore). An append is one IMMEDIATE transaction:
 * inserts, then the trim, so that the table never holds more than its cap once the append returns.
 */
import type Database from 'better-sqlite3';
import type { DebugEvent } from '../../schemas/debug-events.js';
import {
  DEBUG_EVENT_INSERT_COLUMNS,
  debugEventListQuery,
  debugEventTrimStatements,
  toDebugEvent,
  type DebugEventRow,
} from '../debug-event-rows.js';
import type { DebugEventCaps, DebugEventFilter, DebugEventStore, NewDebugEvent } from '../debug-event-store.js';
import { settle } from './errors.js';

const placeholder = () => '?';
const json = (value: unknown): unknown => JSON.parse(value as string);

export class SqliteDebugEvents implements DebugEventStore {
  private readonly insert: Database.Statement;
  private readonly trimAge: Database.Statement<[number]>;
  private readonly trimCount: Database.Statement<[number]>;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare(
      `INSERT INTO debug_events (${DEBUG_EVENT_INSERT_COLUMNS}) VALUES (${Array(15).fill('?').join(', ')})`,
    );
    const [age, count] = debugEventTrimStatements(placeholder);
    this.trimAge = db.prepare<[number]>(age);
    this.trimCount = db.prepare<[number]>(count);
  }

  append(records: readonly NewDebugEvent[], caps: DebugEventCaps): Promise<void> {
    return settle(() => {
      this.db
        .transaction(() => {
          for (const r of records) {
            this.insert.run(
              r.time,
              r.method,
              r.route,
              r.url,
              r.status,
              r.code,
              r.detail,
              JSON.stringify(r.errors),
              r.session_id,
              r.request_id,
              JSON.stringify(r.headers),
              r.body,
              r.body_bytes,
              Number(r.body_truncated),
              r.duration_ms,
            );
          }
          this.trimAge.run(caps.minTime);
          this.trimCount.run(caps.maxRows);
        })
        .immediate();
    });
  }

  list(filter: DebugEventFilter): Promise<DebugEvent[]> {
    return settle(() => {
      const { sql, values } = debugEventListQuery(filter, placeholder);
      return this.db
        .prepare<unknown[], DebugEventRow>(sql)
        .all(...values)
        .map((row) => toDebugEvent(row, json));
    });
  }
}
