/**
 * `clickstream training-data` and `bias` on a real store, as a user runs them: the rules of the signal
 * (weights, repeats, irrelevant sessions, objects not shown, structured queries with and without
 * --query-field, documents from meta), two files for a split with no query in both, byte-identical reruns
 * of a sealed batch, and clear refusals.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toNewEvents } from '../../src/domain/event.js';
import { toNewSession } from '../../src/domain/session.js';
import type { RegisterSessionBody } from '../../src/schemas/payloads.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { id, makeSession, nowSeconds, scratchDir } from '../support/factories.js';
import { DEFAULT_RULES } from '../support/rules.js';
import { runCliProcess, type CliResult } from '../support/service-process.js';

const lines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}\n${result.stderr}`);
  return result;
}

describe('clickstream training-data and bias', { timeout: 180_000 }, () => {
  const { dir, cleanup } = scratchDir();
  const batches = { sealed: '', collecting: '' };
  const run = (args: readonly string[]) => runCliProcess(dir, args);

  before(async () => {
    const now = nowSeconds();
    const { store } = SqliteStore.open(join(dir, 'db.sqlite'), { durability: 'process' });
    try {
      const add = async (session: RegisterSessionBody, events: [string, string][], irrelevant = false) => {
        await store.registerSession(toNewSession(session, now, DEFAULT_RULES), now);
        const body = {
          session_id: session.session_id,
          events: events.map(([object_id, event_type]) => ({ event_id: id('e'), object_id, event_type })),
        };
        if (events.length > 0)
          await store.addEvents(session.session_id, toNewEvents(body, now, DEFAULT_RULES).events, now);
        if (irrelevant) await store.markIrrelevant(session.session_id, now);
      };
      const results = (objects: readonly string[]) =>
        objects.map((object_id) => ({ object_id, meta: { title: `Title of ${object_id}` } }));
      for (let i = 0; i < 12; i++) {
        await add(makeSession({ search_query: `shoes ${i % 6}`, search_results: results(['a', 'b', 'c']) }), [
          ['b', 'click'],
          ['b', 'purchase'],
          ['b', 'click'],
          ['c', 'view'],
          ['z', 'click'],
        ]);
      }
      await add(makeSession({ search_query: 'ignored', search_results: results(['a']) }), [['a', 'click']], true);
      await add(makeSession({ search_query: { query: { text: 'boots' } }, search_results: results(['d', 'e']) }), [
        ['e', 'click'],
      ]);
      batches.sealed = (await store.releaseBatch(id('release'), now, 0)).batch_id;
      batches.collecting = (
        await store.registerSession(toNewSession(makeSession(), now, DEFAULT_RULES), now)
      ).session.batch_id;
    } finally {
      await store.close();
    }
  });
  after(() => {
    cleanup();
  });

  it('writes click rows by the rules: highest weight once, irrelevant and unshown left out, structured queries skipped', async () => {
    const result = ok(await run(['training-data', '--batch-id', batches.sealed, '--method', 'clicks']));
    const rows = lines(result.stdout);
    assert.equal(rows.length, 12, 'one row per session: b, at its purchase weight; c was only viewed, z not shown');
    for (const row of rows) {
      assert.equal(row.object_id, 'b');
      assert.equal(row.weight, 3);
      assert.equal(row.position, 1);
      assert.equal(row.method, 'clicks');
    }
    assert.match(
      result.stderr,
      /clicks: 12 rows from 12 sessions \(skipped: 1 irrelevant, 1 structured query, 12 not shown interactions\)/,
    );
    const withField = ok(
      await run([
        'training-data',
        '--batch-id',
        batches.sealed,
        '--method',
        'clicks',
        '--query-field',
        'query.text',
        '--document-field',
        'title',
        '--format',
        'sentence-transformers',
      ]),
    );
    const pairs = lines(withField.stdout);
    assert.deepEqual(pairs.at(-1), { anchor: 'boots', positive: 'Title of e' });
    // A document field that the results do not have: no row, and the summary says why.
    const missing = ok(
      await run(['training-data', '--batch-id', batches.sealed, '--method', 'clicks', '--document-field', 'missing']),
    );
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /0 rows from 12 sessions \(skipped: .*12 no document/);
    for (const pair of pairs) assert.deepEqual(Object.keys(pair), ['anchor', 'positive']);
  });

  it('splits into two files with no query in both, and reruns a sealed batch byte for byte', async () => {
    const output = join(dir, 'pairs.jsonl');
    const args = [
      'training-data',
      '--batch-id',
      batches.sealed,
      '--method',
      'skip-above',
      '--test-fraction',
      '0.5',
      '--output',
      output,
    ];
    ok(await run(args));
    const train = readFileSync(join(dir, 'pairs.train.jsonl'), 'utf8');
    const test = readFileSync(join(dir, 'pairs.test.jsonl'), 'utf8');
    const queries = (text: string) => new Set(lines(text).map((row) => row.query));
    const both = [...queries(train)].filter((query) => queries(test).has(query));
    assert.deepEqual(both, []);
    assert.ok(queries(train).size > 0 && queries(test).size > 0, 'both parts hold queries');
    ok(await run(args));
    assert.equal(readFileSync(join(dir, 'pairs.train.jsonl'), 'utf8'), train);
    const parquet = ['training-data', '--batch-id', batches.sealed, '--method', 'pbm', '--format', 'parquet'];
    ok(await run([...parquet, '--output', join(dir, 'one.parquet')]));
    ok(await run([...parquet, '--output', join(dir, 'two.parquet')]));
    assert.deepEqual(readFileSync(join(dir, 'one.parquet')), readFileSync(join(dir, 'two.parquet')));
  });

  it('refuses a collecting batch, a bad flag value and a split into a sentence-transformers stream, with exit 2', async () => {
    const collecting = await run(['training-data', '--batch-id', batches.collecting, '--method', 'clicks']);
    assert.equal(collecting.code, 2);
    assert.match(
      collecting.stderr,
      /still collecting: training data is computed from released batches only; release it first/,
    );
    const bad = await run(['training-data', '--batch-id', batches.sealed, '--method', 'best', '--max-position', '0']);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /--method must be one of clicks, skip-above, pbm, coec, got "best"; --max-position must be a whole number from 1/,
    );
    const split = await run([
      'training-data',
      '--batch-id',
      batches.sealed,
      '--method',
      'clicks',
      '--format',
      'sentence-transformers',
      '--test-fraction',
      '0.2',
    ]);
    assert.equal(split.code, 2);
    assert.match(split.stderr, /holds no split column: give --output FILE/);
    assert.equal(split.stdout, '');
  });

  it('prints the bias curve as JSON with position 0 at 1, and warns that one fixed order identifies nothing', async () => {
    const result = ok(await run(['bias', '--batch-id', batches.sealed]));
    const report = JSON.parse(result.stdout) as {
      propensities: { propensity: number }[];
      warnings: { code: string }[];
      sessions: number;
    };
    assert.equal(report.sessions, 12);
    assert.equal(report.propensities[0]?.propensity, 1);
    // First the reason; with nothing to tell position from relevance the fit also runs away (degenerate).
    assert.equal(report.warnings[0]?.code, 'not_identifiable');
    assert.match(result.stderr, /warning: not_identifiable: only 0\.0 % of the \(query, object\) pairs/);
  });
});
