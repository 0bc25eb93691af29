import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { newBatchId, type BatchRecord } from '../../domain/batch.js';
import { ClickstreamError } from '../../domain/errors.js';
import { isSameEvent, type NewEvent } from '../../domain/event.js';
import type { NewSession, SessionRecord } from '../../domain/session.js';
import type { SessionWithEvents, StoredEvent, StoredSearchResult } from '../../schemas/records.js';
import { SILENT_STORE_LOGGER, type StoreLogger } from '../driver.js';
import type { ClickstreamStore, StoreCapabilities } from '../store.js';
import {
  assertWritable,
  EVENT_COLUMNS,
  eventConflict,
  groupBy,
  INTEGRITY_RULES,
  noSessionsToRelease,
  toJson,
} from '../store-helpers.js';
import { GroupQueue, type GroupEntry } from '../group-queue.js';
import { Checkpointer } from './checkpointer.js';
import { SQLITE_MIGRATIONS } from './migrations.js';

export interface SqliteOptions {
  /** `process`: synchronous=NORMAL (survives a process crash); `power-loss`: synchronous=FULL. */
  readonly durability: 'process' | 'power-loss';
  /** How long a write waits for another process's transaction (the CLI beside a server), in ms. */
  readonly busyTimeoutMs?: number;
  /**
   * Whether WAL checkpoints run on a thread of their own (see Checkpointer): for the service. A command
   * that runs once does without (a thread is a V8 instance of its own, about 10 MB more).
   */
  readonly checkpointThread?: boolean;
  /** Where failures no request sees are reported (the checkpoint thread's). */
  readonly logger?: StoreLogger;
}

interface SessionRow {
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
type ResultRow = [sid: number, position: number, object_id: string, rank: number | null, meta: string | null];

interface EventRow {
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
const SESSION_COLUMNS = `session_id, batch_id, session_number, search_query, search_meta, payload_filter,
  sort_by, user_id, created_at, created_at_given, is_irrelevant`;
const BATCH_COLUMNS = 'batch_id, release_id, created_at, released_at, sealed_at, session_count';

const fromJsonObject = (text: string | null): Record<string, unknown> | null =>
  text === null ? null : (JSON.parse(text) as Record<string, unknown>);

function toResult([, position, object_id, rank, meta]: ResultRow): StoredSearchResult {
  return { object_id, position, rank, meta: fromJsonObject(meta) };
}

function toEvent(row: EventRow): StoredEvent & { created_at_given: boolean } {
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

function publicEvent(row: EventRow): StoredEvent {
  const { created_at_given: _given, ...event } = toEvent(row);
  return event;
}

function toSession(row: SessionRow, results: StoredSearchResult[]): SessionRecord {
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
    created_at_given: row.created_at_given === 1,
  };
}

/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so every method runs
 * its transaction to the end before it resolves: a write is committed before anyone hears of it. Write
 * transactions are IMMEDIATE, so a CLI process and a server on the same file queue on the write lock
 * (busy timeout) instead of failing on a lock upgrade.
 */
export class SqliteStore implements ClickstreamStore {
  readonly capabilities: StoreCapabilities = { backend: 'sqlite' };
  private readonly statements: Statements;
  private readonly queue = new GroupQueue<() => unknown, unknown>((group) => {
    this.runGroup(group);
  }, MAX_GROUP);
  private readonly counters = { commits: 0, writes: 0 };
  /** INSERTs of 1 ... RESULTS_PER_STATEMENT results, by row count (see insertResults). */
  private readonly resultInserts = new Map<number, Database.Statement<[ResultValues]>>();

  private constructor(
    private readonly db: Database.Database,
    private readonly checkpointer: Checkpointer | null,
  ) {
    this.statements = prepareStatements(db);
  }

