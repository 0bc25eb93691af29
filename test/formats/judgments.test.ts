import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createJudgmentWriter } from '../../src/formats/training-formats.js';
import { MemoryOutput, makeJudgmentRow, writeAll } from './format-support.js';

describe('judgments JSONL', () => {
  it('writes query, object_id, rating, impressions, clicks and mean_position in that order', async () => {
    const out = new MemoryOutput();
    await writeAll(createJudgmentWriter(out), [
      makeJudgmentRow({ objectId: 'o-1' }),
      makeJudgmentRow({ query: 'übergröße', objectId: 'o-2', rating: 0, clicks: 0, meanPosition: 0 }),
    ]);
    assert.equal(
      out.text(),
      '{"query":"red running shoes","object_id":"o-1","rating":0.25,"impressions":8,"clicks":2,"mean_position":1.5}\n' +
        '{"query":"übergröße","object_id":"o-2","rating":0,"impressions":8,"clicks":0,"mean_position":0}\n',
    );
  });

  it('adds split last when the output holds a split', async () => {
    const out = new MemoryOutput();
    await writeAll(createJudgmentWriter(out, { split: true }), [makeJudgmentRow({ objectId: 'o-1', split: 'test' })]);
    assert.equal(
      out.text(),
      '{"query":"red running shoes","object_id":"o-1","rating":0.25,"impressions":8,"clicks":2,"mean_position":1.5,"split":"test"}\n',
    );
  });

  it('refuses a split that does not match the output, and non-finite or fractional numbers', async () => {
    await assert.rejects(createJudgmentWriter(new MemoryOutput()).write(makeJudgmentRow({ split: 'train' })), /split/);
    await assert.rejects(createJudgmentWriter(new MemoryOutput(), { split: true }).write(makeJudgmentRow()), /split/);
    for (const [row, message] of [
      [makeJudgmentRow({ rating: Number.NaN }), /rating is NaN/],
      [makeJudgmentRow({ rating: Infinity }), /rating is Infinity/],
      [makeJudgmentRow({ meanPosition: Number.NaN }), /meanPosition is NaN/],
      [makeJudgmentRow({ clicks: 0.5 }), /clicks is 0.5/],
      [makeJudgmentRow({ impressions: -1 }), /impressions is -1/],
    ] as const) {
      await assert.rejects(createJudgmentWriter(new MemoryOutput()).write(row), message);
    }
  });
});
