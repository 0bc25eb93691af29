/**
 * PostgreSQL-specific behaviour of grouped writes: another process storing the same event between the
 * group's read and its insert. The group is rolled back and each request decided on its own.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ClickstreamError } from '../../src/domain/errors.js';
import { toNewEvents, type NewEvent } from '../../src/domain/event.js';
import { toNewSession } from '../../src/domain/session.js';
import { POSTGRES_MIGRATIONS } from '../../src/storage/postgres/migrations.js';
import { MIGRATION_LOCK, PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import type { StoredSearchResult } from '../../src/schemas/records.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import { createTestDatabase, testBackends, waitForLockWaiters, withDatabase } from '../support/backends.js';
import { makeEvent, makeSession, nowSeconds } from '../support/factories.js';
import { fillBeforeMigration } from '../support/migration-data.js';
import { DEFAULT_RULES } from '../support/rules.js';
import { openTestStore } from '../support/test-app.js';

if (testBackends().includes('postgres')) {
  describe('PostgreSQL connections reset under a request', () => {
    it('reject with service_unavailable, keep the process alive, and recover', async () => {
      const database = await createTestDatabase();
      const target = new URL(database.url);
      const proxy = await startProxy(Number(target.port || 5432), target.hostname);
      const viaProxy = new URL(database.url);
      viaProxy.port = String(proxy.port);
      const { store } = await PostgresStore.open(viaProxy.toString());
      try {
        const now = nowSeconds();
        await withDatabase(database.url, async (other) => {
          // Another client blocks the sessions table: the registration below waits inside its transaction.
          await other.query('BEGIN');
          await other.query('LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE');
          const pending = store.registerSession(toNewSession(makeSession(), now, DEFAULT_RULES), now);
          await waitForLockWaiters(other);
          proxy.resetAll();
          await assert.rejects(
            pending,
            (error: unknown) => error instanceof ClickstreamError && error.code === 'service_unavailable',
          );
          await other.query('ROLLBACK');
        });
        const session = toNewSession(makeSession(), now, DEFAULT_RULES);
        assert.equal((await store.registerSession(session, now)).created, true, 'the store recovers by itself');
      } finally {
        await store.close();
        proxy.close();
        await database.drop();
      }
    });
  });

  describe('PostgreSQL replicas posting the same events in opposite orders', () => {
    it('never deadlock: every event is stored once and both answer', async () => {
      const database = await createTestDatabase();
      const [a, b] = [await PostgresStore.open(database.url), await PostgresStore.open(database.url)];
      try {
        for (let round = 0; round < 8; round++) {
          const now = nowSeconds();
          const session = toNewSession(makeSession(), now, DEFAULT_RULES);
          await a.store.registerSession(session, now);
          const objectId = session.search_results[0]?.object_id ?? '';
          const forward = toNewEvents(
            {
              session_id: session.session_id,
              events: Array.from({ length: 200 }, () => makeEvent({ object_id: objectId })),
            },
            now,
            DEFAULT_RULES,
          ).events;
          const backward = [...forward].reverse();
          const [one, two] = await Promise.all([
            a.store.addEvents(session.session_id, forward, now),
            b.store.addEvents(session.session_id, backward, now),
          ]);
          assert.equal(one.stored + two.stored, 200);
          assert.equal(one.duplicates + two.duplicates, 200);
        }
      } finally {
        await a.store.close();
        await b.store.close();
        await database.drop();
      }
    });
  });

  describe('PostgreSQL grouped event writes racing another process', () => {
    let store: ClickstreamStore;
    let url: string;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, url, cleanup } = await openTestStore('postgres'));
    });
    after(async () => {
      await cleanup();
    });

    async function registered(now: number): Promise<{ sessionId: string; objectId: string }> {
      const session = toNewSession(makeSession(), now, DEFAULT_RULES);
      await store.registerSession(session, now);
      return { sessionId: session.session_id, objectId: session.search_results[0]?.object_id ?? '' };
    }

    function events(sessionId: string, objectId: string, count: number, now: number): NewEvent[] {
      const body = {
        session_id: sessionId,
        events: Array.from({ length: count }, () => makeEvent({ object_id: objectId })),
      };
      return toNewEvents(body, now, DEFAULT_RULES).events;
    }

    for (const [otherContent, expected] of [
      ['different', 'event_conflict'],
      ['the same', 'duplicate'],
    ] as const) {
      it(`decides each request alone when another process stored ${otherContent} event meanwhile`, async () => {
        const now = nowSeconds();
        const a = await registered(now);
        const b = await registered(now);
        const [fresh, contested] = events(a.sessionId, a.objectId, 2, now);
        const neighbour = events(b.sessionId, b.objectId, 1, now);
        assert.ok(fresh && contested);
        const eventType = otherContent === 'different' ? 'purchase' : contested.event_type;

        await withDatabase(url, async (other) => {
          await other.query('BEGIN');
          await other.query(
            `INSERT INTO events (session_id, event_id, object_id, event_type, created_at, created_at_given, received_at)
             VALUES ($1, $2, $3, $4, $5, false, $5)`,
            [a.sessionId, contested.event_id, contested.object_id, eventType, now],
          );
          // Both requests in one turn: one group, one insert, which waits on the other process's row.
          const first = store.addEvents(a.sessionId, [fresh, contested], now);
          const second = store.addEvents(b.sessionId, neighbour, now);
          await waitForLockWaiters(other);
          await other.query('COMMIT');

          const [firstResult, secondResult] = await Promise.allSettled([first, second]);
          assert.deepEqual(secondResult, { status: 'fulfilled', value: { stored: 1, duplicates: 0 } });
          if (expected === 'event_conflict') {
            assert.ok(firstResult.status === 'rejected', 'the request with the contested event must fail');
            const reason: unknown = firstResult.reason;
            assert.ok(reason instanceof ClickstreamError && reason.code === expected, String(reason));
          } else {
            assert.deepEqual(firstResult, { status: 'fulfilled', value: { stored: 1, duplicates: 1 } });
          }
        });

        const read = await store.getSession(a.sessionId, 10);
        const stored = read?.events.map((e) => e.event_id).sort();
        const wanted =
          expected === 'event_conflict' ? [contested.event_id] : [fresh.event_id, contested.event_id].sort();
        assert.deepEqual(stored, wanted, 'a refused request leaves none of its events behind');
        assert.equal((await store.getSession(b.sessionId, 10))?.events.length, 1);
      });
    }
  });
}

/** A TCP proxy to PostgreSQL whose connections the test can reset (RST, no goodbye from the server). */
async function startProxy(
  port: number,
  host: string,
): Promise<{ port: number; resetAll: () => void; close: () => void }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    resetAll: () => {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

if (testBackends().includes('postgres')) {
  describe('PostgreSQL migration 4 (search results into their session row)', () => {
    it('keeps every session, result, event and batch as it was, and the store takes new writes', async () => {
      const current = await createTestDatabase();
      const old = await createTestDatabase();
      try {
        // The data is written through the store, then copied into a database with the version-3 schema, where
        // results were rows of their own; opening that database applies migration 4 to it.
        const now = nowSeconds();
        const bodies = [
          makeSession(),
          makeSession({
            search_results: [
              { object_id: 'no-rank' },
              // PostgreSQL's JSON functions refuse to unpack a NUL or a lone surrogate: the migration must not.
              {
                object_id: 'tiny-rank',
                rank: 2.5e-7,
                meta: { z: 1, a: [1, { b: null }], odd: 'NUL \u0000 lone \ud800' },
              },
              { object_id: 'big-rank', rank: 1e21 },
            ],
          }),
          makeSession(),
        ];
        const { store } = await PostgresStore.open(current.url);
        let expected: Awaited<ReturnType<typeof fillBeforeMigration>>;
        let dump: Record<string, unknown>;
        try {
          expected = await fillBeforeMigration(store, bodies, now);
          dump = await withDatabase(current.url, async (client) => {
            const table = async (sql: string): Promise<unknown> =>
              (await client.query<{ rows: unknown }>(`SELECT coalesce(json_agg(t), '[]') AS rows FROM (${sql}) t`))
                .rows[0]?.rows;
            return {
              batches: await table('SELECT * FROM batches'),
              // Without the results, which json_populate_recordset below would unpack (and refuse).
              sessions: await table(`SELECT session_id, batch_id, session_number, search_query, search_meta,
                payload_filter, sort_by, user_id, created_at, created_at_given, registered_at, is_irrelevant
                FROM sessions`),
              results: (
                await client.query<{ session_id: string; results: StoredSearchResult[] }>(
                  'SELECT session_id, results FROM sessions',
                )
              ).rows.flatMap(({ session_id, results }) => results.map((r) => ({ session_id, ...r }))),
              events: await table('SELECT * FROM events'),
              numbers: (await client.query<{ n: number }>('SELECT last_value AS n FROM session_numbers')).rows[0]?.n,
              arrivals: (await client.query<{ n: number }>('SELECT last_value AS n FROM events_arrival_seq')).rows[0]
                ?.n,
            };
          });
        } finally {
          await store.close();
        }

        await withDatabase(old.url, async (client) => {
          await client.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
            applied_at bigint NOT NULL)`);
          for (const migration of POSTGRES_MIGRATIONS.filter((m) => m.version <= 3)) {
            await client.query(migration.sql);
            await client.query('INSERT INTO schema_migrations VALUES ($1, $2, 0)', [migration.version, migration.name]);
          }
          const load = (table: string, rows: unknown, overriding = ''): Promise<unknown> =>
            client.query(
              `INSERT INTO ${table} ${overriding} SELECT * FROM json_populate_recordset(null::${table}, $1)`,
              [JSON.stringify(rows)],
            );
          await load('batches', dump.batches, 'OVERRIDING SYSTEM VALUE');
          await load('sessions', dump.sessions);
          // Results as array parameters: json_populate_recordset would unpack their meta, and refuse the odd one.
          const rows = dump.results as (StoredSearchResult & { session_id: string })[];
          await client.query(
            `INSERT INTO search_results (session_id, position, object_id, rank, meta)
             SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::float8[], $5::json[])`,
            [
              rows.map((r) => r.session_id),
              rows.map((r) => r.position),
              rows.map((r) => r.object_id),
              rows.map((r) => r.rank),
              rows.map((r) => (r.meta === null ? null : JSON.stringify(r.meta))),
            ],
          );
          await load('events', dump.events);
          await client.query("SELECT setval('session_numbers', $1), setval('events_arrival_seq', $2)", [
            dump.numbers,
            dump.arrivals,
          ]);
        });

        const migrated = await PostgresStore.open(old.url);
        try {
          assert.deepEqual(
            migrated.applied,
            POSTGRES_MIGRATIONS.map((m) => m.version).filter((v) => v > 3),
          );
          assert.deepEqual(await migrated.store.checkIntegrity(), []);
          const sessions = await Promise.all(bodies.map((b) => migrated.store.getSession(b.session_id, 100)));
          assert.deepEqual({ sessions, batches: await migrated.store.listBatches(10) }, expected);
          // The same bytes as before, as an export writes them (deepEqual does not see the order of keys).
          assert.equal(JSON.stringify(sessions), JSON.stringify(expected.sessions));
          assert.equal(
            sessions[1]?.events.find((e) => e.position !== null)?.position,
            1,
            'an event keeps its position',
          );
          // Re-registering an old session answers with its stored results, which the service compares.
          const [first] = bodies;
          assert.ok(first);
          const original = toNewSession(first, now, DEFAULT_RULES);
          const changed = toNewSession({ ...first, search_results: first.search_results.slice(1) }, now, DEFAULT_RULES);
          for (const attempt of [original, changed]) {
            const answer = await migrated.store.registerSession(attempt, now);
            assert.equal(answer.created, false);
            assert.deepEqual(answer.session.search_results, original.search_results);
          }
          // A new event on an old session finds its result's position in the migrated row.
          const event = makeEvent({ object_id: first.search_results[2]?.object_id ?? '' });
          await migrated.store.addEvents(
            first.session_id,
            toNewEvents({ session_id: first.session_id, events: [event] }, now, DEFAULT_RULES).events,
            now,
          );
          const read = await migrated.store.getSession(first.session_id, 100);
          assert.equal(read?.events.find((e) => e.event_id === event.event_id)?.position, 2);
        } finally {
          await migrated.store.close();
        }
      } finally {
        await Promise.all([current.drop(), old.drop()]);
      }
    });
  });
}

if (testBackends().includes('postgres')) {
  describe('PostgreSQL migrations and the statement timeout', () => {
    it('a store opening while another holds the migration lock longer than the timeout waits for it', async () => {
      const database = await createTestDatabase();
      try {
        // As a long migration in another process does: the migration lock (MIGRATION_LOCK, for this schema) held for 3.5 s, against a statement timeout of 1 s (which also bounds the
        // store's other statements: short enough to show the wait is not bound, long enough for a slow machine).
        const holder = new pg.Client({ connectionString: database.url });
        await holder.connect();
        try {
          await holder.query('SELECT pg_advisory_lock($1, hashtext(current_schema())::int)', [MIGRATION_LOCK]);
          const released = sleep(3500).then(() =>
            holder.query('SELECT pg_advisory_unlock($1, hashtext(current_schema())::int)', [MIGRATION_LOCK]),
          );
          const started = Date.now();
          const { store, applied } = await PostgresStore.open(database.url, { statementTimeoutMs: 1000 });
          try {
            assert.ok(Date.now() - started >= 2500, 'the store should have waited for the lock');
            assert.deepEqual(
              applied,
              POSTGRES_MIGRATIONS.map((m) => m.version),
            );
            const now = nowSeconds();
            assert.equal(
              (await store.registerSession(toNewSession(makeSession(), now, DEFAULT_RULES), now)).created,
              true,
            );
          } finally {
            await store.close();
          }
          await released;
        } finally {
          await holder.end();
        }
      } finally {
        await database.drop();
      }
    });
  });
}