  /**
   * Opens (creating if needed) the database file, applies pending migrations and returns the store with
   * the migration versions this call applied.
   */
  static open(path: string, options: SqliteOptions): { store: SqliteStore; applied: number[] } {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    try {
      // A process starting while another migrates the file waits for it, however long a migration takes
      // (migration 2 rewrites every session and result: about 30 s per million sessions).
      db.pragma(`busy_timeout = ${MIGRATION_BUSY_TIMEOUT_MS}`);
      retryBusy(() => db.pragma('journal_mode = WAL'));
      const synchronous = options.durability === 'power-loss' ? 'FULL' : 'NORMAL';
      db.pragma(`synchronous = ${synchronous}`);
      const applied = retryBusy(() => migrate(db));
      db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      db.pragma('foreign_keys = ON');
      const checkpointer =
        path !== ':memory:' && options.checkpointThread === true
          ? new Checkpointer(
              { path, synchronous, busyEveryMs: 10, idleEveryMs: 250 },
              options.logger ?? SILENT_STORE_LOGGER,
            )
          : null;
      return { store: new SqliteStore(db, checkpointer), applied };
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Group commit (see GroupQueue): the writes of one event-loop turn run in one IMMEDIATE transaction.
   * Every write settles only after the shared COMMIT, so a request is still answered only once its own
   * rows are durable; one commit per group instead of one per request lets the store keep up with HTTP.
   * Optimistically the group runs without savepoints; if any write throws, the transaction is rolled back
   * and the group runs again with a savepoint around each write, so the failing one is rolled back alone
   * and its neighbours commit.
   */
  private write<T>(work: () => T): Promise<T> {
    // The queue carries writes of every result type; each caller gets back what its own work returned.
    return this.queue.push(work) as Promise<T>;
  }

  private runGroup(group: readonly GroupEntry<() => unknown, unknown>[]): void {
    let outcomes: Outcome[];
    try {
      outcomes = this.db
        .transaction(() => group.map((entry): Outcome => ({ ok: true, value: entry.input() })))
        .immediate();
    } catch (error) {
      if (group.length === 1 || !isRetriable(error)) {
        // Alone, the write's own failure is the answer (its transaction rolled back whole).
        const failure = storeFailure(error);
        for (const entry of group) entry.reject(failure);
        return;
      }
      try {
        outcomes = this.db.transaction(() => group.map((entry) => this.isolated(entry.input))).immediate();
      } catch (groupError) {
        // The group's BEGIN or COMMIT failed: nothing of it is stored, and every write says so.
        const failure = storeFailure(groupError);
        for (const entry of group) entry.reject(failure);
        return;
      }
    }
    this.counters.commits++;
    this.counters.writes += group.length;
    group.forEach((entry, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) entry.resolve(outcome.value);
      else entry.reject(outcome ? outcome.error : new Error('write outcome missing'));
    });
  }

  /** Runs one write inside a savepoint; a failure rolls back that write only. */
  private isolated(work: () => unknown): Outcome {
    const s = this.statements;
    s.savepoint.run();
    try {
      const value = work();
      s.releaseSavepoint.run();
      return { ok: true, value };
    } catch (error) {
      s.rollbackToSavepoint.run();
      s.releaseSavepoint.run();
      return { ok: false, error };
    }
  }

  /** How many commits carried how many writes since the store was opened (group commit at work). */
  commitStats(): { commits: number; writes: number } {
    return { ...this.counters };
  }

  /** What the checkpointer thread has copied from the WAL so far (zeros without the thread). */
  checkpointStats(): { checkpoints: number; frames: number } {
    return this.checkpointer?.stats() ?? { checkpoints: 0, frames: 0 };
  }

  registerSession(session: NewSession, now: number): Promise<{ created: boolean; session: SessionRecord }> {
    const s = this.statements;
    const run = () => {
      // New ids, the common case, cost three statements: the session, the batch's counter and its results
      // (one statement per RESULTS_PER_STATEMENT); a taken id is read back instead.
      const slot = s.insertSession.get(
        session.session_id,
        JSON.stringify(session.search_query),
        toJson(session.search_meta),
        toJson(session.payload_filter),
        toJson(session.sort_by),
        session.user_id,
        session.created_at,
        session.created_at_given ? 1 : 0,
        now,
      );
      if (!slot) {
        const existing = s.sessionById.get(session.session_id);
        if (!existing) throw new Error('no collecting batch: the store was not opened through SqliteStore.open');
        return { created: false, session: this.withResults(existing) };
      }
      s.countSession.run();
      this.insertResults(slot.sid, session.search_results);
      const stored: SessionRecord = {
        ...session,
        batch_id: slot.batch_id,
        session_number: slot.session_number,
        is_irrelevant: false,
      };
      return { created: true, session: stored };
    };
    return this.write(run);
  }

  /**
   * A session's results, bound as values of multi-row INSERTs (up to RESULTS_PER_STATEMENT rows each, one
   * prepared statement per row count, made on first use). Unpacking one JSON array in SQL (json_each) cost
   * about a third more per registration (bench/NOTES.md).
   */
  private insertResults(sid: number, results: NewSession['search_results']): void {
    for (let start = 0; start < results.length; start += RESULTS_PER_STATEMENT) {
      const chunk = results.slice(start, start + RESULTS_PER_STATEMENT);
      const values: ResultValues = [];
      chunk.forEach((result, index) => {
        values.push(sid, start + index, result.object_id, result.rank ?? null, toJson(result.meta));
      });
      let insert = this.resultInserts.get(chunk.length);
      if (!insert) {
        insert = this.db.prepare<[ResultValues]>(
          `INSERT INTO search_results (sid, position, object_id, rank, meta) VALUES ${Array(chunk.length).fill('(?, ?, ?, ?, ?)').join(', ')}`,
        );
        this.resultInserts.set(chunk.length, insert);
      }
      insert.run(values);
    }
  }

  addEvents(
    sessionId: string,
    events: readonly NewEvent[],
    now: number,
  ): Promise<{ stored: number; duplicates: number }> {
    const s = this.statements;
    return this.write(() => {
      const state = s.sessionState.get(sessionId);
      assertWritable(sessionId, state, now);
      let stored = 0;
      let duplicates = 0;
      for (const event of events) {
        // The common case, a new event, costs one statement; only an id seen before is read back.
        const inserted = s.insertEvent.run(
          sessionId,
          event.event_id,
          event.object_id,
          event.event_type,
          state.sid,
          event.object_id,
          event.created_at,
          event.created_at_given ? 1 : 0,
          toJson(event.meta),
          now,
        );
        if (inserted.changes === 1) {
          stored++;
          continue;
        }
        const existing = s.eventById.get(sessionId, event.event_id);
        if (!existing) throw new Error(`event ${event.event_id} conflicted but cannot be read`);
        const { position: _position, ...previous } = toEvent(existing);
        if (!isSameEvent(previous, event)) throw eventConflict(sessionId, event.event_id);
        duplicates++;
      }
      return { stored, duplicates };
    });
  }

  markIrrelevant(sessionId: string, now: number): Promise<void> {
    const run = () => {
      const state = this.statements.sessionState.get(sessionId);
      if (state?.is_irrelevant === 1) return;
      assertWritable(sessionId, state, now);
      this.statements.markIrrelevant.run(sessionId);
    };
    return this.write(run);
  }

  findSession(sessionId: string): Promise<SessionRecord | null> {
    return settle(() => {
      const row = this.statements.sessionById.get(sessionId);
      return row ? this.withResults(row) : null;
    });
  }

  private withResults(row: SessionRow): SessionRecord {
    return toSession(row, this.statements.resultsOf.all(row.sid).map(toResult));
  }

  findEvents(sessionId: string, eventIds: readonly string[]): Promise<NewEvent[]> {
    return settle(() =>
      this.statements.eventsByIds.all(sessionId, JSON.stringify(eventIds)).map((row) => {
        const { position: _position, ...event } = toEvent(row);
        return event;
      }),
    );
  }

  getSession(sessionId: string, eventsLimit: number): Promise<SessionWithEvents | null> {
    return settle(() => {
      const row = this.statements.sessionById.get(sessionId);
      return row ? (this.withEvents([row], eventsLimit)[0] ?? null) : null;
    });
  }

  releaseBatch(releaseId: string, now: number, graceSeconds: number): Promise<BatchRecord> {
    const s = this.statements;
    const run = (): BatchRecord => {
      const previous = s.batchByRelease.get(releaseId);
      if (previous) return previous;
      const collecting = s.collecting.get();
      if (!collecting || collecting.session_count === 0) {
        throw noSessionsToRelease();
      }
      const released = s.release.get(now, now + graceSeconds, releaseId, collecting.seq);
      if (!released) throw new Error('the collecting batch vanished inside a write transaction');
      s.insertBatch.run(newBatchId(now), now);
      return released;
    };
    return this.write(run);
  }

  getBatch(batchId: string): Promise<BatchRecord | null> {
    return settle(() => this.statements.batchById.get(batchId) ?? null);
  }

  listBatches(limit: number): Promise<BatchRecord[]> {
    return settle(() => this.statements.listBatches.all(limit));
  }

  listBatchSessions(
    batchId: string,
    afterNumber: number,
    limit: number,
    eventsLimit: number | null,
  ): Promise<SessionWithEvents[]> {
    // One read transaction, so that a page is a consistent snapshot even while late events arrive.
    const read = this.db.transaction(() =>
      this.withEvents(this.statements.pageOfSessions.all(batchId, afterNumber, limit), eventsLimit),
    );
    return settle(() => read.deferred());
  }

  /** Loads results and up to `eventsLimit` events (all when null) of the given sessions, in three queries. */
  private withEvents(rows: SessionRow[], eventsLimit: number | null): SessionWithEvents[] {
    if (rows.length === 0) return [];
    const ids = JSON.stringify(rows.map((r) => r.session_id));
    const results = groupBy(this.statements.resultsOfMany.all(JSON.stringify(rows.map((r) => r.sid))), ([sid]) =>
      String(sid),
    );
    // One more than the limit tells whether the list was cut; without a limit, no numbering is needed.
    const eventRows =
      eventsLimit === null
        ? this.statements.allEventsOfMany.all(ids)
        : this.statements.eventsOfMany.all(ids, eventsLimit + 1);
    const events = groupBy(eventRows, (e) => e.session_id);
    return rows.map((row) => {
      const { created_at_given: _given, ...session } = toSession(
        row,
        (results.get(String(row.sid)) ?? []).map(toResult),
      );
      const all = events.get(row.session_id) ?? [];
      const truncated = eventsLimit !== null && all.length > eventsLimit;
      return {
        ...session,
        events: (truncated ? all.slice(0, eventsLimit) : all).map(publicEvent),
        events_truncated: truncated,
      };
    });
  }

  ping(): Promise<void> {
    return settle(() => {
      this.db.prepare('SELECT 1').get();
    });
  }

  /** The settings that decide durability, as SQLite reports them (synchronous: 1 NORMAL, 2 FULL). */
  pragmas(): { journal_mode: string; synchronous: number } {
    return {
      journal_mode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
    };
  }

  /** SQLite's own checks (`integrity_check`, `foreign_key_check`), then the store's rules. */
  checkIntegrity(): Promise<string[]> {
    return settle(() => {
      const structure = (this.db.pragma('integrity_check') as { integrity_check: string }[])
        .map((r) => r.integrity_check)
        .filter((message) => message !== 'ok');
      const keys = foreignKeyProblems(this.db);
      const rules = [...INTEGRITY_RULES, ...RESULT_RULES_BY_ARRIVAL].flatMap((sql) =>
        this.db
          .prepare<[], { problem: string }>(sql)
          .all()
          .map((r) => r.problem),
      );
      return [...structure, ...keys, ...rules];
    });
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.queue.flush();
    await this.checkpointer?.stop();
    this.db.close();
  }
}

function prepareStatements(db: Database.Database) {
  return {
    savepoint: db.prepare('SAVEPOINT clickstream_write'),
    releaseSavepoint: db.prepare('RELEASE clickstream_write'),
    rollbackToSavepoint: db.prepare('ROLLBACK TO clickstream_write'),
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
      [string, string, string | null, string | null, string | null, string | null, number, number, number],
      { sid: number; batch_id: string; session_number: number }
    >(
      `INSERT INTO sessions (session_id, batch_id, session_number, search_query, search_meta, payload_filter, sort_by,
         user_id, created_at, created_at_given, registered_at)
       SELECT ?, batch_id, session_count + 1, ?, ?, ?, ?, ?, ?, ?, ? FROM batches WHERE released_at IS NULL
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
    insertEvent: db.prepare<[string, string, string, string, number, string, number, number, string | null, number]>(
      `INSERT INTO events (session_id, event_id, object_id, event_type, position, created_at, created_at_given, meta,
         received_at)
       VALUES (?, ?, ?, ?, (SELECT position FROM search_results WHERE sid = ? AND object_id = ?), ?, ?, ?, ?)
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

type Statements = ReturnType<typeof prepareStatements>;

/** The store's rules on search results, which are keyed by their session's arrival number (sid) here. */
const RESULT_RULES_BY_ARRIVAL: readonly string[] = [
  `SELECT 'the results of session ' || s.session_id || ' are not numbered 0..n-1' AS problem
   FROM search_results r JOIN sessions s ON s.sid = r.sid
   GROUP BY r.sid HAVING min(r.position) <> 0 OR max(r.position) <> count(*) - 1 LIMIT 20`,
  `SELECT 'result ' || r.position || ' belongs to the unknown session number ' || r.sid AS problem
   FROM search_results r LEFT JOIN sessions s ON s.sid = r.sid WHERE s.sid IS NULL LIMIT 20`,
  `SELECT 'event ' || e.event_id || ' of session ' || e.session_id || ' has a position its object is not at' AS problem
   FROM events e WHERE e.position IS NOT NULL AND NOT EXISTS (
     SELECT 1 FROM sessions s JOIN search_results r ON r.sid = s.sid
     WHERE s.session_id = e.session_id AND r.position = e.position AND r.object_id = e.object_id) LIMIT 20`,
];

/** SQLite's `foreign_key_check`: one message per row whose key has no parent row. */
function foreignKeyProblems(db: Database.Database): string[] {
  return (db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[]).map(
    (r) => `row ${r.rowid} of ${r.table} points to a missing row of ${r.parent}`,
  );
}

/** How long opening a file waits for another process's migration of it. */
const MIGRATION_BUSY_TIMEOUT_MS = 30 * 60_000;

/**
 * Applies pending migrations in one IMMEDIATE transaction, so two processes starting on one file apply each
 * once. Foreign keys are off meanwhile, as SQLite's procedure for rebuilding a table requires (a table that
 * others reference is dropped and replaced), and checked before the commit: a violation rolls all back.
 */
function migrate(db: Database.Database): number[] {
  db.pragma('foreign_keys = OFF');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const run = db.transaction(() => {
    const done = new Set(
      db
        .prepare<[], { version: number }>('SELECT version FROM schema_migrations')
        .all()
        .map((r) => r.version),
    );
    const applied: number[] = [];
    for (const migration of SQLITE_MIGRATIONS) {
      if (done.has(migration.version)) continue;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        Math.floor(Date.now() / 1000),
      );
      applied.push(migration.version);
    }
    const broken = applied.length > 0 ? foreignKeyProblems(db) : [];
    if (broken.length > 0) {
      throw new Error(`migration left ${broken.length} rows whose key has no parent (first: ${broken[0] ?? ''})`);
    }
    // A batch is always collecting: created here once, then by each release.
    const now = Math.floor(Date.now() / 1000);
    db.prepare<[string, number]>(
      `INSERT INTO batches (batch_id, created_at, session_count)
       SELECT ?, ?, 0 WHERE NOT EXISTS (SELECT 1 FROM batches WHERE released_at IS NULL)`,
    ).run(newBatchId(now), now);
    return applied;
  });
  return run.immediate();
}

/**
 * Runs a step of opening the file again while it fails with SQLITE_BUSY, for up to OPEN_RETRY_MS. Where
 * waiting could deadlock, SQLite answers BUSY at once instead of calling the busy handler. Once, in a test
 * run, one of two processes opening a new file at the same moment failed to start with "database is
 * locked"; which step failed was not seen, so both are retried. The steps are idempotent.
 */
function retryBusy<T>(step: () => T): T {
  const deadline = Date.now() + OPEN_RETRY_MS;
  for (;;) {
    try {
      return step();
    } catch (error) {
      const busy = error instanceof Database.SqliteError && error.code.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() > deadline) throw error;
      Atomics.wait(PAUSE, 0, 0, 20);
    }
  }
}

const OPEN_RETRY_MS = 30_000;
/** Only ever waited on, never notified: a synchronous pause (opening is synchronous). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs synchronous database work behind the async contract: a throw becomes a rejection, as callers of
 * an async interface expect, and a lock timeout becomes `service_unavailable`.
 */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(storeFailure(error));
  }
}

/** A lock held by another process (a CLI beside the server) past the busy timeout is retryable: 503. */
function storeFailure(error: unknown): Error {
  if (error instanceof Database.SqliteError && (error.code === 'SQLITE_BUSY' || error.code === 'SQLITE_LOCKED')) {
    return new ClickstreamError('service_unavailable', 'the store is busy; retry shortly', [], { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Whether a group that failed optimistically is worth running again write by write: yes when one write
 * refused (a conflict, an unknown session), no when the store itself failed (busy, I/O).
 */
function isRetriable(error: unknown): boolean {
  return !(error instanceof Database.SqliteError);
}

/** Most writes sharing one commit; a bound on how long one transaction holds the write lock. */
const MAX_GROUP = 512;

/** The bound values of a results INSERT, five per row. */
type ResultValues = (string | number | null)[];

/** Rows per results INSERT: 50 rows bind 250 values, far below SQLite's limit of 32,766. */
const RESULTS_PER_STATEMENT = 50;
