/** The PostgreSQL store's reads; a read of several statements runs in one snapshot. */
import type pg from 'pg';
import type { BatchRecord } from '../../domain/batch.js';
import type { NewEvent } from '../../domain/event.js';
import type { SessionRecord } from '../../domain/session.js';
import type { SessionWithEvents } from '../../schemas/records.js';
import { attachEvents, EVENT_COLUMNS } from '../store-helpers.js';
import type { PgConnection } from './connection.js';
import {
  BATCH_COLUMNS,
  publicEvent,
  SESSION_ROW,
  toEvent,
  toStoredSession,
  type EventRow,
  type SessionRow,
} from './rows.js';

/** Stored sessions with their results, by id. */
export async function loadSessions(
  client: pg.ClientBase,
  sessionIds: readonly string[],
): Promise<Map<string, SessionRecord>> {
  if (sessionIds.length === 0) return new Map();
  const { rows } = await client.query<SessionRow>(
    `SELECT ${SESSION_ROW} FROM sessions WHERE session_id = ANY($1::text[])`,
    [sessionIds],
  );
  return new Map(rows.map((row) => [row.session_id, row]));
}

/** Stored events by (session_id, event_id). */
export async function selectEventsByKey(
  client: pg.ClientBase,
  keys: readonly (readonly [string, string])[],
): Promise<{ session_id: string; event_id: string; event: NewEvent }[]> {
  if (keys.length === 0) return [];
  const { rows } = await client.query<EventRow>(
    `SELECT ${EVENT_COLUMNS.split(', ')
      .map((c) => `e.${c}`)
      .join(', ')}
     FROM events e JOIN unnest($1::text[], $2::text[]) AS k(session_id, event_id)
       ON e.session_id = k.session_id AND e.event_id = k.event_id`,
    [keys.map(([sessionId]) => sessionId), keys.map(([, eventId]) => eventId)],
  );
  return rows.map((row) => {
    const { position: _position, ...event } = toEvent(row);
    return { session_id: row.session_id, event_id: row.event_id, event };
  });
}

export class PostgresReads {
  constructor(private readonly db: PgConnection) {}

  findSession(sessionId: string): Promise<SessionRecord | null> {
    return this.db.withClient(async (client) => (await loadSessions(client, [sessionId])).get(sessionId) ?? null);
  }

  findEvents(sessionId: string, eventIds: readonly string[]): Promise<NewEvent[]> {
    return this.db.withClient(async (client) =>
      (
        await selectEventsByKey(
          client,
          eventIds.map((eventId) => [sessionId, eventId] as const),
        )
      ).map((e) => e.event),
    );
  }

  getSession(sessionId: string, eventsLimit: number): Promise<SessionWithEvents | null> {
    return this.db.snapshot(async (client) => {
      const { rows } = await client.query<SessionRow>(`SELECT ${SESSION_ROW} FROM sessions WHERE session_id = $1`, [
        sessionId,
      ]);
      return (await withEvents(client, rows, eventsLimit))[0] ?? null;
    });
  }

  /** The batch released under `releaseId`, or null. */
  async releasedAs(releaseId: string): Promise<BatchRecord | null> {
    const rows = await this.db.query<BatchRecord>(`SELECT ${BATCH_COLUMNS} FROM batches WHERE release_id = $1`, [
      releaseId,
    ]);
    return (await this.withCounts(rows))[0] ?? null;
  }

  async getBatch(batchId: string): Promise<BatchRecord | null> {
    const rows = await this.db.query<BatchRecord>(`SELECT ${BATCH_COLUMNS} FROM batches WHERE batch_id = $1`, [
      batchId,
    ]);
    return (await this.withCounts(rows))[0] ?? null;
  }

  async listBatches(limit: number): Promise<BatchRecord[]> {
    return this.withCounts(
      await this.db.query<BatchRecord>(`SELECT ${BATCH_COLUMNS} FROM batches ORDER BY seq DESC LIMIT $1`, [limit]),
    );
  }

  /**
   * Fills in `session_count` where it is not stored yet: counted live while a batch collects; for a
   * released batch (closed, so the count is final) counted once and stored. Counting happens outside any
   * lock and in a statement of its own on `sessions` (Citus routes it to the shards).
   */
  private async withCounts(batches: (Omit<BatchRecord, 'session_count'> & { session_count: number | null })[]) {
    return Promise.all(
      batches.map(async (batch): Promise<BatchRecord> => {
        if (batch.session_count !== null) return { ...batch, session_count: batch.session_count };
        const [counted] = await this.db.query<{ n: number }>('SELECT count(*) AS n FROM sessions WHERE batch_id = $1', [
          batch.batch_id,
        ]);
        const count = counted?.n ?? 0;
        if (batch.released_at !== null) {
          await this.db.query('UPDATE batches SET session_count = $1 WHERE batch_id = $2 AND session_count IS NULL', [
            count,
            batch.batch_id,
          ]);
        }
        return { ...batch, session_count: count };
      }),
    );
  }

  listBatchSessions(
    batchId: string,
    afterNumber: number,
    limit: number,
    eventsLimit: number | null,
  ): Promise<SessionWithEvents[]> {
    // One snapshot for the page, so that it is consistent even while late events arrive.
    return this.db.snapshot(async (client) => {
      const { rows } = await client.query<SessionRow>(
        `SELECT ${SESSION_ROW} FROM sessions WHERE batch_id = $1 AND session_number > $2
         ORDER BY session_number LIMIT $3`,
        [batchId, afterNumber, limit],
      );
      return withEvents(client, rows, eventsLimit);
    });
  }
}

/** Adds up to `eventsLimit` events (all when null) to the given sessions. */
async function withEvents(
  client: pg.ClientBase,
  rows: SessionRow[],
  eventsLimit: number | null,
): Promise<SessionWithEvents[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.session_id);
  const { rows: events } =
    eventsLimit === null
      ? await client.query<EventRow>(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE session_id = ANY($1::text[])
           ORDER BY session_id, created_at, arrival`,
          [ids],
        )
      : // One more than the limit tells whether the list was cut.
        await client.query<EventRow>(
          `SELECT ${EVENT_COLUMNS} FROM (
             SELECT ${EVENT_COLUMNS},
               row_number() OVER (PARTITION BY session_id ORDER BY created_at, arrival) AS rn
             FROM events WHERE session_id = ANY($1::text[])
           ) e WHERE rn <= $2 ORDER BY session_id, rn`,
          [ids, eventsLimit + 1],
        );
  return attachEvents(rows, events, eventsLimit, toStoredSession, publicEvent);
}
