import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type {
  AddEventsResponse,
  Batch,
  BatchSessionsPage,
  RegisterSessionResponse,
  ReleaseResponse,
  SessionWithEvents,
} from '../../src/schemas/records.js';
import pg from 'pg';
import { createTestDatabase, testBackends, waitForLockWaiters } from '../support/backends.js';
import { id, makeEvents, makeSession, scratchDir } from '../support/factories.js';
import { DEFAULT_RULES } from '../support/rules.js';
import { toNewSession } from '../../src/domain/session.js';
import { PostgresStore } from '../../src/storage/postgres/postgres-store.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { runCliProcess, startService, type CliResult, type ServiceProcess } from '../support/service-process.js';

/** Flags every command takes: the store settings (test/e2e/cli-flags.test.ts checks which others). */
const CONFIG_FLAGS = ['--database-url', '--durability', '--help'];

/** Each command's own flags, and the flags of the settings it reads beside the store's. */
const OWN_FLAGS: Readonly<Record<string, readonly string[]>> = {
  serve: ['--port', '--late-event-grace-seconds'],
  migrate: [],
  release: ['--release-id', '--late-event-grace-seconds'],
  batches: ['--json', '--limit'],
  export: ['--batch-id', '--output', '--allow-collecting', '--allow-unsealed'],
  check: [],
};

/** A scratch directory per test, all removed at the end. */
const scratches: { cleanup: () => void }[] = [];
function freshDir(): string {
  const scratch = scratchDir();
  scratches.push(scratch);
  return scratch.dir;
}

