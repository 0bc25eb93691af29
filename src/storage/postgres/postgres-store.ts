import pg from 'pg';
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
import { POSTGRES_MIGRATIONS } from './migrations.js';

export interface PostgresOptions {
  /** Connections of this process; several processes (API replicas) may share one database. */
  readonly maxConnections?: number;
  /** How long a request waits for a connection before it is answered 503. */
  readonly connectionTimeoutMs?: number;
  /** Longest statement, and longest idle time inside a transaction, before the database ends it. */
  readonly statementTimeoutMs?: number;
  /** Where lost connections are reported (they also fail the request that used them, as 503). */
  readonly logger?: StoreLogger;
}

// Advisory lock classes (first key); the second key is a hash of the schema, so that stores in different
// schemas of one database do not contend.
const RELEASE_LOCK = 0x636c6b31;
/** Held while migrating; exported for the test that holds it as another process would. */
export const MIGRATION_LOCK = 0x636c6b32;
/** The longest a migration step may take: setTimeout's maximum, about 24.8 days. */
const MIGRATION_TIMEOUT_MS = 2 ** 31 - 1;

// bigint (int8) columns hold seconds and counters, far below 2^53: read them as numbers, not strings.
// (Process-wide, and meant to be: this process's only PostgreSQL client is this store.)
pg.types.setTypeParser(pg.types.builtins.INT8, Number);

// PostgreSQL error classes that mean "the database is not there right now": retry later.
// Also retryable: a deadlock or serialization failure (40P01, 40001), a lock or statement timeout (55P03,
// 57014), a read-only standby after a failover (25006).
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0|40P01|40001|55P03|57014|25006)/;
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE_CODES.has(code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended/i.test(
    error.message,
  );
}

function unavailable(error: unknown): ClickstreamError {
  return new ClickstreamError('service_unavailable', 'the database is not reachable; retry shortly', [], {
    cause: error,
  });
}

interface SessionRow {
  session_id: string;
  batch_id: string;
  session_number: number;
  search_query: SessionRecord['search_query'];
  search_meta: Record<string, unknown> | null;
  payload_filter: Record<string, unknown> | null;
  sort_by: Record<string, unknown> | null;
  user_id: string | null;
  created_at: number;
  created_at_given: boolean;
  is_irrelevant: boolean;
  search_results: StoredSearchResult[];
}

/**
 * A session's columns in the order of the read schema (StoredSession), so that an export's JSON Lines are
 * the same bytes as SQLite's; its results are one JSON value (migration 4).
 */
const SESSION_ROW = `session_id, batch_id, session_number, search_query, results AS search_results, search_meta,
  payload_filter, sort_by, user_id, created_at, created_at_given, is_irrelevant`;

interface EventRow {
  session_id: string;
  event_id: string;
  object_id: string;
  event_type: string;
  position: number | null;
  created_at: number;
  created_at_given: boolean;
  meta: Record<string, unknown> | null;
}

// session_count is NULL while a batch collects (and between a release's commit and its count).
const BATCH_COLUMNS = 'batch_id, release_id, created_at, released_at, sealed_at, session_count';

function toEvent(row: EventRow): NewEvent & { position: number | null } {
  const { session_id: _session, ...event } = row;
  return event;
}

/**
 * PostgreSQL store for several API replicas on one database (and, by its layout, for Citus).
 *
 * Batch boundary: a registration holds a shared advisory lock from before it reads the collecting batch
 * until it commits; a release takes the same lock exclusively. The release therefore waits for every
 * registration in flight to commit into the old batch, and every registration that starts after it sees
 * the new batch. That gives "no session registered after a release returned is in the released batch"
 * without a shared counter row on the ingest path. Under the lock a release does O(1) work whatever the
 * batch size (sessions are never re-stamped); the batch's session count is taken after the commit. Session ids from a sequence are not used as the boundary: they are
 * allocated at insert but visible at commit, so a cut at "the highest id I see" could skip a slower
 * transaction forever.
 */
export class PostgresStore implements ClickstreamStore {
  readonly capabilities: StoreCapabilities = { backend: 'postgres' };

