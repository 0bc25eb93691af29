/**
 * `clickstream export` of a batch that may still change: the collecting batch is refused unless
 * --allow-collecting is given; a released batch that is not sealed yet is exported with a warning (until
 * when late events are accepted) that --allow-unsealed silences; a sealed batch is exported silently.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toNewSession } from '../../src/domain/session.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { id, makeSession, nowSeconds, scratchDir } from '../support/factories.js';
import { DEFAULT_RULES } from '../support/rules.js';
import { runCliProcess, type CliResult } from '../support/service-process.js';

function explain(result: CliResult): string {
  return `exit ${result.code} (signal ${result.signal})\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function lineCount(text: string): number {
  return text.split('\n').filter((line) => line !== '').length;
}

describe('clickstream export of a batch that late events may still change', { timeout: 180_000 }, () => {
  const { dir, cleanup } = scratchDir();
  const storeLine = `store: sqlite:${join(dir, 'db.sqlite')}\n`;
  /** One batch of each state, one session each. */
  const batches = { sealed: '', unsealed: '', collecting: '', sealedAt: 0 };

  before(async () => {
    const now = nowSeconds();
    const { store } = SqliteStore.open(join(dir, 'db.sqlite'), { durability: 'process' });
    try {
      const register = () => store.registerSession(toNewSession(makeSession(), now, DEFAULT_RULES), now);
      await register();
      batches.sealed = (await store.releaseBatch(id('release'), now, 0)).batch_id;
      await register();
      const unsealed = await store.releaseBatch(id('release'), now, 3600);
      batches.unsealed = unsealed.batch_id;
      batches.sealedAt = unsealed.sealed_at ?? 0;
      batches.collecting = (await register()).session.batch_id;
    } finally {
      await store.close();
    }
  });
  after(() => {
    cleanup();
  });

  it('refuses the collecting batch with exit 2 naming --allow-collecting, and exports it with the flag', async () => {
    const output = join(dir, 'collecting.jsonl');
    const [refused, toFile, allowed] = await Promise.all([
      runCliProcess(dir, ['export', '--batch-id', batches.collecting]),
      runCliProcess(dir, ['export', '--batch-id', batches.collecting, '--output', output]),
      runCliProcess(dir, ['export', '--batch-id', batches.collecting, '--allow-collecting']),
    ]);
    for (const result of [refused, toFile]) {
      assert.equal(result.code, 2, explain(result));
      assert.equal(result.stdout, '');
      assert.match(
        result.stderr,
        new RegExp(
          `^${escaped(storeLine)}clickstream export: batch ${batches.collecting} is still collecting\\b.*--allow-collecting.*\\n$`,
        ),
      );
    }
    assert.equal(existsSync(output), false, 'a refused export writes no file');
    assert.equal(allowed.code, 0, explain(allowed));
    assert.equal(lineCount(allowed.stdout), 1);
    assert.equal(allowed.stderr, storeLine, 'the flag asks for it: no warning');
  });

  it('exports a released batch that is not sealed yet, warning until when late events are accepted', async () => {
    const [warned, silenced] = await Promise.all([
      runCliProcess(dir, ['export', '--batch-id', batches.unsealed]),
      runCliProcess(dir, ['export', '--batch-id', batches.unsealed, '--allow-unsealed']),
    ]);
    const sealedAt = new Date(batches.sealedAt * 1000).toISOString().replace('.000Z', 'Z');
    assert.equal(warned.code, 0, explain(warned));
    assert.equal(lineCount(warned.stdout), 1);
    const [first, warning, ...rest] = warned.stderr.split('\n');
    assert.equal(`${first ?? ''}\n`, storeLine);
    assert.match(warning ?? '', new RegExp(`^clickstream export: warning: batch ${batches.unsealed} is not sealed`));
    assert.ok(warning?.includes(`until ${sealedAt}`), `the warning names the time it is sealed: ${warning ?? ''}`);
    assert.ok(warning?.includes('--allow-unsealed'), warning);
    assert.deepEqual(rest, ['']);

    assert.equal(silenced.code, 0, explain(silenced));
    assert.equal(silenced.stdout, warned.stdout);
    assert.equal(silenced.stderr, storeLine, '--allow-unsealed silences the warning');
  });

  it('exports a sealed batch with no warning', async () => {
    const exported = await runCliProcess(dir, ['export', '--batch-id', batches.sealed]);
    assert.equal(exported.code, 0, explain(exported));
    assert.equal(lineCount(exported.stdout), 1);
    assert.equal(exported.stderr, storeLine);
  });
});
