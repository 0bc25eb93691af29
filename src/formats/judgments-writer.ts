import type { JudgmentRow } from '../learning/rows.js';
import { jsonLinesWriter } from './json-lines.js';
import { checkJudgmentRow } from './row-checks.js';
import type { RowWriter, RowWriterOptions } from './row-writer.js';

/**
 * Judgments as JSON Lines: `{"query", "object_id", "rating", "impressions", "clicks", "mean_position"}`, plus
 * `split` when the output holds one; the snake_case keys match the provenance files.
 */
export function judgmentsWriter(out: NodeJS.WritableStream, options: RowWriterOptions = {}): RowWriter<JudgmentRow> {
  const outputHoldsSplit = options.split ?? false;
  return jsonLinesWriter<JudgmentRow>(out, (row) => {
    checkJudgmentRow(row, outputHoldsSplit);
    const record = {
      query: row.query,
      object_id: row.objectId,
      rating: row.rating,
      impressions: row.impressions,
      clicks: row.clicks,
      mean_position: row.meanPosition,
    };
    return outputHoldsSplit ? { ...record, split: row.split } : record;
  });
}