  private readonly registrations = new GroupQueue<Registration, Registered>(
    (group) => this.registerGroup(group),
    MAX_GROUP,
  );
  private readonly eventWrites = new GroupQueue<EventWrite, EventsAdded>(
    (group) => this.addEventsGroup(group),
    MAX_GROUP,
  );

  private constructor(
    private readonly pool: pg.Pool,
    private readonly lockKey: number,
  ) {}

  /**
   * Connects, applies pending migrations (once, also when replicas start together) and makes sure a batch
   * is collecting. Returns the store and the migration versions this call applied.
   */
  static async open(url: string, options: PostgresOptions = {}): Promise<{ store: PostgresStore; applied: number[] }> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 3000,
      // A dead peer is noticed by TCP keepalive, a stuck statement by the client's own timeout; both end
      // as 503. The server ends transactions left idle (a stalled replica must not hold the batch lock)
      // and prints floats exactly (a retried rank must compare equal).
      keepAlive: true,
      query_timeout: options.statementTimeoutMs ?? 15_000,
      options: [
        `-c statement_timeout=${options.statementTimeoutMs ?? 15_000}`,
        `-c idle_in_transaction_session_timeout=${options.statementTimeoutMs ?? 15_000}`,
        '-c extra_float_digits=3',
      ].join(' '),
    });
    const logger = options.logger ?? SILENT_STORE_LOGGER;
    // A connection the server closes while idle (restart, pg_terminate_backend) must not crash the
    // process; the pool replaces it on the next request.
    pool.on('error', (error) => {
      logger.warn({ err: error }, 'an idle PostgreSQL connection was lost; the pool replaces it');
    });
    // pg-pool removes its listener while a connection is lent out; a reset socket would then emit an
    // unhandled 'error' and end the process. The failing query rejects on its own (503), and is logged here.
    pool.on('connect', (client) => {
      client.on('error', (error) => {
        logger.warn({ err: error }, 'a PostgreSQL connection in use was lost; its request is answered 503');
      });
    });
    try {
      const { rows } = await pool.query<{ key: number }>('SELECT hashtext(current_schema())::int AS key');
      const lockKey = rows[0]?.key ?? 0;
      const store = new PostgresStore(pool, lockKey);
      const applied = await store.migrate();
      return { store, applied };
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  /**
   * Applies pending migrations under an advisory lock, in one transaction. Neither the migrations nor the
   * wait for another process's migration are bound by the statement timeout: migration 4 rewrote a
   * million sessions in longer than that, and a replica starting meanwhile must wait, not fail.
   */
  private async migrate(): Promise<number[]> {
    return this.transaction(async (client) => {
      await client.query('SET LOCAL statement_timeout = 0');
      // node-postgres's own timeout cannot be turned off per query (0 means its default): the longest it takes.
      // (It reads `query_timeout` from a query's config; its type declarations leave it out.)
      const unbounded = (text: string, values: unknown[] = []) => {
        const config: pg.QueryConfig & { query_timeout: number } = {
          text,
          values,
          query_timeout: MIGRATION_TIMEOUT_MS,
        };
        return client.query(config);
      };
      await unbounded('SELECT pg_advisory_xact_lock($1, $2)', [MIGRATION_LOCK, this.lockKey]);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
      const done = new Set(
        (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
      );
      const applied: number[] = [];
      for (const migration of POSTGRES_MIGRATIONS) {
        if (done.has(migration.version)) continue;
        await unbounded(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          Math.floor(Date.now() / 1000),
        ]);
        applied.push(migration.version);
      }
      const now = Math.floor(Date.now() / 1000);
      await client.query(
        `INSERT INTO batches (batch_id, created_at, number_base)
         SELECT $1, $2, ${NUMBER_BASE} WHERE NOT EXISTS (SELECT 1 FROM batches WHERE released_at IS NULL)`,
        [newBatchId(now), now],
      );
      return applied;
    });
  }

  /** Runs `work` in one transaction; connection failures become `service_unavailable`. */
  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.withClient(async (client) => {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    }, true);
  }

  /**
   * Runs `work` on a pooled connection. Any failure to get a connection, and any connection lost on the
   * way, becomes `service_unavailable`; a lost connection is discarded, never reused.
   */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>, inTransaction = false): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw unavailable(error);
    }
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (error) {
      if (isUnavailable(error)) {
        // The connection is gone: the server rolled the transaction back (or the commit's outcome is
        // unknown, which an idempotent retry resolves). Never reuse this connection.
        broken = error instanceof Error ? error : new Error(String(error));
        throw unavailable(error);
      }
      if (inTransaction) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** One statement outside a transaction; connection failures become `service_unavailable`. */
  private query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return this.withClient(async (client) => (await client.query<R>(text, values)).rows);
  }

  registerSession(session: NewSession, now: number): Promise<Registered> {
    return this.registrations.push({ session, now });
  }

  /**
   * Registers a group of sessions in one transaction: one multi-row insert of the sessions, each with its
   * results as one JSON value. An id taken before (or twice in the group) answers with the stored session.
   */
  private async registerGroup(group: readonly GroupEntry<Registration, Registered>[]): Promise<void> {
    let answers: Registered[];
    try {
      // The shared release lock, held until commit: a release waits for this group, or this group sees the
      // release's new batch. Taken in the same round trip as BEGIN (both keys are this store's integers).
      const begin = `BEGIN; SELECT pg_advisory_xact_lock_shared(${RELEASE_LOCK}, ${this.lockKey})`;
      answers = await this.transaction(async (client) => {
        const firsts = new Map<string, Registration>();
        for (const { input } of group)
          if (!firsts.has(input.session.session_id)) firsts.set(input.session.session_id, input);
        // In key order, so that two groups registering some of the same ids cannot deadlock.
        const unique = [...firsts.values()].sort((a, b) => (a.session.session_id < b.session.session_id ? -1 : 1));
        // Named: the hot statements are parsed and planned once per connection (node-postgres prepares a
        // named statement on its first use); re-planning them for every group cost about a third of the
        // server's CPU time per request (bench/NOTES.md).
        const inserted = await client.query<{ session_id: string; batch_id: string; session_number: number }>({
          name: 'sessions-insert',
          text: `WITH u AS (
             SELECT * FROM ROWS FROM (json_to_recordset($1::json) AS (session_id text, search_query text,
               search_meta text, payload_filter text, sort_by text, user_id text, created_at bigint,
               created_at_given boolean, registered_at bigint, search_results text, result_ids text[]))
               WITH ORDINALITY
               AS u(session_id, search_query, search_meta, payload_filter, sort_by, user_id, created_at, created_at_given,
                 registered_at, results, result_ids, n)
           ), s AS (
             INSERT INTO sessions (session_id, batch_id, session_number, search_query, search_meta, payload_filter,
               sort_by, user_id, created_at, created_at_given, registered_at, results, result_ids)
             SELECT u.session_id, b.batch_id, nextval('session_numbers') - b.number_base, u.search_query::json,
               u.search_meta::json, u.payload_filter::json, u.sort_by::json, u.user_id, u.created_at,
               u.created_at_given, u.registered_at, u.results::json, u.result_ids
             FROM u CROSS JOIN batches b WHERE b.released_at IS NULL
             ORDER BY u.n
             ON CONFLICT (session_id) DO NOTHING
             RETURNING session_id, batch_id, session_number
           )
           SELECT session_id, batch_id, session_number FROM s`,
          // The sessions as one JSON parameter, read by json_to_recordset (a JSON null becomes SQL NULL): one
          // JSON.stringify instead of ten array parameters escaped value by value, which was 6 % of the event
          // loop's time. JSON values go in as JSON text inside it, cast to json in SQL: unpacked as JSON
          // themselves, a \u0000 or a lone surrogate in them would fail the group. The results go in as the
          // domain normalised them, {object_id, position, rank, meta}: as reads return them.
          values: [
            JSON.stringify(
              unique.map(({ session, now }) => ({
                session_id: session.session_id,
                search_query: JSON.stringify(session.search_query),
                search_meta: toJson(session.search_meta),
                payload_filter: toJson(session.payload_filter),
                sort_by: toJson(session.sort_by),
                user_id: session.user_id,
                created_at: session.created_at,
                created_at_given: session.created_at_given,
                registered_at: now,
                search_results: JSON.stringify(session.search_results),
                // Ids are safe to unpack: the domain refuses control characters and lone surrogates in them.
                result_ids: session.search_results.map((r) => r.object_id),
              })),
            ),
          ],
        });
        const slots = new Map(inserted.rows.map((row) => [row.session_id, row]));
        const taken = group.filter(
          ({ input }) => !(slots.has(input.session.session_id) && firsts.get(input.session.session_id) === input),
        );
        const stored = await this.loadSessions(client, [
          ...new Set(taken.map(({ input }) => input.session.session_id)),
        ]);
        return group.map(({ input }): Registered => {
          const slot = slots.get(input.session.session_id);
          if (slot && firsts.get(input.session.session_id) === input) {
            const session = {
              ...input.session,
              batch_id: slot.batch_id,
              session_number: slot.session_number,
              is_irrelevant: false,
            };
            return { created: true, session };
          }
          const existing = stored.get(input.session.session_id);
          if (!existing) throw new Error(`session ${input.session.session_id} conflicted but cannot be read`);
          return { created: false, session: existing };
        });
      }, begin);
    } catch (error) {
      for (const entry of group) entry.reject(error);
      return;
    }
    group.forEach((entry, index) => {
      const answer = answers[index];
      if (answer) entry.resolve(answer);
      else entry.reject(new Error('registration answer missing'));
    });
  }

  /** Stored sessions with their results, by id. */
  private async loadSessions(
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

  addEvents(sessionId: string, events: readonly NewEvent[], now: number): Promise<EventsAdded> {
    return this.eventWrites.push({ sessionId, events, now });
  }

  /**
   * Adds the events of a group of requests in two statements: one reads their sessions' states and the
   * events stored under their ids, one inserts every new event. Each request succeeds or fails alone. The
   * insert is a single statement, so it commits whole or not at all: if another process stored one of the
   * same events meanwhile, it fails on the key, nothing of the group is stored, and each request runs again
   * on its own, in a transaction. Two round trips instead of a transaction's five: on a busy server each
   * one waits for the event loop, and five of them were most of a group's time (bench/NOTES.md).
   */
  private async addEventsGroup(group: readonly GroupEntry<EventWrite, EventsAdded>[]): Promise<void> {
    let outcomes: EventOutcome[];
    try {
      outcomes = await this.withClient((client) =>
        this.addEventsTogether(
          client,
          group.map((e) => e.input),
          'group',
        ),
      );
    } catch (error) {
      if (!(error instanceof ConcurrentInsert)) {
        for (const entry of group) entry.reject(error);
        return;
      }
      // One after another: a group holds up to MAX_GROUP requests, and run at once they would queue for the
      // pool's few connections long enough to time out (503) while doing nothing wrong.
      for (const entry of group) {
        try {
          const [outcome] = await this.transaction((client) => this.addEventsTogether(client, [entry.input], 'alone'));
          if (!outcome) throw new Error('events outcome missing');
          if (outcome.ok) entry.resolve(outcome.value);
          else entry.reject(outcome.error);
        } catch (singleError) {
          entry.reject(singleError);
        }
      }
      return;
    }
    group.forEach((entry, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) entry.resolve(outcome.value);
      else entry.reject(outcome ? outcome.error : new Error('events outcome missing'));
    });
  }

  private async addEventsTogether(
    client: pg.ClientBase,
    writes: readonly EventWrite[],
    mode: 'group' | 'alone',
  ): Promise<EventOutcome[]> {
    const sessionIds = [...new Set(writes.map((w) => w.sessionId))];
    const keys = writes.flatMap((w) => w.events.map((e) => [w.sessionId, e.event_id] as const));
    // One statement (one snapshot) for each session's state, its results' object ids (in position order)
    // and the events already stored under the ids these requests use.
    const states = await client.query<{
      session_id: string;
      sealed_at: number | null;
      result_ids: string[];
      known: NewEvent[] | null;
    }>({
      // Named, like the registration insert: parsed and planned once per connection.
      name: 'events-states',
      text: `SELECT s.session_id, b.sealed_at, s.result_ids,
         (SELECT json_agg(json_build_object('event_id', e.event_id, 'object_id', e.object_id, 'event_type',
             e.event_type, 'created_at', e.created_at, 'created_at_given', e.created_at_given, 'meta', e.meta))
           FROM unnest($2::text[], $3::text[]) AS k(session_id, event_id)
           JOIN events e ON e.session_id = k.session_id AND e.event_id = k.event_id
           WHERE k.session_id = s.session_id) AS known
       FROM sessions s JOIN batches b ON b.batch_id = s.batch_id WHERE s.session_id = ANY($1::text[])`,
      values: [sessionIds, keys.map(([sessionId]) => sessionId), keys.map(([, eventId]) => eventId)],
    });
    const stateOf = new Map(states.rows.map((row) => [row.session_id, row]));
    const positionsOf = new Map(
      states.rows.map((row) => [
        row.session_id,
        new Map(row.result_ids.map((objectId, position) => [objectId, position])),
      ]),
    );
    const known = new Map<string, NewEvent>();
    for (const row of states.rows) {
      for (const event of row.known ?? []) known.set(eventKey(row.session_id, event.event_id), event);
    }

    // Decide each request in order; a later request sees the events of earlier ones as stored.
    const rows: { sessionId: string; event: NewEvent; position: number | null; now: number }[] = [];
    const outcomes = writes.map((write): EventOutcome => {
      try {
        const state = stateOf.get(write.sessionId);
        assertWritable(write.sessionId, state, write.now);
        const positions = positionsOf.get(write.sessionId);
        const fresh: NewEvent[] = [];
        let duplicates = 0;
        for (const event of write.events) {
          const previous = known.get(eventKey(write.sessionId, event.event_id));
          if (!previous) fresh.push(event);
          else if (isSameEvent(previous, event)) duplicates++;
          else throw eventConflict(write.sessionId, event.event_id);
        }
        for (const event of fresh) {
          known.set(eventKey(write.sessionId, event.event_id), event);
          const position = positions?.get(event.object_id) ?? null;
          rows.push({ sessionId: write.sessionId, event, position, now: write.now });
        }
        return { ok: true, value: { stored: fresh.length, duplicates } };
      } catch (error) {
        return { ok: false, error };
      }
    });
    if (rows.length === 0) return outcomes;

    // A group's insert fails whole on a key another process stored meanwhile (the caller then runs each
    // request alone); a request alone skips such keys and compares them below, in its transaction.
    const onConflict =
      mode === 'group' ? '' : 'ON CONFLICT (session_id, event_id) DO NOTHING RETURNING session_id, event_id';
    const inserted = await client
      .query<{ session_id: string; event_id: string }>({
        name: `events-insert-${mode}`,
        // Arrival numbers follow the requests' order; rows are inserted in key order, so that two requests
        // with overlapping events lock them in the same order and cannot deadlock.
        text: `INSERT INTO events (session_id, event_id, arrival, object_id, event_type, position, created_at,
         created_at_given, meta, received_at)
       SELECT a.session_id, a.event_id, a.arrival, a.object_id, a.event_type, a.position, a.created_at,
         a.created_at_given, a.meta::json, a.received_at
       FROM (
         SELECT u.*, nextval('events_arrival_seq') AS arrival
         FROM ROWS FROM (json_to_recordset($1::json) AS (session_id text, event_id text, object_id text,
           event_type text, position int, created_at bigint, created_at_given boolean, meta text,
           received_at bigint)) WITH ORDINALITY
           AS u(session_id, event_id, object_id, event_type, position, created_at, created_at_given, meta,
             received_at, n)
         ORDER BY u.n
       ) a
       ORDER BY a.session_id, a.event_id
       ${onConflict}`,
        // One JSON parameter, meta as JSON text inside it, as for registrations.
        values: [
          JSON.stringify(
            rows.map((r) => ({
              session_id: r.sessionId,
              event_id: r.event.event_id,
              object_id: r.event.object_id,
              event_type: r.event.event_type,
              position: r.position,
              created_at: r.event.created_at,
              created_at_given: r.event.created_at_given,
              meta: toJson(r.event.meta),
              received_at: r.now,
            })),
          ),
        ],
      })
      .catch((error: unknown) => {
        throw mode === 'group' && isUniqueViolation(error) ? new ConcurrentInsert() : error;
      });
    if (mode === 'group' || inserted.rows.length === rows.length) return outcomes;

    // Another process stored some of these events between our read and our insert.
    const done = new Set(inserted.rows.map((r) => eventKey(r.session_id, r.event_id)));
    const raced = rows.filter((r) => !done.has(eventKey(r.sessionId, r.event.event_id)));
    const [write] = writes;
    const [outcome] = outcomes;
    if (!write || !outcome?.ok) return outcomes;
    const now = new Map(
      (
        await this.selectEventsByKey(
          client,
          raced.map((r) => [r.sessionId, r.event.event_id] as const),
        )
      ).map((e) => [eventKey(e.session_id, e.event_id), e.event]),
    );
    for (const row of raced) {
      const previous = now.get(eventKey(row.sessionId, row.event.event_id));
      // A different event under the same id: the request fails whole (the transaction rolls back).
      if (!previous || !isSameEvent(previous, row.event)) throw eventConflict(row.sessionId, row.event.event_id);
    }
    return [
      {
        ok: true,
        value: { stored: outcome.value.stored - raced.length, duplicates: outcome.value.duplicates + raced.length },
      },
    ];
  }

  /** Stored events by (session_id, event_id). */
  private async selectEventsByKey(
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

  markIrrelevant(sessionId: string, now: number): Promise<void> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ sealed_at: number | null; is_irrelevant: boolean }>(
        `SELECT b.sealed_at, s.is_irrelevant FROM sessions s JOIN batches b ON b.batch_id = s.batch_id
         WHERE s.session_id = $1 FOR NO KEY UPDATE OF s`,
        [sessionId],
      );
      const row = rows[0];
      if (row?.is_irrelevant) return;
      assertWritable(sessionId, row, now);
      await client.query('UPDATE sessions SET is_irrelevant = true WHERE session_id = $1', [sessionId]);
    });
  }

  findSession(sessionId: string): Promise<SessionRecord | null> {
    return this.withClient(async (client) => (await this.loadSessions(client, [sessionId])).get(sessionId) ?? null);
  }

  findEvents(sessionId: string, eventIds: readonly string[]): Promise<NewEvent[]> {
    return this.withClient(async (client) =>
      (
        await this.selectEventsByKey(
          client,
          eventIds.map((eventId) => [sessionId, eventId] as const),
        )
      ).map((e) => e.event),
    );
  }

  getSession(sessionId: string, eventsLimit: number): Promise<SessionWithEvents | null> {
    return this.snapshot(async (client) => {
      const { rows } = await client.query<SessionRow>(`SELECT ${SESSION_ROW} FROM sessions WHERE session_id = $1`, [
        sessionId,
      ]);
      return (await this.withEvents(client, rows, eventsLimit))[0] ?? null;
    });
  }

  async releaseBatch(releaseId: string, now: number, graceSeconds: number): Promise<BatchRecord> {
    // A retry is answered without the lock, so that retries never pause ingestion.
    const previous = await this.releasedAs(releaseId);
    if (previous) return previous;
    const batchId = await this.transaction(async (client): Promise<string> => {
      // Exclusive: waits for registrations in flight; registrations that start later wait for this commit.
      // Nothing under this lock depends on the batch's size, so ingestion pauses for milliseconds only.
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [RELEASE_LOCK, this.lockKey]);
      const raced = await client.query<{ batch_id: string }>('SELECT batch_id FROM batches WHERE release_id = $1', [
        releaseId,
      ]);
      if (raced.rows[0]) return raced.rows[0].batch_id;
      const collecting = await client.query<{ batch_id: string }>(
        'SELECT batch_id FROM batches WHERE released_at IS NULL',
      );
      const current = collecting.rows[0]?.batch_id;
      if (current === undefined)
        throw new Error('no collecting batch: the store was not opened through PostgresStore.open');
      const any = await client.query('SELECT 1 FROM sessions WHERE batch_id = $1 LIMIT 1', [current]);
      if (any.rows.length === 0) throw noSessionsToRelease();
      await client.query('UPDATE batches SET released_at = $1, sealed_at = $2, release_id = $3 WHERE batch_id = $4', [
        now,
        now + graceSeconds,
        releaseId,
        current,
      ]);
      await client.query(`INSERT INTO batches (batch_id, created_at, number_base) VALUES ($1, $2, ${NUMBER_BASE})`, [
        newBatchId(now),
        now,
      ]);
      return current;
    });
    const batch = await this.getBatch(batchId);
    if (!batch) throw new Error(`released batch ${batchId} cannot be read`);
    return batch;
  }

  /** The batch released under `releaseId`, or null. */
  private async releasedAs(releaseId: string): Promise<BatchRecord | null> {
    const rows = await this.query<BatchRecord>(`SELECT ${BATCH_COLUMNS} FROM batches WHERE release_id = $1`, [
      releaseId,
    ]);
    return (await this.withCounts(rows))[0] ?? null;
  }

  async getBatch(batchId: string): Promise<BatchRecord | null> {
    const rows = await this.query<BatchRecord>(`SELECT ${BATCH_COLUMNS} FROM batches WHERE batch_id = $1`, [batchId]);
    return (await this.withCounts(rows))[0] ?? null;
  }

  async listBatches(limit: number): Promise<BatchRecord[]> {
    return this.withCounts(
      await this.query<BatchRecord>(`SELECT ${BATCH_COLUMNS} FROM batches ORDER BY seq DESC LIMIT $1`, [limit]),
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
        const [counted] = await this.query<{ n: number }>('SELECT count(*) AS n FROM sessions WHERE batch_id = $1', [
          batch.batch_id,
        ]);
        const count = counted?.n ?? 0;
        if (batch.released_at !== null) {
          await this.query('UPDATE batches SET session_count = $1 WHERE batch_id = $2 AND session_count IS NULL', [
            count,
            batch.batch_id,
          ]);
        }
        return { ...batch, session_count: count };
      }),
    );
  }

  async listBatchSessions(
    batchId: string,
    afterNumber: number,
    limit: number,
    eventsLimit: number | null,
  ): Promise<SessionWithEvents[]> {
    // One snapshot for the page, so that it is consistent even while late events arrive.
    return this.snapshot(async (client) => {
      const { rows } = await client.query<SessionRow>(
        `SELECT ${SESSION_ROW} FROM sessions WHERE batch_id = $1 AND session_number > $2
         ORDER BY session_number LIMIT $3`,
        [batchId, afterNumber, limit],
      );
      return this.withEvents(client, rows, eventsLimit);
    });
  }

  /** The store's rules, read in one snapshot. PostgreSQL keeps its own structures consistent (WAL). */
  checkIntegrity(): Promise<string[]> {
    return this.snapshot(async (client) => {
      const problems: string[] = [];
      for (const sql of INTEGRITY_RULES) {
        problems.push(...(await client.query<{ problem: string }>(sql)).rows.map((r) => r.problem));
      }
      return [...problems, ...(await resultProblems(client))];
    });
  }

  /** Runs reads in one REPEATABLE READ, read-only transaction: one snapshot for all of them. */
  private snapshot<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.transaction(work, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  /** Adds up to `eventsLimit` events (all when null) to the given sessions. */
  private async withEvents(
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
    const eventsBySession = groupBy(events, (e) => e.session_id);
    return rows.map((row) => {
      const { created_at_given: _given, ...session } = row;
      const all = eventsBySession.get(row.session_id) ?? [];
      const truncated = eventsLimit !== null && all.length > eventsLimit;
      return {
        ...session,
        events: (truncated ? all.slice(0, eventsLimit) : all).map(publicEvent),
        events_truncated: truncated,
      };
    });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.pool.ending) return;
    await Promise.all([this.registrations.flush(), this.eventWrites.flush()]);
    await this.pool.end();
  }
}