function explain(result: CliResult): string {
  return `exit ${result.code} (signal ${result.signal})\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

function jsonLines<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

async function postJson<T>(service: ServiceProcess, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${service.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `POST ${path}: ${text}`);
  return JSON.parse(text) as T;
}

async function getJson<T>(service: ServiceProcess, path: string): Promise<T> {
  const response = await fetch(`${service.baseUrl}${path}`);
  const text = await response.text();
  assert.equal(response.status, 200, `GET ${path}: ${text}`);
  return JSON.parse(text) as T;
}

// Generous: every command is a new Node process compiling TypeScript on the fly, on a possibly busy machine.
describe('the clickstream CLI as a real process', { timeout: 180_000 }, () => {
  const services: ServiceProcess[] = [];
  after(async () => {
    await Promise.all(services.map((s) => s.kill()));
    for (const scratch of scratches) scratch.cleanup();
  });

  it('prints the help of every command with its own and its configuration flags, exit 0', async () => {
    const dir = freshDir();
    const results = await Promise.all(
      Object.keys(OWN_FLAGS).map(async (name) => ({ name, result: await runCliProcess(dir, [name, '--help']) })),
    );
    for (const { name, result } of results) {
      assert.equal(result.code, 0, `${name} --help: ${explain(result)}`);
      assert.match(result.stdout, new RegExp(`^clickstream ${name}: `), `${name} --help: ${result.stdout}`);
      for (const flag of [...(OWN_FLAGS[name] ?? []), ...CONFIG_FLAGS]) {
        assert.ok(result.stdout.includes(flag), `${name} --help should list ${flag}:\n${result.stdout}`);
      }
      assert.ok(result.stdout.includes('CLICKSTREAM_DATABASE_URL'), `${name} --help should name the variables`);
    }
    const overview = await runCliProcess(dir, ['--help']);
    assert.equal(overview.code, 0, explain(overview));
    for (const name of Object.keys(OWN_FLAGS)) assert.ok(overview.stdout.includes(name), overview.stdout);
  });

  it('exits 2 on an unknown command and on a missing required flag', async () => {
    const dir = freshDir();
    const [unknown, missing] = await Promise.all([runCliProcess(dir, ['frobnicate']), runCliProcess(dir, ['release'])]);
    assert.equal(unknown.code, 2, explain(unknown));
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    assert.equal(missing.code, 2, explain(missing));
    assert.match(missing.stderr, /--release-id is required/);
  });

  it('exits 2 naming the variable when a configuration value is wrong', async () => {
    const dir = freshDir();
    const [fromEnv, fromFlag, serve] = await Promise.all([
      runCliProcess(dir, ['migrate'], { CLICKSTREAM_PORT: 'abc' }),
      runCliProcess(dir, ['release', '--release-id', id('release'), '--late-event-grace-seconds', 'soon']),
      runCliProcess(dir, ['serve'], { CLICKSTREAM_PORT: 'abc' }),
    ]);
    assert.equal(fromEnv.code, 2, explain(fromEnv));
    assert.match(fromEnv.stderr, /CLICKSTREAM_PORT/);
    assert.match(fromEnv.stderr, /abc/);
    assert.equal(fromFlag.code, 2, explain(fromFlag));
    assert.match(fromFlag.stderr, /CLICKSTREAM_LATE_EVENT_GRACE_SECONDS/);
    assert.equal(serve.code, 2, explain(serve));
    assert.match(serve.stderr, /CLICKSTREAM_PORT/);
    // The process entry of the service (src/main.ts) refuses it the same way.
    await assert.rejects(
      startService(dir, { CLICKSTREAM_PORT: 'abc' }),
      /exited before listening \(code 2,[\s\S]*CLICKSTREAM_PORT/,
    );
  });

  it('migrate applies migration 1 to a new file, then finds it up to date', async () => {
    const dir = freshDir();
    const first = await runCliProcess(dir, ['migrate']);
    assert.equal(first.code, 0, explain(first));
    assert.match(first.stdout, /applied migrations? 1\b/);
    const second = await runCliProcess(dir, ['migrate']);
    assert.equal(second.code, 0, explain(second));
    assert.match(second.stdout, /up to date/);
    assert.doesNotMatch(second.stdout, /applied/);
  });

  if (testBackends().includes('postgres')) {
    it('migrate brings a new PostgreSQL database up to date once', async () => {
      const database = await createTestDatabase();
      try {
        const dir = freshDir();
        const env = { CLICKSTREAM_DATABASE_URL: database.url };
        const first = await runCliProcess(dir, ['migrate'], env);
        assert.equal(first.code, 0, explain(first));
        assert.match(first.stdout, /applied migrations? 1\b/);
        const second = await runCliProcess(dir, ['migrate'], env);
        assert.equal(second.code, 0, explain(second));
        assert.match(second.stdout, /up to date/);
      } finally {
        await database.drop();
      }
    });
  }

  if (testBackends().includes('postgres')) {
    it('an export whose database connections are cut mid-run exits 1 and leaves the output file as it was', async () => {
      const database = await createTestDatabase();
      try {
        const now = Math.floor(Date.now() / 1000);
        const { store } = await PostgresStore.open(database.url);
        try {
          // Three parts of 50: the threads are busy with a part when their connections go.
          for (let i = 0; i < 120; i++)
            await store.registerSession(toNewSession(makeSession(), now, DEFAULT_RULES), now);
        } finally {
          await store.close();
        }
        const dir = freshDir();
        const env = { CLICKSTREAM_DATABASE_URL: database.url };
        const released = await runCliProcess(dir, ['release', '--release-id', id('release')], env);
        assert.equal(released.code, 0, explain(released));
        const { batch_id: batchId } = JSON.parse(released.stdout) as { batch_id: string };
        const output = join(dir, 'batch.jsonl');
        writeFileSync(output, 'an earlier export\n');

        // The events table is locked, so the read of each of the three parts (sessions 1-50, 51-100, 101-120)
        // waits, each on a connection of its own: thread 0 reads the first and the third, thread 1 the second.
        // Then the server ends every connection of the export, as when the database restarts.
        const locker = new pg.Client({ connectionString: database.url });
        await locker.connect();
        let exported: CliResult;
        try {
          await locker.query('BEGIN');
          await locker.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
          const running = runCliProcess(
            dir,
            ['export', '--batch-id', batchId, '--output', output, '--threads', '2', '--allow-unsealed'],
            env,
          );
          await waitForLockWaiters(locker, 3, 60_000);
          await locker.query('SELECT pg_stat_clear_snapshot()');
          await locker.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()`,
          );
          exported = await running;
        } finally {
          await locker.end();
        }
        assert.equal(exported.code, 1, explain(exported));
        assert.match(
          exported.stderr,
          /^store: postgres:[^\n]*\nclickstream export: service_unavailable: .* \(stopped after 0 sessions; .*batch\.jsonl was not written\)\n$/,
        );
        assert.equal(readFileSync(output, 'utf8'), 'an earlier export\n', 'a failed export leaves the file as it was');
        assert.deepEqual(
          readdirSync(dir).filter((name) => name.includes('batch.jsonl')),
          ['batch.jsonl'],
        );

        // The same export, undisturbed, replaces the file whole and leaves nothing else behind.
        const again = await runCliProcess(dir, ['export', '--batch-id', batchId, '--output', output], env);
        assert.equal(again.code, 0, explain(again));
        assert.equal(jsonLines(readFileSync(output, 'utf8')).length, 120);
        assert.deepEqual(
          readdirSync(dir).filter((name) => name.includes('batch.jsonl')),
          ['batch.jsonl'],
        );
      } finally {
        await database.drop();
      }
    });
  }

  it('release with no sessions exits 1 with no_sessions_to_release and creates no batch', async () => {
    const dir = freshDir();
    const released = await runCliProcess(dir, ['release', '--release-id', id('release')]);
    assert.equal(released.code, 1, explain(released));
    assert.match(released.stderr, /no_sessions_to_release/);
    assert.equal(released.stdout, '');
    const batches = await runCliProcess(dir, ['batches', '--json']);
    assert.equal(batches.code, 0, explain(batches));
    const listed = jsonLines<{ status: string; session_count: number }>(batches.stdout);
    assert.deepEqual(
      listed.map((b) => [b.status, b.session_count]),
      [['collecting', 0]],
      'only the empty collecting batch exists',
    );
  });

  it('exports a batch of many parts in order, whatever the number of threads', async () => {
    const dir = freshDir();
    const now = Math.floor(Date.now() / 1000);
    const { store } = SqliteStore.open(join(dir, 'db.sqlite'), { durability: 'process' });
    const ids: string[] = [];
    try {
      for (let i = 0; i < 260; i++) {
        const session = toNewSession(makeSession(), now, DEFAULT_RULES);
        ids.push(session.session_id);
        await store.registerSession(session, now);
      }
      await store.releaseBatch(id('release'), now, 600);
    } finally {
      await store.close();
    }
    const [batch] = jsonLines<{ batch_id: string }>((await runCliProcess(dir, ['batches', '--json'])).stdout).slice(1);
    assert.ok(batch);
    const outputs: string[] = [];
    for (const threads of ['1', '3']) {
      const exported = await runCliProcess(dir, ['export', '--batch-id', batch.batch_id, '--threads', threads]);
      assert.equal(exported.code, 0, explain(exported));
      outputs.push(exported.stdout);
    }
    assert.deepEqual(
      jsonLines<{ session_id: string }>(outputs[0] ?? '').map((s) => s.session_id),
      ids,
    );
    assert.equal(outputs[1], outputs[0]);
    // An output file that cannot be written fails the command with the file system's reason.
    const missing = join(dir, 'no-such-dir', 'out.jsonl');
    const unwritable = await runCliProcess(dir, ['export', '--batch-id', batch.batch_id, '--output', missing]);
    assert.equal(unwritable.code, 1, explain(unwritable));
    assert.match(unwritable.stderr, /^clickstream export: ENOENT: no such file or directory/m);
  });

  it('export of an unknown batch exits 1 with batch_not_found', async () => {
    const dir = freshDir();
    const migrated = await runCliProcess(dir, ['migrate']);
    assert.equal(migrated.code, 0, explain(migrated));
    const exported = await runCliProcess(dir, ['export', '--batch-id', id('batch')]);
    assert.equal(exported.code, 1, explain(exported));
    assert.match(exported.stderr, /batch_not_found/);
    assert.equal(exported.stdout, '');
    const output = join(dir, 'unknown.jsonl');
    const toFile = await runCliProcess(dir, ['export', '--batch-id', id('batch'), '--output', output]);
    assert.equal(toFile.code, 1, explain(toFile));
    assert.equal(existsSync(output), false, 'no empty file is left for an unknown batch');
  });

  it('releases, lists and exports a batch while the service runs on the same file', async () => {
    const dir = freshDir();
    const service = await startService(dir);
    services.push(service);

    // Three sessions with 1, 3 and 0 events, registered in this order.
    const plan = [[0], [0, 2, 1], []].map((positions) => {
      const session = makeSession();
      return { session, events: makeEvents(session, positions) };
    });
    const sessions = plan.map((p) => p.session);
    let batchId: string | undefined;
    for (const { session, events } of plan) {
      const registered = await postJson<RegisterSessionResponse>(service, '/api/v1/clickstream/session', session);
      batchId ??= registered.batch_id;
      assert.equal(registered.batch_id, batchId, 'the sessions should share the collecting batch');
      if (events.events.length > 0) {
        const added = await postJson<AddEventsResponse>(service, '/api/v1/clickstream/session/events', events);
        assert.equal(added.stored, events.events.length);
      }
    }
    assert.ok(batchId !== undefined);

    // The CLI releases the batch the running service collects into: the store serialises both processes.
    const releaseId = id('release');
    const released = await runCliProcess(dir, [
      'release',
      '--release-id',
      releaseId,
      '--late-event-grace-seconds',
      '3600',
    ]);
    assert.equal(released.code, 0, explain(released));
    const [release, ...extra] = jsonLines<ReleaseResponse>(released.stdout);
    assert.ok(release, explain(released));
    assert.deepEqual(extra, []);
    assert.equal(release.batch_id, batchId);
    assert.equal(release.release_id, releaseId);
    assert.equal(release.session_count, 3);
    assert.equal(release.sealed_at - release.released_at, 3600, 'the flag should set the grace period');

    // A retry with the same release id answers the same release, without the flag and through HTTP too.
    const retried = await runCliProcess(dir, ['release', '--release-id', releaseId]);
    assert.equal(retried.code, 0, explain(retried));
    assert.deepEqual(jsonLines<ReleaseResponse>(retried.stdout), [release]);
    const overHttp = await postJson<ReleaseResponse>(service, '/api/v1/clickstream/internal/batch/release', {
      release_id: releaseId,
    });
    assert.deepEqual(overHttp, release);

    // The running service sees the release: a new session goes to a new collecting batch.
    const later = await postJson<RegisterSessionResponse>(service, '/api/v1/clickstream/session', makeSession());
    assert.notEqual(later.batch_id, batchId);

    const listed = await runCliProcess(dir, ['batches', '--json']);
    assert.equal(listed.code, 0, explain(listed));
    const batches = jsonLines<Batch>(listed.stdout);
    const mine = batches.find((b) => b.batch_id === batchId);
    assert.ok(mine, `batches --json should list ${batchId}:\n${listed.stdout}`);
    assert.equal(mine.status, 'released');
    assert.equal(mine.release_id, releaseId);
    assert.equal(mine.session_count, 3);
    assert.equal(mine.released_at, release.released_at);
    assert.equal(mine.sealed_at, release.sealed_at);
    const collecting = batches.find((b) => b.batch_id === later.batch_id);
    assert.equal(collecting?.status, 'collecting');

    const exported = await runCliProcess(dir, ['export', '--batch-id', batchId]);
    assert.equal(exported.code, 0, explain(exported));
    assert.ok(exported.stdout.endsWith('\n'), 'every line should end with a newline');
    const lines = jsonLines<SessionWithEvents>(exported.stdout);
    assert.deepEqual(
      lines.map((s) => s.session_id),
      sessions.map((s) => s.session_id),
      'one line per session, in registration order',
    );
    const numbers = lines.map((s) => s.session_number);
    assert.deepEqual(
      numbers,
      [...numbers].sort((a, b) => a - b),
      'lines should be in session_number order',
    );
    for (const [index, line] of lines.entries()) {
      assert.equal(line.batch_id, batchId);
      assert.deepEqual(
        line.events.map((e) => e.event_id).sort(),
        (plan[index]?.events.events ?? []).map((e) => e.event_id).sort(),
        `events of ${line.session_id}`,
      );
      assert.equal(line.events_truncated, false);
    }

    // The export holds the same sessions as the HTTP read of the batch.
    const page = await getJson<BatchSessionsPage>(
      service,
      `/api/v1/clickstream/internal/batch/sessions?batch_id=${encodeURIComponent(batchId)}`,
    );
    assert.deepEqual(lines, page.sessions);

    // --output writes the same lines to a file.
    const file = join(dir, 'export.jsonl');
    const toFile = await runCliProcess(dir, ['export', '--batch-id', batchId, '--output', file]);
    assert.equal(toFile.code, 0, explain(toFile));
    assert.equal(toFile.stdout, '');
    assert.equal(readFileSync(file, 'utf8'), exported.stdout);
    // However many threads read the parts, the lines are the same and in the same order.
    for (const threads of ['1', '3']) {
      const threaded = await runCliProcess(dir, ['export', '--batch-id', batchId, '--threads', threads]);
      assert.equal(threaded.code, 0, explain(threaded));
      assert.equal(threaded.stdout, exported.stdout, `--threads ${threads}`);
    }
    const noThreads = await runCliProcess(dir, ['export', '--batch-id', batchId, '--threads', '0']);
    assert.equal(noThreads.code, 2, explain(noThreads));
    assert.match(noThreads.stderr, /--threads must be a whole number from 1 to 16, got "0"/);

    // The store is consistent; a count changed behind its back is found and fails the command.
    const checked = await runCliProcess(dir, ['check']);
    assert.equal(checked.code, 0, explain(checked));
    assert.match(checked.stdout, /^ok: no integrity problem found/);
    const db = new Database(join(dir, 'db.sqlite'));
    try {
      db.prepare('UPDATE batches SET session_count = 99 WHERE batch_id = ?').run(batchId);
    } finally {
      db.close();
    }
    const broken = await runCliProcess(dir, ['check']);
    assert.equal(broken.code, 1, explain(broken));
    assert.match(broken.stdout, new RegExp(`batch ${batchId} counts 99 sessions but holds 3`));
    assert.match(broken.stderr, /1 integrity problem found/);
  });
});
