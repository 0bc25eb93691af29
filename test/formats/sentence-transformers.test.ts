import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPairWriter } from '../../src/formats/training-formats.js';
import { MemoryOutput, makeAggregatedRow, makePairRow, writeAll } from './format-support.js';

describe('sentence-transformers JSONL', () => {
  it('writes anchor, positive and negative, and nothing else, for rows with a negative', async () => {
    const out = new MemoryOutput();
    const rows = [makePairRow(), makePairRow({ anchor: 'laufschuhe größe 42', positive: 'Läufer „rot“ 👟' })];
    await writeAll(createPairWriter('sentence-transformers', out), rows);
    assert.equal(
      out.text(),
      rows
        .map(
          (row) =>
            `{"anchor":${JSON.stringify(row.anchor)},"positive":${JSON.stringify(row.positive)},"negative":${JSON.stringify(row.negative)}}\n`,
        )
        .join(''),
    );
  });

  it('writes anchor and positive only for rows without a negative', async () => {
    const out = new MemoryOutput();
    const rows = [makeAggregatedRow(), makeAggregatedRow({ method: 'clicks', rating: null, weight: 2 })];
    await writeAll(createPairWriter('sentence-transformers', out), rows);
    assert.deepEqual(
      out.lines(),
      rows.map((row) => ({ anchor: row.anchor, positive: row.positive })),
    );
  });

  it('gives a datasets-style loader exactly the input columns on every line', async () => {
    for (const [rows, columns] of [
      [
        [makePairRow(), makePairRow(), makePairRow()],
        ['anchor', 'positive', 'negative'],
      ],
      [
        [makeAggregatedRow(), makeAggregatedRow()],
        ['anchor', 'positive'],
      ],
    ] as const) {
      const out = new MemoryOutput();
      await writeAll(createPairWriter('sentence-transformers', out), rows);
      const lines = out.lines();
      assert.equal(lines.length, rows.length);
      for (const line of lines) {
        assert.ok(typeof line === 'object' && line !== null);
        assert.deepEqual(Object.keys(line), columns);
      }
    }
  });

  it('refuses a row without a negative in a file that began with negatives, and the reverse', async () => {
    const withFirst = createPairWriter('sentence-transformers', new MemoryOutput());
    await withFirst.write(makePairRow());
    await assert.rejects(withFirst.write(makeAggregatedRow()), /without a negative in a file whose rows are with one/);

    const withoutFirst = createPairWriter('sentence-transformers', new MemoryOutput());
    await withoutFirst.write(makeAggregatedRow());
    await assert.rejects(withoutFirst.write(makePairRow()), /with a negative in a file whose rows are without one/);
  });

  it('refuses rows with a split, and a writer told of a split', async () => {
    const out = new MemoryOutput();
    const writer = createPairWriter('sentence-transformers', out);
    await assert.rejects(writer.write(makePairRow({ split: 'train' })), /split 'train' refused.*two files/);
    assert.equal(out.text(), '');
    assert.throws(() => createPairWriter('sentence-transformers', out, { split: true }), /cannot hold a split/);
  });

  it('refuses non-finite numbers, which JSON would write as null', async () => {
    for (const row of [makeAggregatedRow({ rating: Number.NaN }), makePairRow({ weight: Infinity })]) {
      const writer = createPairWriter('sentence-transformers', new MemoryOutput());
      await assert.rejects(writer.write(row), /must be finite/);
    }
  });
});
