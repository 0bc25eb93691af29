/** Rows and outputs for the format writers' tests. */
import { Writable } from 'node:stream';
import type { JudgmentRow, PairRow } from '../../src/learning/rows.js';
import type { RowWriter } from '../../src/formats/training-formats.js';
import { id } from '../support/factories.js';

/** The provenance columns in their order, as the training docs fix them (the split column, when there is one, is last). */
export const PROVENANCE_KEYS = [
  'anchor',
  'positive',
  'negative',
  'query',
  'object_id',
  'position',
  'negative_object_id',
  'negative_position',
  'session_id',
  'weight',
  'rating',
  'method',
] as const;

/** A skip-above pair: every per-session field set, no rating. */
export function makePairRow(overrides: Partial<PairRow> = {}): PairRow {
  return {
    anchor: 'red running shoes',
    positive: 'Trail runner, red',
    negative: 'Blue sandal',
    method: 'skip-above',
    sessionId: id('session'),
    objectId: id('object'),
    position: 2,
    negativeObjectId: id('object'),
    negativePosition: 0,
    weight: 1,
    rating: null,
    split: null,
    ...overrides,
  };
}

/** An aggregated (pbm) pair: no session, no position, no negative, a rating. */
export function makeAggregatedRow(overrides: Partial<PairRow> = {}): PairRow {
  return makePairRow({
    method: 'pbm',
    negative: null,
    sessionId: null,
    position: null,
    negativeObjectId: null,
    negativePosition: null,
    weight: null,
    rating: 0.625,
    ...overrides,
  });
}

export function makeJudgmentRow(overrides: Partial<JudgmentRow> = {}): JudgmentRow {
  return {
    query: 'red running shoes',
    objectId: id('object'),
    rating: 0.25,
    impressions: 8,
    clicks: 2,
    meanPosition: 1.5,
    split: null,
    ...overrides,
  };
}

/** An output that keeps every byte written to it. */
export class MemoryOutput extends Writable {
  private readonly chunks: Buffer[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    callback();
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  text(): string {
    return this.bytes().toString('utf8');
  }

  /** The output as JSON Lines: one parsed value per line, after checking that every line ends with \n. */
  lines(): unknown[] {
    const text = this.text();
    if (text === '') return [];
    if (!text.endsWith('\n')) throw new Error('the output does not end with a newline');
    return text
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
  }
}

/** Writes the rows in order, awaiting each write as a caller must, then ends the writer. */
export async function writeAll<Row>(writer: RowWriter<Row>, rows: readonly Row[]): Promise<void> {
  for (const row of rows) await writer.write(row);
  await writer.end();
}
