import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { ClickstreamError } from '../../src/domain/errors.js';
import { toNewEvents } from '../../src/domain/event.js';
import { toNewSession } from '../../src/domain/session.js';
import { SQLITE_MIGRATIONS } from '../../src/storage/sqlite/migrations.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { makeEvent, makeSession, scratchDir } from '../support/factories.js';
import { fillBeforeMigration } from '../support/migration-data.js';
import { DEFAULT_RULES } from '../support/rules.js';

it('sqlite: applies migrations once and keeps the file consistent', async () => {
  const { dir, cleanup } = scratchDir();
  try {
    const path = join(dir, 'nested', 'store.db');
    const first = SqliteStore.open(path, { durability: 'power-loss' });
    assert.deepEqual(
      first.applied,
      SQLITE_MIGRATIONS.map((m) => m.version),
    );
    assert.deepEqual(await first.store.checkIntegrity(), []);
    await first.store.close();
    const second = SqliteStore.open(path, { durability: 'process' });
    assert.deepEqual(second.applied, []);
    await second.store.close();
  } finally {
    cleanup();
  }
});

it('sqlite: a resolved write is committed and visible from another connection', async () => {
  const { dir, cleanup } = scratchDir();
  const path = join(dir, 'store.db');
  const { store } = SqliteStore.open(path, { durability: 'process' });
  const reader = new Database(path, { readonly: true });
  try {
    const now = Math.floor(Date.now() / 1000);
    const session = toNewSession(makeSession(), now, DEFAULT_RULES);
    await store.registerSession(session, now);
    const row = reader
      .prepare('SELECT count(*) AS n FROM sessions s JOIN search_results r ON r.sid = s.sid WHERE s.session_id = ?')
      .get(session.session_id);
    assert.deepEqual(row, { n: session.search_results.length });
  } finally {
    reader.close();
    await store.close();
    cleanup();
  }
});

