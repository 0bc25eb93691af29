import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPairWriter } from '../../src/formats/training-formats.js';
import { MemoryOutput, PROVENANCE_KEYS as KEYS, makeAggregatedRow, makePairRow, writeAll } from './format-support.js';

describe('provenance JSONL', () => {
  it('writes every column in the fixed order, null where a column does not apply', async () => {
    const out = new MemoryOutput();
    const pair = makePairRow({ sessionId: 's-1', objectId: 'o-2', negativeObjectId: 'o-0', weight: 0.5 });
    const aggregated = makeAggregatedRow({ method: 'coec', objectId: 'o-9', rating: 1.25 });
    await writeAll(createPairWriter('jsonl', out), [pair, aggregated]);
    assert.equal(
      out.text(),
      '{"anchor":"red running shoes","positive":"Trail runner, red","negative":"Blue sandal","query":"red running shoes",' +
        '"object_id":"o-2","position":2,"negative_object_id":"o-0","negative_position":0,"session_id":"s-1",' +
        '"weight":0.5,"rating":null,"method":"skip-above"}\n' +
        '{"anchor":"red running shoes","positive":"Trail runner, red","negative":null,"query":"red running shoes",' +
        '"object_id":"o-9","position":null,"negative_object_id":null,"negative_position":null,"session_id":null,' +
        '"weight":null,"rating":1.25,"method":"coec"}\n',
    );
  });

  it('adds split as the last key when the output holds a split', async () => {
    const out = new MemoryOutput();
    await writeAll(createPairWriter('jsonl', out, { split: true }), [
      makePairRow({ split: 'train' }),
      makeAggregatedRow({ split: 'test' }),
    ]);
    const lines = out.lines();
    assert.deepEqual(
      lines.map((line) => Object.keys(line as object)),
      [
        [...KEYS, 'split'],
        [...KEYS, 'split'],
      ],
    );
    assert.deepEqual(
      lines.map((line) => (line as { split: unknown }).split),
      ['train', 'test'],
    );
  });

  it('has no split key without the option', async () => {
    const out = new MemoryOutput();
    await writeAll(createPairWriter('jsonl', out), [makePairRow()]);
    assert.deepEqual(Object.keys(out.lines()[0] as object), KEYS);
  });

  it('refuses a row whose split does not match what the output holds', async () => {
    await assert.rejects(
      createPairWriter('jsonl', new MemoryOutput()).write(makePairRow({ split: 'test' })),
      /without a split column/,
    );
    await assert.rejects(
      createPairWriter('jsonl', new MemoryOutput(), { split: true }).write(makePairRow()),
      /row without a split/,
    );
  });

  it('refuses NaN and Infinity, and positions that are not 0-based integers', async () => {
    for (const [row, message] of [
      [makeAggregatedRow({ rating: Number.NaN }), /rating is NaN/],
      [makeAggregatedRow({ rating: -Infinity }), /rating is -Infinity/],
      [makePairRow({ weight: Infinity }), /weight is Infinity/],
      [makePairRow({ position: 1.5 }), /position is 1.5/],
      [makePairRow({ negativePosition: -1 }), /negativePosition is -1/],
    ] as const) {
      const out = new MemoryOutput();
      await assert.rejects(createPairWriter('jsonl', out).write(row), message);
      assert.equal(out.text(), '', 'nothing of a refused row is written');
    }
  });
});