/** Most requests sharing one transaction. */
const MAX_GROUP = 256;

interface Registration {
  readonly session: NewSession;
  readonly now: number;
}
type Registered = { created: boolean; session: SessionRecord };

interface EventWrite {
  readonly sessionId: string;
  readonly events: readonly NewEvent[];
  readonly now: number;
}
type EventsAdded = { stored: number; duplicates: number };
type EventOutcome = { ok: true; value: EventsAdded } | { ok: false; error: unknown };

/** A group's insert met a key another process stored meanwhile: its requests run again one by one. */
class ConcurrentInsert extends Error {}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === '23505';
}

function eventKey(sessionId: string, eventId: string): string {
  return `${sessionId}\u0000${eventId}`;
}

// The first session_number of a new batch is 1: the sequence's last value, taken while no registration
// is in flight (under the exclusive release lock, or at migration).
const NUMBER_BASE = '(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM session_numbers)';

/** Sessions read at a time by `resultProblems`. */
const CHECK_PAGE = 1000;

/**
 * The rules on search results kept in their session's row, at most 20 problems of each kind: the results
 * are a list of {object_id, position, ...} numbered 0..n-1, the row's result ids are their object ids in
 * order, and an event's position is where its object is.
 * Checked here, page by page, rather than in SQL: PostgreSQL's JSON operators refuse a value holding
 * \u0000 or a lone surrogate anywhere in it, which a result's meta may.
 */
