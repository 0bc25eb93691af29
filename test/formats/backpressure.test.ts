import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createJudgmentWriter, createPairWriter, type RowWriter } from '../../src/formats/training-formats.js';
import { MemoryOutput, makeJudgmentRow, makePairRow } from './format-support.js';

/**
 * An output that takes nothing until released: with a high-water mark of one byte, its first chunk fills it,
 * so write() returns false and 'drain' comes only after release().
 */
class BlockedOutput extends Writable {
  chunks = 0;
  private held: (() => void)[] = [];
  private blocked = true;

  constructor() {
    super({ highWaterMark: 1 });
  }

  override _write(_chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks++;
    if (this.blocked)
      this.held.push(() => {
        callback();
      });
    else callback();
  }

  release(): void {
    this.blocked = false;
    for (const callback of this.held.splice(0)) callback();
  }
}

const ROWS = 50;

interface Progress {
  written: number;
  done: Promise<void>;
}

/** Writes ROWS rows one after another, as a caller must; `written` counts the writes that resolved. */
function produce<Row>(writer: RowWriter<Row>, makeRow: () => Row): Progress {
  const progress: Progress = { written: 0, done: Promise.resolve() };
  progress.done = (async () => {
    for (let i = 0; i < ROWS; i++) {
      await writer.write(makeRow());
      progress.written++;
    }
    await writer.end();
  })();
  return progress;
}

const CASES: readonly { name: string; resolvedWhileBlocked: number; start: (out: Writable) => Progress }[] = [
  { name: 'jsonl', resolvedWhileBlocked: 0, start: (out) => produce(createPairWriter('jsonl', out), makePairRow) },
  {
    name: 'sentence-transformers',
    resolvedWhileBlocked: 0,
    start: (out) => produce(createPairWriter('sentence-transformers', out), makePairRow),
  },
  { name: 'judgments', resolvedWhileBlocked: 0, start: (out) => produce(createJudgmentWriter(out), makeJudgmentRow) },
  // Parquet holds a row group: its first 9 rows are taken, the 10th sends the group and waits.
  {
    name: 'parquet',
    resolvedWhileBlocked: 9,
    start: (out) => produce(createPairWriter('parquet', out, { rowGroupRows: 10 }), makePairRow),
  },
];

describe('format writers under backpressure', () => {
  for (const { name, resolvedWhileBlocked, start } of CASES) {
    it(`${name}: a write does not resolve while the output is full, and resolves on drain`, async () => {
      const out = new BlockedOutput();
      const progress = start(out);
      await sleep(50);
      assert.equal(progress.written, resolvedWhileBlocked, 'writes resolved while the output was blocked');
      assert.equal(out.chunks, 1, 'the writer sent nothing more until drain');
      out.release();
      await progress.done;
      assert.equal(progress.written, ROWS);
    });
  }

  it('rejects a call made before the previous one settled, without disturbing that one', async () => {
    const out = new BlockedOutput();
    const writer = createPairWriter('jsonl', out);
    const first = writer.write(makePairRow());
    await assert.rejects(writer.write(makePairRow()), /before the previous one settled/);
    await assert.rejects(writer.end(), /before the previous one settled/);
    out.release();
    await first;
    await writer.end();
    assert.equal(out.chunks, 1);
  });

  it('rejects a waiting write when the output fails instead of draining', async () => {
    const out = new BlockedOutput();
    const writer = createPairWriter('jsonl', out);
    const first = writer.write(makePairRow());
    out.destroy(new Error('disk full'));
    await assert.rejects(first, /disk full/);
    await assert.rejects(writer.write(makePairRow()), /after an earlier call failed/);
  });

  it('rejects the next write after the output failed on a chunk it had taken', async () => {
    const out = new Writable({
      // Fails after taking the chunk, as a file does when the disk fills between write() and the write call.
      write(_chunk, _encoding, callback) {
        setImmediate(() => {
          callback(new Error('disk full'));
        });
      },
    });
    const writer = createPairWriter('jsonl', out);
    await writer.write(makePairRow());
    await sleep(10);
    await assert.rejects(writer.write(makePairRow()), /disk full/);
  });

  it('refuses calls after end()', async () => {
    const writer = createPairWriter('parquet', new MemoryOutput());
    await writer.end();
    await assert.rejects(writer.write(makePairRow()), /after end/);
    await assert.rejects(writer.end(), /after end/);
  });
});
