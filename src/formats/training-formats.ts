import type { JudgmentRow, PairRow } from '../learning/rows.js';
import { judgmentsWriter } from './judgments-writer.js';
import { type ParquetWriterOptions, parquetWriter } from './parquet-writer.js';
import { provenanceJsonlWriter } from './provenance-jsonl-writer.js';
import type { RowWriter, RowWriterOptions } from './row-writer.js';
import { sentenceTransformersWriter } from './sentence-transformers-writer.js';

export type { RowWriter, RowWriterOptions } from './row-writer.js';
export type { ParquetWriterOptions } from './parquet-writer.js';
export { DEFAULT_ROW_GROUP_ROWS } from './parquet-writer.js';

/** The files training data can be written as. `judgments` takes judgment rows, the others pair rows. */
export const TRAINING_FORMATS = ['sentence-transformers', 'jsonl', 'judgments', 'parquet'] as const;
export type TrainingFormat = (typeof TRAINING_FORMATS)[number];

/** The formats of pair rows (PairRow); `judgments` is the one format of judgment rows. */
export type PairFormat = Exclude<TrainingFormat, 'judgments'>;

export function isPairFormat(format: TrainingFormat): format is PairFormat {
  return format !== 'judgments';
}

/** How a format's file is named and served. */
export interface FormatFile {
  /** For Content-Type. JSON Lines has no registered type; application/x-ndjson is the one most tools know. */
  readonly mediaType: string;
  /** With its dot, for a file name. */
  readonly extension: string;
}

const JSON_LINES: FormatFile = { mediaType: 'application/x-ndjson', extension: '.jsonl' };

export const FORMAT_FILES: Readonly<Record<TrainingFormat, FormatFile>> = {
  'sentence-transformers': JSON_LINES,
  jsonl: JSON_LINES,
  judgments: JSON_LINES,
  parquet: { mediaType: 'application/vnd.apache.parquet', extension: '.parquet' },
};

/** Options of a pair writer; `rowGroupRows` applies to Parquet only. */
export type PairWriterOptions = ParquetWriterOptions;

/**
 * A writer of pair rows to `out` in `format`. `split: true` (not for sentence-transformers, whose files
 * cannot hold one) says the output holds both parts of a split. See `RowWriter` for the order of calls.
 */
export function createPairWriter(
  format: PairFormat,
  out: NodeJS.WritableStream,
  options: PairWriterOptions = {},
): RowWriter<PairRow> {
  switch (format) {
    case 'sentence-transformers':
      if (options.split === true) {
        throw new Error('sentence-transformers files cannot hold a split: write train and test to two files');
      }
      return sentenceTransformersWriter(out);
    case 'jsonl':
      return provenanceJsonlWriter(out, options);
    case 'parquet':
      return parquetWriter(out, options);
  }
}

/** A writer of judgment rows to `out` as judgments JSON Lines. */
export function createJudgmentWriter(
  out: NodeJS.WritableStream,
  options: RowWriterOptions = {},
): RowWriter<JudgmentRow> {
  return judgmentsWriter(out, options);
}
