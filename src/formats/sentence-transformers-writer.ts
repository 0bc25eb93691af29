import type { PairRow } from '../learning/rows.js';
import { jsonLinesWriter } from './json-lines.js';
import { checkPairRow } from './row-checks.js';
import type { RowWriter } from './row-writer.js';

/**
 * sentence-transformers' JSON Lines: `{"anchor", "positive"}` or `{"anchor", "positive", "negative"}` and
 * nothing else, since the trainer feeds every column that is not a label to the loss as an input. The first
 * row fixes which of the two the file is; a row of the other kind is refused, because a column that appears
 * part way makes the dataset fail to load (or, filled with null, breaks the loss).
 */
export function sentenceTransformersWriter(out: NodeJS.WritableStream): RowWriter<PairRow> {
  let withNegative: boolean | null = null;
  return jsonLinesWriter<PairRow>(out, (row) => {
    if (row.split !== null) {
      throw new Error(
        `sentence-transformers: row of split '${row.split}' refused; this format holds no split column, write train and test to two files`,
      );
    }
    checkPairRow(row, false);
    const hasNegative = row.negative !== null;
    withNegative ??= hasNegative;
    if (hasNegative !== withNegative) {
      throw new Error(
        `sentence-transformers: a row ${hasNegative ? 'with' : 'without'} a negative in a file whose rows are ${withNegative ? 'with' : 'without'} one; one file has one set of columns`,
      );
    }
    return row.negative === null
      ? { anchor: row.anchor, positive: row.positive }
      : { anchor: row.anchor, positive: row.positive, negative: row.negative };
  });
}
