/**
 * A store out of space: its writes fail with `storage_full` and store nothing, what was acknowledged
 * before stays readable, and `ping` (so /ready) says `storage_full` until there is space again, which it
 * finds out by itself.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ClickstreamError } from '../../src/domain/errors.js';
import { isSameSession, toNewSession, type NewSession } from '../../src/domain/session.js';
import { checkReady } from '../../src/services/health.js';
import { classifyPostgresError, postgresStoreFailure } from '../../src/storage/postgres/errors.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { isStoreFailure, storeFailure } from '../../src/storage/sqlite/errors.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import { createTestDatabase, testBackends, withDatabase } from '../support/backends.js';
import { id, makeSession, nowSeconds, scratchDir } from '../support/factories.js';
import { DEFAULT_RULES } from '../support/rules.js';

function assertStorageFull(error: unknown): true {
  assert.ok(error instanceof ClickstreamError, String(error));
  assert.equal(error.code, 'storage_full');
  assert.match(error.message, /no space left.*nothing of this request was stored.*retry once space is freed/);
  return true;
}

/** A session whose search_meta holds `bytes` of filler: past about 4 KB it needs pages of its own. */
function session(bytes: number, now: number, sessionId = id('session')): NewSession {
  return toNewSession(
    makeSession({ session_id: sessionId, search_meta: { filler: 'x'.repeat(bytes) } }),
    now,
    DEFAULT_RULES,
  );
}

async function assertAllReadable(store: ClickstreamStore, sessions: readonly NewSession[]): Promise<void> {
  for (const stored of sessions) {
    const read = await store.findSession(stored.session_id);
    assert.ok(read && isSameSession(read, stored), `acknowledged session ${stored.session_id} is lost`);
  }
}

