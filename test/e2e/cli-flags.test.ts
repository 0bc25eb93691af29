/**
 * The flags of each CLI command: `--help` lists the ones the command uses (a store command: the store
 * settings and its own; serve: every setting), and a mistyped flag is one line naming the nearest flag.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { scratchDir } from '../support/factories.js';
import { runCliProcess, type CliResult } from '../support/service-process.js';

function explain(result: CliResult): string {
  return `exit ${result.code} (signal ${result.signal})\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

/** Settings only the HTTP service reads. */
const SERVER_FLAGS = ['--port', '--host', '--cors-origins', '--rate-limit-per-minute', '--max-body-bytes'];

describe('the flags of each CLI command', { timeout: 120_000 }, () => {
  const { dir, cleanup } = scratchDir();
  after(() => {
    cleanup();
  });

  it('export --help lists its own flags and the store settings, not the server settings', async () => {
    const help = await runCliProcess(dir, ['export', '--help']);
    assert.equal(help.code, 0, explain(help));
    for (const flag of ['--batch-id', '--output', '--threads', '--allow-collecting', '--allow-unsealed']) {
      assert.ok(help.stdout.includes(flag), `export --help should list ${flag}:\n${help.stdout}`);
    }
    for (const flag of ['--database-url', 'CLICKSTREAM_DATABASE_URL', '--durability', '--help']) {
      assert.ok(help.stdout.includes(flag), `export --help should list ${flag}:\n${help.stdout}`);
    }
    for (const flag of [...SERVER_FLAGS, '--late-event-grace-seconds']) {
      assert.ok(!help.stdout.includes(flag), `export --help should not list ${flag}:\n${help.stdout}`);
    }
    assert.ok(help.stdout.split('\n').length < 40, `export --help is short:\n${help.stdout}`);
  });

  it('release --help adds the settings of a release; serve --help lists every setting', async () => {
    const [release, serve] = await Promise.all([
      runCliProcess(dir, ['release', '--help']),
      runCliProcess(dir, ['serve', '--help']),
    ]);
    assert.equal(release.code, 0, explain(release));
    for (const flag of ['--release-id', '--database-url', '--late-event-grace-seconds', '--max-id-length']) {
      assert.ok(release.stdout.includes(flag), `release --help should list ${flag}:\n${release.stdout}`);
    }
    for (const flag of SERVER_FLAGS) assert.ok(!release.stdout.includes(flag), `release --help lists ${flag}`);
    assert.equal(serve.code, 0, explain(serve));
    for (const flag of [...SERVER_FLAGS, '--database-url', '--late-event-grace-seconds', '--log-level']) {
      assert.ok(serve.stdout.includes(flag), `serve --help should list ${flag}:\n${serve.stdout}`);
    }
  });

  it('a mistyped flag is one line naming the nearest flag of the command, exit 2, and opens no store', async () => {
    const [mistyped, release, other] = await Promise.all([
      runCliProcess(dir, ['export', '--batch-idd', 'some-batch']),
      runCliProcess(dir, ['release', '--relase-id=r1']),
      runCliProcess(dir, ['batches', '--port', '5000']),
    ]);
    assert.equal(mistyped.code, 2, explain(mistyped));
    assert.equal(mistyped.stdout, '');
    assert.equal(
      mistyped.stderr,
      'clickstream export: unknown flag --batch-idd; did you mean --batch-id? (clickstream export --help lists the flags)\n',
    );
    assert.equal(release.code, 2, explain(release));
    assert.equal(
      release.stderr,
      'clickstream release: unknown flag --relase-id; did you mean --release-id? (clickstream release --help lists the flags)\n',
    );
    // A setting of another command is no flag of this one; nothing is near it.
    assert.equal(other.code, 2, explain(other));
    assert.equal(
      other.stderr,
      'clickstream batches: unknown flag --port (clickstream batches --help lists the flags)\n',
    );
    assert.equal(existsSync(join(dir, 'db.sqlite')), false, 'no store is opened on wrong usage');
  });
});
