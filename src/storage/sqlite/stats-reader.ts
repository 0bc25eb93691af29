/**
 * The reads of the SQLite store's batch analytics: two range scans, the batch's sessions by arrival number
 * and their events by the covering index of migration 5, read into a BatchAccumulator. Reading the rows
 * once is faster here than several SQL aggregations (each a scan and a sort of its own: about 2.4 s for
 * 200,000 sessions against 1.4 s, bench/README.md). Synchronous: run off the event loop (stats-thread.ts).
 */
import type Database from 'better-sqlite3';
import { BatchAccumulator } from '../batch-accumulator.js';
import type { BatchAggregate } from '../stats-store.js';

type SessionStatsRow = [sid: number, query: string, resultCount: number, irrelevant: number, createdAt: number];
type EventStatsRow = [sid: number, eventType: string, position: number | null, createdAt: number];

interface SqliteWatermark {
  /** The last event row when the aggregate was read: rows after it arrived later (rowids only grow). */
  readonly lastEvent: number;
  readonly irrelevant: number;
}

export class SqliteStatsReader {
  private readonly range: Database.Statement<[string, string], { lo: number | null; hi: number | null; found: number }>;
  private readonly sessions: Database.Statement<[string, number, number], SessionStatsRow>;
  private readonly events: Database.Statement<[number, number], EventStatsRow>;
  private readonly lastEvent: Database.Statement<[], { last: number | null }>;
  private readonly eventsAfter: Database.Statement<[number, number, number], { found: number }>;
  private readonly irrelevant: Database.Statement<[number, number, string], { count: number }>;

  constructor(private readonly db: Database.Database) {
    this.range = db.prepare(
      `SELECT min(s.sid) AS lo, max(s.sid) AS hi, (SELECT count(*) FROM batches WHERE batch_id = ?) AS found
       FROM sessions s WHERE s.batch_id = ?`,
    );
    // By the arrival numbers' range (the table's key), not the batch's index: no lookup per row.
    this.sessions = db
      .prepare<[string, number, number], SessionStatsRow>(
        `SELECT sid, search_query, result_count, is_irrelevant, created_at FROM sessions NOT INDEXED
         WHERE batch_id = ? AND sid BETWEEN ? AND ?`,
      )
      .raw(true);
    this.events = db
      .prepare<[number, number], EventStatsRow>(
        `SELECT sid, event_type, position, created_at FROM events INDEXED BY events_by_sid
         WHERE sid BETWEEN ? AND ? ORDER BY sid`,
      )
      .raw(true);
    this.lastEvent = db.prepare('SELECT max(rowid) AS last FROM events');
    this.eventsAfter = db.prepare(
      'SELECT EXISTS (SELECT 1 FROM events WHERE rowid > ? AND sid BETWEEN ? AND ?) AS found',
    );
    this.irrelevant = db.prepare(
      `SELECT count(*) AS count FROM sessions NOT INDEXED WHERE sid BETWEEN ? AND ? AND batch_id = ?
       AND is_irrelevant = 1`,
    );
  }

  /** See StatsStore.aggregateBatch. */
  aggregate(batchId: string): BatchAggregate | null {
    // One read transaction: a writer on another connection cannot slip rows in between the reads.
    return this.db.transaction((): BatchAggregate | null => {
      const range = this.range.get(batchId, batchId);
      if (!range || range.found === 0) return null;
      const lo = range.lo ?? 0;
      const hi = range.hi ?? -1;
      const lastEvent = this.lastEvent.get()?.last ?? 0;
      const accumulator = new BatchAccumulator(Math.max(0, hi - lo + 1));
      for (const [sid, query, resultCount, irrelevant, createdAt] of this.sessions.iterate(batchId, lo, hi)) {
        accumulator.session(sid - lo, query, resultCount, irrelevant === 1, createdAt);
      }
      for (const [sid, eventType, position, createdAt] of this.events.iterate(lo, hi)) {
        accumulator.event(sid - lo, eventType, position, createdAt);
      }
      const aggregate = accumulator.result();
      const watermark: SqliteWatermark = { lastEvent, irrelevant: aggregate.irrelevant };
      return { ...aggregate, watermark: JSON.stringify(watermark) };
    })();
  }

  /** See StatsStore.changedSince. */
  changedSince(batchId: string, watermark: string): boolean {
    const seen = JSON.parse(watermark) as SqliteWatermark;
    const range = this.range.get(batchId, batchId);
    const lo = range?.lo ?? 0;
    const hi = range?.hi ?? -1;
    if (this.eventsAfter.get(seen.lastEvent, lo, hi)?.found === 1) return true;
    return (this.irrelevant.get(lo, hi, batchId)?.count ?? 0) !== seen.irrelevant;
  }
}