async function resultProblems(client: pg.ClientBase): Promise<string[]> {
  const found = { list: [] as string[], numbering: [] as string[], ids: [] as string[], positions: [] as string[] };
  const report = (kind: keyof typeof found, problem: string): void => {
    if (found[kind].length < 20) found[kind].push(problem);
  };
  for (let after = ''; ;) {
    const { rows } = await client.query<{ session_id: string; results: unknown; result_ids: string[] }>(
      'SELECT session_id, results, result_ids FROM sessions WHERE session_id > $1 ORDER BY session_id LIMIT $2',
      [after, CHECK_PAGE],
    );
    // Each session's object at each position, as its results say.
    const objectAt = new Map<string, Map<unknown, string>>();
    for (const { session_id: id, results, result_ids: ids } of rows) {
      if (!isResultList(results)) {
        report('list', `the results of session ${id} are not a list of results`);
        continue;
      }
      if (results.some((r, index) => r.position !== index)) {
        report('numbering', `the results of session ${id} are not numbered 0..n-1`);
      }
      if (ids.length !== results.length || results.some((r, index) => r.object_id !== ids[index])) {
        report('ids', `the result ids of session ${id} are not its results' object ids`);
      }
      objectAt.set(id, new Map(results.map((r) => [r.position, r.object_id])));
    }
    const events = await client.query<{ session_id: string; event_id: string; object_id: string; position: number }>(
      `SELECT session_id, event_id, object_id, position FROM events
       WHERE position IS NOT NULL AND session_id = ANY($1::text[])`,
      [[...objectAt.keys()]],
    );
    for (const e of events.rows) {
      if (objectAt.get(e.session_id)?.get(e.position) !== e.object_id) {
        report('positions', `event ${e.event_id} of session ${e.session_id} has a position its object is not at`);
      }
    }
    const last = rows.at(-1);
    if (!last || rows.length < CHECK_PAGE) break;
    after = last.session_id;
  }
  return Object.values(found).flat();
}

function isResultList(value: unknown): value is StoredSearchResult[] {
  return (
    Array.isArray(value) &&
    value.every(
      (r: unknown) => typeof r === 'object' && r !== null && 'object_id' in r && typeof r.object_id === 'string',
    )
  );
}

/** An event as reads return it, keys in the order of the read schema (StoredEvent), as SQLite's are. */
function publicEvent(row: EventRow): StoredEvent {
  const { event_id, object_id, event_type, created_at, position, meta } = row;
  return { event_id, object_id, event_type, created_at, position, meta };
}
