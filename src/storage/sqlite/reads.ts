/** The SQLite store's reads. better-sqlite3 is synchronous: each read runs to its end before it resolves. */
import type Database from 'better-sqlite3';
import type { BatchRecord } from '../../domain/batch.js';
import type { NewEvent } from '../../domain/event.js';
import type { SessionRecord } from '../../domain/session.js';
import type { SessionWithEvents } from '../../schemas/records.js';
import { attachEvents, groupBy } from '../store-helpers.js';
import { settle } from './errors.js';
import { publicEvent, toEvent, toResult, toSession, toStoredSession, type SessionRow } from './rows.js';
import type { Statements } from './statements.js';

/** A stored session with its results, as idempotency comparison needs it. */
export function sessionRecord(statements: Statements, row: SessionRow): SessionRecord {
  return toSession(row, statements.resultsOf.all(row.sid).map(toResult));
}

export class SqliteReads {
  constructor(
    private readonly db: Database.Database,
    private readonly statements: Statements,
  ) {}

  findSession(sessionId: string): Promise<SessionRecord | null> {
    return settle(() => {
      const row = this.statements.sessionById.get(sessionId);
      return row ? sessionRecord(this.statements, row) : null;
    });
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
    const s = this.statements;
    const ids = JSON.stringify(rows.map((r) => r.session_id));
    const results = groupBy(s.resultsOfMany.all(JSON.stringify(rows.map((r) => r.sid))), ([sid]) => String(sid));
    // One more than the limit tells whether the list was cut; without a limit, no numbering is needed.
    const eventRows = eventsLimit === null ? s.allEventsOfMany.all(ids) : s.eventsOfMany.all(ids, eventsLimit + 1);
    return attachEvents(
      rows,
      eventRows,
      eventsLimit,
      (row) => toStoredSession(row, (results.get(String(row.sid)) ?? []).map(toResult)),
      publicEvent,
    );
  }
}
