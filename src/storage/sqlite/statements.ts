/**
 * The SQLite store's statements, prepared once per connection: better-sqlite3 runs a prepared statement
 * without parsing or planning it again.
 */
import type Database from 'better-sqlite3';
import type { BatchRecord } from '../../domain/batch.js';
import { EVENT_COLUMNS } from '../store-helpers.js';
import { BATCH_COLUMNS, SESSION_COLUMNS, type EventRow, type ResultRow, type SessionRow } from './rows.js';

export function prepareStatements(db: Database.Database) {
  return {
    savepoint: db.prepare('SAVEPOINT clickstream_write'),
    releaseSavepoint: db.prepare('RELEASE clickstream_write'),
    rollbackToSavepoint: db.prepare('ROLLBACK TO clickstream_write'),
    ping: db.prepare('SELECT 1'),
    // A row of about a page, which needs a page of its own (migration 3; see SqliteStore.ping).
    insertProbe: db.prepare<[number]>('INSERT INTO storage_probe (filler) VALUES (zeroblob(?))'),
    clearProbe: db.prepare('DELETE FROM storage_probe'),
    sessionById: db.prepare<[string], SessionRow>(`SELECT sid, ${SESSION_COLUMNS} FROM sessions WHERE session_id = ?`),
    // Results are keyed by the session's arrival number (sid), not its id: see migration 2.
    resultsOf: db
      .prepare<[number], ResultRow>(
        'SELECT sid, position, object_id, rank, meta FROM search_results WHERE sid = ? ORDER BY position',
      )
      .raw(true),
    resultsOfMany: db
      .prepare<[string], ResultRow>(
        `SELECT sid, position, object_id, rank, meta FROM search_results
         WHERE sid IN (SELECT value FROM json_each(?)) ORDER BY sid, position`,
      )
      .raw(true),
    countSession: db.prepare('UPDATE batches SET session_count = session_count + 1 WHERE released_at IS NULL'),
    insertBatch: db.prepare<[string, number]>(
      'INSERT INTO batches (batch_id, created_at, session_count) VALUES (?, ?, 0)',
    ),
    // Into the collecting batch, numbered after its last session; nothing when the id is taken.
    insertSession: db.prepare<
      [string, string, string | null, string | null, string | null, string | null, number, number, number, number],
      { sid: number; batch_id: string; session_number: number }
    >(
      `INSERT INTO sessions (session_id, batch_id, session_number, search_query, search_meta, payload_filter, sort_by,
         user_id, created_at, created_at_given, registered_at, result_count)
       SELECT ?, batch_id, session_count + 1, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM batches WHERE released_at IS NULL
       ON CONFLICT (session_id) DO NOTHING
       RETURNING sid, batch_id, session_number`,
    ),
    sessionState: db.prepare<[string], { sid: number; is_irrelevant: number; sealed_at: number | null }>(
      `SELECT s.sid, s.is_irrelevant, b.sealed_at FROM sessions s JOIN batches b ON b.batch_id = s.batch_id
       WHERE s.session_id = ?`,
    ),
    eventById: db.prepare<[string, string], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE session_id = ? AND event_id = ?`,
    ),
    // The position comes from the session's results (a range of their primary key, by the session's sid), in
    // the same statement.
    // sid: the session's arrival number, twice (analytics read events by it: migration 5).
    insertEvent: db.prepare<
      [string, string, string, string, number, number, string, number, number, string | null, number]
    >(
      `INSERT INTO events (session_id, event_id, object_id, event_type, sid, position, created_at, created_at_given,
         meta, received_at)
       VALUES (?, ?, ?, ?, ?, (SELECT position FROM search_results WHERE sid = ? AND object_id = ?), ?, ?, ?, ?)
       ON CONFLICT (session_id, event_id) DO NOTHING`,
    ),
    eventsByIds: db.prepare<[string, string], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE session_id = ? AND event_id IN (SELECT value FROM json_each(?))`,
    ),
    markIrrelevant: db.prepare<[string]>('UPDATE sessions SET is_irrelevant = 1 WHERE session_id = ?'),
    allEventsOfMany: db.prepare<[string], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE session_id IN (SELECT value FROM json_each(?))
       ORDER BY session_id, created_at, rowid`,
    ),
    eventsOfMany: db.prepare<[string, number], EventRow & { rn: number }>(
      `SELECT ${EVENT_COLUMNS}, rn FROM (
         SELECT ${EVENT_COLUMNS}, row_number() OVER (PARTITION BY session_id ORDER BY created_at, rowid) AS rn
         FROM events WHERE session_id IN (SELECT value FROM json_each(?))
       ) WHERE rn <= ? ORDER BY session_id, rn`,
    ),
    batchByRelease: db.prepare<[string], BatchRecord>(`SELECT ${BATCH_COLUMNS} FROM batches WHERE release_id = ?`),
    batchById: db.prepare<[string], BatchRecord>(`SELECT ${BATCH_COLUMNS} FROM batches WHERE batch_id = ?`),
    collecting: db.prepare<[], BatchRecord & { seq: number }>(
      `SELECT seq, ${BATCH_COLUMNS} FROM batches WHERE released_at IS NULL`,
    ),
    release: db.prepare<[number, number, string, number], BatchRecord>(
      `UPDATE batches SET released_at = ?, sealed_at = ?, release_id = ? WHERE seq = ? RETURNING ${BATCH_COLUMNS}`,
    ),
    listBatches: db.prepare<[number], BatchRecord>(`SELECT ${BATCH_COLUMNS} FROM batches ORDER BY seq DESC LIMIT ?`),
    pageOfSessions: db.prepare<[string, number, number], SessionRow>(
      `SELECT sid, ${SESSION_COLUMNS} FROM sessions WHERE batch_id = ? AND session_number > ?
       ORDER BY session_number LIMIT ?`,
    ),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
