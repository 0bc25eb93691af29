/**
 * Training rows into format writers: one output, or two (the train and test parts of a split into two
 * files). The CLI and the HTTP route both write through this, so a format means the same bytes in both.
 */
import type { RowWriter } from '../formats/row-writer.js';
import {
  createJudgmentWriter,
  createPairWriter,
  isPairFormat,
  type TrainingFormat,
} from '../formats/training-formats.js';
import type { LearningWarning } from '../learning/bias-report.js';
import type { JudgmentRow, PairRow, Split } from '../learning/rows.js';
import type { TrainingOutput } from './training.js';

export interface TrainingWriters {
  readonly output: TrainingOutput;
  /** Ends every writer (Parquet writes its footer); the streams stay the caller's to end. */
  end(): Promise<void>;
}

/**
 * Writers of `format` to `streams`: with two, train rows go to the first and test rows to the second;
 * with one, every row goes there, and `split` says it holds both parts (a `split` column).
 */
export function trainingWriters(
  format: TrainingFormat,
  streams: readonly [NodeJS.WritableStream] | readonly [NodeJS.WritableStream, NodeJS.WritableStream],
  options: { readonly split: boolean; readonly warn?: (warning: LearningWarning) => void },
): TrainingWriters {
  const warn = options.warn ? { warn: options.warn } : {};
  // Two outputs hold one part each: their rows lose the split, which the file itself says.
  const twoParts = streams.length === 2;
  const part = <R extends { readonly split: Split | null }>(row: R): R => (twoParts ? { ...row, split: null } : row);
  if (isPairFormat(format)) {
    const writers = byPart(streams.map((out) => createPairWriter(format, out, { split: options.split })));
    return {
      output: { kind: 'pairs', write: (row: PairRow) => writers[row.split ?? 'train'].write(part(row)), ...warn },
      end: () => endAll(writers),
    };
  }
  const writers = byPart(streams.map((out) => createJudgmentWriter(out, { split: options.split })));
  return {
    output: {
      kind: 'judgments',
      write: (row: JudgmentRow) => writers[row.split ?? 'train'].write(part(row)),
      ...warn,
    },
    end: () => endAll(writers),
  };
}

function byPart<Row>(writers: readonly RowWriter<Row>[]): Record<Split, RowWriter<Row>> {
  const [train, test] = writers;
  if (!train) throw new Error('no output to write to');
  return { train, test: test ?? train };
}

async function endAll<Row>(writers: Record<Split, RowWriter<Row>>): Promise<void> {
  await writers.train.end();
  if (writers.test !== writers.train) await writers.test.end();
}
