import type { PairRow } from '../learning/rows.js';
import { jsonLinesWriter } from './json-lines.js';
import { provenanceColumns, provenanceRecord } from './provenance-columns.js';
import { checkPairRow } from './row-checks.js';
import type { RowWriter, RowWriterOptions } from './row-writer.js';

/**
 * The provenance JSON Lines: every row with all the provenance columns in a fixed order, null where a column
 * does not apply, so that pandas and datasets infer one schema whatever the method.
 */
export function provenanceJsonlWriter(out: NodeJS.WritableStream, options: RowWriterOptions = {}): RowWriter<PairRow> {
  const outputHoldsSplit = options.split ?? false;
  const columns = provenanceColumns(outputHoldsSplit);
  return jsonLinesWriter<PairRow>(out, (row) => {
    checkPairRow(row, outputHoldsSplit);
    return provenanceRecord(columns, row);
  });
}