it('sqlite: a thread of its own copies the WAL into the database, not the writer', async () => {
  const { dir, cleanup } = scratchDir();
  const path = join(dir, 'store.db');
  const { store } = SqliteStore.open(path, { durability: 'process', checkpointThread: true });
  try {
    const now = Math.floor(Date.now() / 1000);
    // A few dozen pages: far below wal_autocheckpoint (1,000), so the writer never checkpoints them itself.
    for (let i = 0; i < 20; i++) await store.registerSession(toNewSession(makeSession(), now, DEFAULT_RULES), now);
    const deadline = Date.now() + 20_000;
    while (store.checkpointStats().frames === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(store.checkpointStats().frames > 0, 'the checkpointer thread copied no frame in 20 s');
    assert.deepEqual(await store.checkIntegrity(), []);
  } finally {
    await store.close();
    cleanup();
  }
});

it('sqlite: durability selects WAL with synchronous NORMAL (process) or FULL (power-loss)', async () => {
  const { dir, cleanup } = scratchDir();
  try {
    for (const [durability, expected] of [
      ['process', 1],
      ['power-loss', 2],
    ] as const) {
      const path = join(dir, `${durability}.db`);
      const { store } = SqliteStore.open(path, { durability });
      assert.deepEqual(store.pragmas(), { journal_mode: 'wal', synchronous: expected });
      await store.close();
    }
  } finally {
    cleanup();
  }
});

it('sqlite: a write lock held past the busy timeout is service_unavailable, and nothing is written', async () => {
  const { dir, cleanup } = scratchDir();
  const path = join(dir, 'store.db');
  const { store } = SqliteStore.open(path, { durability: 'process', busyTimeoutMs: 20 });
  const other = new Database(path);
  try {
    const now = Math.floor(Date.now() / 1000);
    const session = toNewSession(makeSession(), now, DEFAULT_RULES);
    other.exec('BEGIN IMMEDIATE');
    await assert.rejects(store.registerSession(session, now), (error: unknown) => {
      assert.ok(error instanceof ClickstreamError);
      assert.equal(error.code, 'service_unavailable');
      return true;
    });
    other.exec('ROLLBACK');
    assert.equal(await store.getSession(session.session_id, 10), null);
    assert.equal((await store.registerSession(session, now)).created, true);
  } finally {
    other.close();
    await store.close();
    cleanup();
  }
});

it('sqlite: concurrent writes share commits; each resolves only once its rows are visible elsewhere', async () => {
  const { dir, cleanup } = scratchDir();
  const path = join(dir, 'store.db');
  const { store } = SqliteStore.open(path, { durability: 'process' });
  const reader = new Database(path, { readonly: true });
  const count = reader.prepare<[string], { n: number }>('SELECT count(*) AS n FROM sessions WHERE session_id = ?');
  try {
    const now = Math.floor(Date.now() / 1000);
    const sessions = Array.from({ length: 100 }, () => toNewSession(makeSession(), now, DEFAULT_RULES));
    const before = store.commitStats();
    // Issued in one turn of the event loop, like requests a busy server has parsed meanwhile; a write
    // that fails (unknown session) sits in the middle of them.
    const unknown = toNewEvents({ session_id: 'no-such-session', events: [makeEvent()] }, now, DEFAULT_RULES);
    const writes = sessions.map((session) =>
      store.registerSession(session, now).then((result) => {
        // Read from another connection the moment this write is acknowledged.
        assert.deepEqual(count.get(session.session_id), { n: 1 }, 'acknowledged but not visible');
        return result;
      }),
    );
    const failing = store.addEvents('no-such-session', unknown.events, now);
    const results = await Promise.all(writes);
    await assert.rejects(
      failing,
      (error: unknown) => error instanceof ClickstreamError && error.code === 'session_not_found',
    );
    assert.ok(results.every((r) => r.created));
    const after = store.commitStats();
    assert.equal(after.writes - before.writes, 101);
    assert.ok(after.commits - before.commits < 5, `101 writes took ${after.commits - before.commits} commits`);
  } finally {
    reader.close();
    await store.close();
    cleanup();
  }
});

it('sqlite: migration 2 rekeys a version-1 file and keeps every session, result, event and batch', async () => {
  const { dir, cleanup } = scratchDir();
  try {
    // The data is written through the store, then copied into a file with the version-1 schema, where
    // results were keyed by session_id; opening that file applies migration 2 to it.
    const current = join(dir, 'current.db');
    const { store } = SqliteStore.open(current, { durability: 'process' });
    const now = Math.floor(Date.now() / 1000);
    const bodies = [makeSession(), makeSession(), makeSession()];
    const expected = await fillBeforeMigration(store, bodies, now);
    await store.close();

    const old = join(dir, 'version-1.db');
    const db = new Database(old);
    db.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT;
      INSERT INTO schema_migrations VALUES (1, 'sessions, results, events and batches', 0);`);
    db.exec(SQLITE_MIGRATIONS[0]?.sql ?? '');
    db.exec(`ATTACH '${current}' AS current;
      INSERT INTO batches SELECT * FROM current.batches;
      INSERT INTO sessions SELECT session_id, batch_id, session_number, search_query, search_meta, payload_filter,
        sort_by, user_id, created_at, created_at_given, registered_at, is_irrelevant FROM current.sessions;
      INSERT INTO search_results SELECT s.session_id, r.position, r.object_id, r.rank, r.meta
        FROM current.search_results r JOIN current.sessions s ON s.sid = r.sid;
      INSERT INTO events SELECT session_id, event_id, object_id, event_type, position, created_at, created_at_given,
        meta, received_at FROM current.events;`);
    db.close();

    const migrated = SqliteStore.open(old, { durability: 'process' });
    try {
      assert.deepEqual(
        migrated.applied,
        SQLITE_MIGRATIONS.map((m) => m.version).filter((v) => v > 1),
      );
      assert.deepEqual(await migrated.store.checkIntegrity(), []);
      const sessions = await Promise.all(bodies.map((b) => migrated.store.getSession(b.session_id, 100)));
      assert.deepEqual({ sessions, batches: await migrated.store.listBatches(10) }, expected);
      assert.equal(sessions[0]?.events.find((e) => e.position !== null)?.position, 1, 'an event keeps its position');
      // And it takes new writes: a new session, numbered after the last one, whose event finds its position.
      const body = makeSession();
      const added = await migrated.store.registerSession(toNewSession(body, now, DEFAULT_RULES), now);
      assert.equal(added.session.session_number, 2);
      const event = makeEvent({ object_id: body.search_results[2]?.object_id ?? '' });
      await migrated.store.addEvents(
        body.session_id,
        toNewEvents({ session_id: body.session_id, events: [event] }, now, DEFAULT_RULES).events,
        now,
      );
      assert.equal((await migrated.store.getSession(body.session_id, 10))?.events[0]?.position, 2);
    } finally {
      await migrated.store.close();
    }
  } finally {
    cleanup();
  }
});

it('sqlite: opening a file waits for another process that holds it for longer than the busy timeout (a migration)', async () => {
  const { dir, cleanup } = scratchDir();
  try {
    const path = join(dir, 'store.db');
    await SqliteStore.open(path, { durability: 'process' }).store.close();
    // Another process holds the write lock for 6 s, longer than the 5 s busy timeout, as a long migration does.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(${JSON.stringify(path)});
         db.exec('BEGIN IMMEDIATE'); console.log('locked');
         setTimeout(() => { db.exec('COMMIT'); db.close(); }, 6000);`,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = once(holder, 'exit');
    await once(holder.stdout, 'data');
    const { store, applied } = SqliteStore.open(path, { durability: 'process', busyTimeoutMs: 5000 });
    try {
      assert.deepEqual(applied, []);
      const now = Math.floor(Date.now() / 1000);
      assert.equal((await store.registerSession(toNewSession(makeSession(), now, DEFAULT_RULES), now)).created, true);
    } finally {
      await store.close();
    }
    assert.deepEqual(await exited, [0, null]);
  } finally {
    cleanup();
  }
});
