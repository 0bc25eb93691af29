/**
 * Which store a CLI command works on: every command names the store it opened on stderr, and the commands
 * that only read (batches, export, check) refuse a store that does not exist, with exit code 2, instead of
 * creating an empty one and answering from it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { toNewSession } from '../../src/domain/session.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { createTestDatabase, testBackends, withDatabase } from '../support/backends.js';
import { id, makeSession, nowSeconds, scratchDir } from '../support/factories.js';
import { DEFAULT_RULES } from '../support/rules.js';
import { runCliProcess, startService, type CliResult, type ServiceProcess } from '../support/service-process.js';

/** The read-only commands, each with the arguments it needs. */
const READ_ONLY: readonly (readonly string[])[] = [['batches'], ['check'], ['export', '--batch-id', 'some-batch']];

function explain(result: CliResult): string {
  return `exit ${result.code} (signal ${result.signal})\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs every read-only command on the store of `env` and checks that each refused it, naming `location`. */
async function assertRefused(dir: string, env: Record<string, string>, location: string, why: RegExp): Promise<void> {
  const results = await Promise.all(READ_ONLY.map((args) => runCliProcess(dir, args, env)));
  for (const [index, result] of results.entries()) {
    const name = READ_ONLY[index]?.[0] ?? '';
    assert.equal(result.code, 2, `${name}: ${explain(result)}`);
    assert.equal(result.stdout, '', name);
    assert.match(result.stderr, new RegExp(`^clickstream ${name}: no store at ${escaped(location)}\\b`), name);
    assert.match(result.stderr, why, name);
    assert.match(result.stderr, /start the service once or run `clickstream migrate`/, name);
    assert.equal(result.stderr.split('\n').length, 2, `${name}: one line\n${result.stderr}`);
  }
}

describe('the store a CLI command opens', { timeout: 180_000 }, () => {
  const cleanups: (() => Promise<unknown> | undefined)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const freshDir = (): string => {
    const scratch = scratchDir();
    cleanups.push(() => {
      scratch.cleanup();
      return undefined;
    });
    return scratch.dir;
  };

  it('read-only commands refuse a missing SQLite file, exit 2, and create neither it nor its folder', async () => {
    const dir = freshDir();
    const folder = join(dir, 'elsewhere');
    const path = join(folder, 'clickstream.db');
    const env = { CLICKSTREAM_DATABASE_URL: `sqlite:${path}` };
    await assertRefused(dir, env, `sqlite:${path}`, /does not exist/);
    assert.equal(existsSync(folder), false, 'the folder of the store must not be created');

    // A file that holds no store (here an empty one) is refused too, and left as it was.
    mkdirSync(folder);
    writeFileSync(path, '');
    await assertRefused(dir, env, `sqlite:${path}`, /no clickstream schema/);
    assert.equal(readFileSync(path).length, 0, 'the empty file is left as it was');

    // Once the store is created, they open it and say which store they opened.
    const migrated = await runCliProcess(dir, ['migrate'], env);
    assert.equal(migrated.code, 0, explain(migrated));
    const listed = await runCliProcess(dir, ['batches', '--json'], env);
    assert.equal(listed.code, 0, explain(listed));
    assert.equal(listed.stderr, `store: sqlite:${path}\n`);
    assert.match(listed.stdout, /"status":"collecting"/);
  });

  if (testBackends().includes('postgres')) {
    it('read-only commands refuse a PostgreSQL database without the schema, exit 2, and create no table', async () => {
      const database = await createTestDatabase();
      cleanups.push(() => database.drop());
      const dir = freshDir();
      const env = { CLICKSTREAM_DATABASE_URL: database.url };
      const shown = new URL(database.url);
      if (shown.password !== '') shown.password = '***';
      await assertRefused(dir, env, shown.toString(), /no clickstream schema/);
      const tables = await withDatabase(database.url, (client) =>
        client.query(
          "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        ),
      );
      assert.deepEqual(tables.rows, [], 'the database must stay empty');

      const migrated = await runCliProcess(dir, ['migrate'], env);
      assert.equal(migrated.code, 0, explain(migrated));
      assert.equal(migrated.stderr, `store: ${shown.toString()}\n`);
      const checked = await runCliProcess(dir, ['check'], env);
      assert.equal(checked.code, 0, explain(checked));
      assert.equal(checked.stderr, `store: ${shown.toString()}\n`);
    });
  }

  it('every command says on stderr which store it opened, in one line before anything else', async () => {
    const dir = freshDir();
    const path = join(dir, 'db.sqlite');
    const line = `store: sqlite:${path}\n`;
    const now = nowSeconds();
    const { store } = SqliteStore.open(path, { durability: 'process' });
    try {
      await store.registerSession(toNewSession(makeSession(), now, DEFAULT_RULES), now);
    } finally {
      await store.close();
    }
    const released = await runCliProcess(dir, ['release', '--release-id', id('release')]);
    assert.equal(released.code, 0, explain(released));
    assert.equal(released.stderr, line);
    const { batch_id: batchId } = JSON.parse(released.stdout) as { batch_id: string };
    const results = await Promise.all([
      runCliProcess(dir, ['migrate']),
      runCliProcess(dir, ['batches']),
      runCliProcess(dir, ['check']),
      runCliProcess(dir, ['export', '--batch-id', batchId, '--allow-unsealed']),
    ]);
    for (const result of results) {
      assert.equal(result.code, 0, explain(result));
      assert.equal(result.stderr, line);
    }
    // A failing command has opened the store too: the line comes first, then the failure.
    const again = await runCliProcess(dir, ['release', '--release-id', id('release')]);
    assert.equal(again.code, 1, explain(again));
    assert.match(again.stderr, new RegExp(`^${escaped(line)}clickstream release: no_sessions_to_release`));

    const service: ServiceProcess = await startService(dir);
    cleanups.push(() => service.kill());
    const deadline = Date.now() + 10_000;
    while (!service.stderr().includes(line) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(service.stderr(), line, 'serve names its store on stderr once it serves');
  });
});
