/** The SQLite store's writes: group commit, and the registration, event, flag and release writes. */
import type Database from 'better-sqlite3';
import { newBatchId, type BatchRecord } from '../../domain/batch.js';
import { isSameEvent, type NewEvent } from '../../domain/event.js';
import type { NewSession, SessionRecord } from '../../domain/session.js';
import type { StoreObserver } from '../driver.js';
import { GroupQueue, rejectGroup, settleGroup, type GroupEntry, type Outcome } from '../group-queue.js';
import type { SpaceWatch } from '../store-failures.js';
import { assertWritable, eventConflict, noSessionsToRelease, toJson } from '../store-helpers.js';
import { isStoreFailure, storeFailure } from './errors.js';
import { sessionRecord } from './reads.js';
import { toEvent } from './rows.js';
import type { Statements } from './statements.js';

/** Most writes sharing one commit; a bound on how long one transaction holds the write lock. */
const MAX_GROUP = 512;

/** The bound values of a results INSERT, five per row. */
type ResultValues = (string | number | null)[];

/** Rows per results INSERT: 50 rows bind 250 values, far below SQLite's limit of 32,766. */
const RESULTS_PER_STATEMENT = 50;

export class SqliteWrites {
  private readonly queue = new GroupQueue<() => unknown, unknown>((group) => {
    this.runGroup(group);
  }, MAX_GROUP);
  private readonly counters = { commits: 0, writes: 0 };
  /** INSERTs of 1 ... RESULTS_PER_STATEMENT results, by row count (see insertResults). */
  private readonly resultInserts = new Map<number, Database.Statement<[ResultValues]>>();

  constructor(
    private readonly db: Database.Database,
    private readonly statements: Statements,
    private readonly space: SpaceWatch,
    private readonly observer: StoreObserver,
  ) {}

  /**
   * Group commit (see GroupQueue): the writes of one event-loop turn run in one IMMEDIATE transaction.
   * Every write settles only after the shared COMMIT, so a request is still answered only once its own
   * rows are durable; one commit per group instead of one per request lets the store keep up with HTTP.
   * Optimistically the group runs without savepoints; if a write throws for its own data, the transaction
   * is rolled back and the group runs again with a savepoint around each write, so the failing one is
   * rolled back alone and its neighbours commit. A failure of the store (errors.ts) fails the group.
   */
  private write<T>(work: () => T): Promise<T> {
    // The queue carries writes of every result type; each caller gets back what its own work returned.
    return this.queue.push(work) as Promise<T>;
  }

  private runGroup(group: readonly GroupEntry<() => unknown, unknown>[]): void {
    const started = performance.now();
    let outcomes: Outcome<unknown>[];
    try {
      outcomes = this.db
        .transaction(() => group.map((entry): Outcome<unknown> => ({ ok: true, value: entry.input() })))
        .immediate();
    } catch (error) {
      // Alone, the write's own failure is the answer (its transaction rolled back whole).
      if (group.length === 1 || isStoreFailure(error)) {
        this.fail(group, error);
        return;
      }
      try {
        outcomes = this.db.transaction(() => group.map((entry) => this.isolated(entry.input))).immediate();
      } catch (groupError) {
        // The store failed in the second run (its BEGIN, a write or its COMMIT): nothing of it is stored.
        this.fail(group, groupError);
        return;
      }
    }
    this.counters.commits++;
    this.counters.writes += group.length;
    this.space.written();
    // The group's transaction, both runs where it ran twice; before settling, so no answer waits on it.
    this.observer.groupCommitted(group.length, (performance.now() - started) / 1000);
    settleGroup(group, outcomes);
  }

  /** Every write of the group fails with the store's failure, as callers see it. */
  private fail(group: readonly GroupEntry<() => unknown, unknown>[], error: unknown): void {
    const failure = storeFailure(error);
    this.space.failed(failure);
    rejectGroup(group, failure);
  }

  /** Runs one write inside a savepoint; its own failure rolls back that write only. */
  private isolated(work: () => unknown): Outcome<unknown> {
    const s = this.statements;
    s.savepoint.run();
    try {
      const value = work();
      s.releaseSavepoint.run();
      return { ok: true, value };
    } catch (error) {
      // The store's failure is the group's; so is a write that ended the transaction (RAISE(ROLLBACK)),
      // which took its savepoint and the neighbours' work with it.
      if (isStoreFailure(error) || !this.db.inTransaction) throw error;
      s.rollbackToSavepoint.run();
      s.releaseSavepoint.run();
      return { ok: false, error };
    }
  }

  /** How many commits carried how many writes since the store was opened (group commit at work). */
  commitStats(): { commits: number; writes: number } {
    return { ...this.counters };
  }

  /** Settles every write queued so far. */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  /**
   * A write that needs space, for SpaceWatch: a row of a page's size (it spills into an overflow page of
   * its own) inserted and deleted, committed. Throws SQLITE_FULL while no page can be added.
   */
  probeSpace(): void {
    const s = this.statements;
    const pageSize = Number(this.db.pragma('page_size', { simple: true }));
    this.db
      .transaction(() => {
        s.insertProbe.run(pageSize);
        s.clearProbe.run();
      })
      .immediate();
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
        session.search_results.length,
      );
      if (!slot) {
        const existing = s.sessionById.get(session.session_id);
        if (!existing) throw new Error('no collecting batch: the store was not opened through SqliteStore.open');
        return { created: false, session: sessionRecord(s, existing) };
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
   * about a third more per registration (bench/README.md).
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
}