it('sqlite: a write past the file size cap is storage_full, and ping says so until the cap is raised', async () => {
  const { dir, cleanup } = scratchDir();
  const { store } = SqliteStore.open(join(dir, 'store.db'), { durability: 'process', maxPageCount: 80 });
  try {
    const now = nowSeconds();
    const acknowledged: NewSession[] = [];
    let writeFailure: unknown;
    let pingFailure: unknown;
    // Sessions of about 1.5 KB until one does not fit; what is left may still take the probe's page though
    // not that write, so smaller ones fill on until ping finds no page either.
    for (let i = 0; i < 2000 && pingFailure === undefined; i++) {
      const next = session(writeFailure === undefined ? 1500 : 10, now);
      try {
        await store.registerSession(next, now);
        acknowledged.push(next);
        continue;
      } catch (error) {
        writeFailure ??= error;
        assertStorageFull(error);
      }
      pingFailure = await store.ping().then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    assertStorageFull(writeFailure);
    assert.ok(writeFailure instanceof Error && writeFailure.cause instanceof Database.SqliteError);
    assert.equal(writeFailure.cause.code, 'SQLITE_FULL');
    assert.ok(acknowledged.length > 10, `only ${acknowledged.length} sessions fitted`);
    assertStorageFull(pingFailure);
    await assert.rejects(checkReady(store), assertStorageFull, '/ready passes storage_full on as it is');

    // A store failure fails its whole group: writes of one turn that need a page, none stored.
    const group = [session(6000, now), session(6000, now), session(6000, now)];
    const settled = await Promise.allSettled(group.map((s) => store.registerSession(s, now)));
    for (const outcome of settled) {
      assert.ok(outcome.status === 'rejected' && assertStorageFull(outcome.reason));
    }
    for (const s of group) assert.equal(await store.findSession(s.session_id), null, 'a refused write stored nothing');
    await assertAllReadable(store, acknowledged);
    assert.deepEqual(await store.checkIntegrity(), []);

    // Space comes back with no request in between: ping finds out by itself, and writes succeed again.
    assert.ok(store.setMaxPageCount(10_000) >= 10_000);
    await store.ping();
    await checkReady(store);
    const after = session(6000, now);
    assert.equal((await store.registerSession(after, now)).created, true);
    await assertAllReadable(store, [...acknowledged, after]);
  } finally {
    await store.close();
    cleanup();
  }
});

it('sqlite: errors are classified by their primary code, extended codes included', () => {
  const full = new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
  assert.ok(isStoreFailure(full));
  assertStorageFull(storeFailure(full));
  for (const code of ['SQLITE_IOERR_WRITE', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_CORRUPT', 'SQLITE_READONLY_DBMOVED']) {
    assert.ok(isStoreFailure(new Database.SqliteError('store', code)), code);
  }
  const busy = storeFailure(new Database.SqliteError('database is locked', 'SQLITE_BUSY_RECOVERY'));
  assert.ok(busy instanceof ClickstreamError && busy.code === 'service_unavailable');
  for (const code of ['SQLITE_CONSTRAINT_TRIGGER', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_MISMATCH', 'SQLITE_ERROR']) {
    const own = new Database.SqliteError('own', code);
    assert.ok(!isStoreFailure(own), code);
    assert.equal(storeFailure(own), own);
  }
  assert.ok(!isStoreFailure(new ClickstreamError('session_not_found', 'unknown')));
});

describe('PostgreSQL failures, classified', () => {
  const pgError = (code: string, message = 'failed'): Error => Object.assign(new Error(message), { code });

  it('disk_full (53100) is storage_full, with the error as its cause', () => {
    const error = pgError('53100', 'could not extend file "base/16384/16385": No space left on device');
    assert.equal(classifyPostgresError(error), 'storage_full');
    const failure = postgresStoreFailure(error);
    assertStorageFull(failure);
    assert.equal(failure.cause, error);
    assert.equal(postgresStoreFailure(failure), failure, 'an answered failure keeps its meaning');
  });

  it('other insufficient resources, shutdowns and lost connections are service_unavailable', () => {
    const errors = [
      pgError('53300', 'sorry, too many clients already'),
      pgError('53200', 'out of memory'),
      pgError('08006'),
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('40P01', 'deadlock detected'),
      pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      pgError('ECONNRESET', 'read ECONNRESET'),
      pgError('EPIPE', 'write EPIPE'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ];
    for (const error of errors) {
      assert.equal(classifyPostgresError(error), 'unavailable', error.message);
      const failure = postgresStoreFailure(error);
      assert.ok(failure instanceof ClickstreamError && failure.code === 'service_unavailable', error.message);
      assert.equal(failure.cause, error);
    }
  });

  it("a constraint, a trigger's RAISE or a data exception is the write's own, passed on as it is", () => {
    const errors = [
      pgError('23505', 'duplicate key value violates unique constraint "events_pkey"'),
      pgError('23514', 'Connection terminated: a trigger may say anything'),
      pgError('22P02', 'invalid input syntax for type json'),
      pgError('P0001', 'raised'),
      new ClickstreamError('session_not_found', 'unknown'),
    ];
    for (const error of errors) {
      assert.equal(classifyPostgresError(error), 'own', error.message);
      assert.equal(postgresStoreFailure(error), error);
    }
  });
});

if (testBackends().includes('postgres')) {
  describe('PostgreSQL out of space', () => {
    it('fails a group with storage_full, and ping probes with a write until one commits', async () => {
      // The server reports disk_full the way it does when a file cannot grow, raised here by triggers
      // (a disk cannot be filled for a test): on one registration, and on the probe's table.
      const database = await createTestDatabase();
      const { store } = await PostgresStore.open(database.url);
      try {
        const now = nowSeconds();
        const before = session(10, now);
        await store.registerSession(before, now);
        const doomed = id('full');
        await withDatabase(database.url, (client) =>
          client.query(`CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN
                -- Two branches: a probe row has no session_id to look at.
                IF TG_TABLE_NAME = 'storage_probe' THEN
                  RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
                ELSIF NEW.session_id = '${doomed}' THEN
                  RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';
                END IF;
                RETURN NEW;
              END $$;
            CREATE TRIGGER disk_full BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION disk_full();
            CREATE TRIGGER disk_full BEFORE INSERT ON storage_probe FOR EACH ROW EXECUTE FUNCTION disk_full()`),
        );

        await store.ping();
        const group = [session(10, now), session(10, now, doomed), session(10, now)];
        const settled = await Promise.allSettled(group.map((s) => store.registerSession(s, now)));
        for (const outcome of settled) {
          assert.ok(outcome.status === 'rejected' && assertStorageFull(outcome.reason));
        }
        for (const s of group) assert.equal(await store.findSession(s.session_id), null);
        await assert.rejects(store.ping(), assertStorageFull);
        await assert.rejects(checkReady(store), assertStorageFull);
        await assertAllReadable(store, [before]);

        await withDatabase(database.url, (client) => client.query('DROP TRIGGER disk_full ON storage_probe'));
        await store.ping();
        await checkReady(store);
        const after = session(10, now);
        assert.equal((await store.registerSession(after, now)).created, true);
        assert.equal(
          await withDatabase(
            database.url,
            async (client) => (await client.query('SELECT 1 FROM storage_probe')).rowCount,
          ),
          0,
        );
      } finally {
        await store.close();
        await database.drop();
      }
    });
  });
}
