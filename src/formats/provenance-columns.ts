import type { PairRow } from '../learning/rows.js';

/** A cell of the provenance table; JSON writes it as is, Parquet by the column's type. */
export type CellValue = string | number | null;

/** One column of the provenance table, shared by its JSONL and Parquet files so that both say the same. */
export interface ProvenanceColumn {
  readonly name: string;
  /** hyparquet-writer's basic type: STRING is BYTE_ARRAY annotated UTF8. */
  readonly type: 'STRING' | 'INT32' | 'DOUBLE';
  /** False where no row can have null, so readers see a required column. */
  readonly nullable: boolean;
  readonly value: (row: PairRow) => CellValue;
}

// The order is the files' column order: training inputs first, then where each row came from.
const COLUMNS: readonly ProvenanceColumn[] = [
  { name: 'anchor', type: 'STRING', nullable: false, value: (row) => row.anchor },
  { name: 'positive', type: 'STRING', nullable: false, value: (row) => row.positive },
  { name: 'negative', type: 'STRING', nullable: true, value: (row) => row.negative },
  // The anchor again under its own name, for readers that join on the query rather than train on it.
  { name: 'query', type: 'STRING', nullable: false, value: (row) => row.anchor },
  { name: 'object_id', type: 'STRING', nullable: false, value: (row) => row.objectId },
  { name: 'position', type: 'INT32', nullable: true, value: (row) => row.position },
  { name: 'negative_object_id', type: 'STRING', nullable: true, value: (row) => row.negativeObjectId },
  { name: 'negative_position', type: 'INT32', nullable: true, value: (row) => row.negativePosition },
  { name: 'session_id', type: 'STRING', nullable: true, value: (row) => row.sessionId },
  { name: 'weight', type: 'DOUBLE', nullable: true, value: (row) => row.weight },
  { name: 'rating', type: 'DOUBLE', nullable: true, value: (row) => row.rating },
  { name: 'method', type: 'STRING', nullable: false, value: (row) => row.method },
];

// Required: a writer told of a split refuses rows without one (row-checks.ts).
const SPLIT_COLUMN: ProvenanceColumn = { name: 'split', type: 'STRING', nullable: false, value: (row) => row.split };

/** The provenance columns in file order; `split` last, and only when the output holds a split. */
export function provenanceColumns(outputHoldsSplit: boolean): readonly ProvenanceColumn[] {
  return outputHoldsSplit ? [...COLUMNS, SPLIT_COLUMN] : COLUMNS;
}

/** One row as the provenance record, keys in column order (JSON.stringify keeps insertion order). */
export function provenanceRecord(columns: readonly ProvenanceColumn[], row: PairRow): Record<string, CellValue> {
  const record: Record<string, CellValue> = {};
  for (const column of columns) record[column.name] = column.value(row);
  return record;
}
