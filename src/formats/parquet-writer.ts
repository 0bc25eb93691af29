import { ByteWriter, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';
import type { PairRow } from '../learning/rows.js';
import { OutputSink } from './output-sink.js';
import { type CellValue, provenanceColumns } from './provenance-columns.js';
import { checkPairRow } from './row-checks.js';
import { type RowWriter, type RowWriterOptions, sequentialWriter } from './row-writer.js';

/** Rows per row group unless told otherwise: a few MB of encoded text held at a time. */
export const DEFAULT_ROW_GROUP_ROWS = 10_000;

// Fixed, and without a version or a time, so that the same rows give the same bytes on every machine.
const CREATED_BY = 'clickstream-collector';

/** The Parquet writer's options: how many rows it holds before it writes them as one row group. */
export interface ParquetWriterOptions extends RowWriterOptions {
  readonly rowGroupRows?: number;
}

/**
 * hyparquet-writer's byte buffer, emptied into the output after each row group (the library calls `flush`
 * and awaits its promise before it encodes more, which carries the output's backpressure to the caller's
 * `write`) and, by `end()`, after the footer.
 */
class StreamByteWriter extends ByteWriter {
  constructor(private readonly sink: OutputSink) {
    super(64 * 1024);
  }

  flush(): Promise<void> {
    // A copy: the buffer is reused for the next row group while the stream may still hold this chunk.
    const chunk = new Uint8Array(this.buffer.slice(0, this.index));
    this.index = 0;
    return this.sink.write(chunk);
  }
}

/**
 * The provenance table as Parquet (the columns of the provenance JSONL), written through hyparquet-writer:
 * rows are held by column until a row group is full, then encoded and handed to the output, so memory holds
 * one row group whatever the batch's size. The footer is written by `end()`.
 */
export function parquetWriter(out: NodeJS.WritableStream, options: ParquetWriterOptions = {}): RowWriter<PairRow> {
  const outputHoldsSplit = options.split ?? false;
  const rowGroupRows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
  if (!Number.isSafeInteger(rowGroupRows) || rowGroupRows < 1) {
    throw new Error(`parquet: rowGroupRows is ${rowGroupRows}, expected a positive integer`);
  }
  const columns = provenanceColumns(outputHoldsSplit);
  const sink = new OutputSink(out);
  const bytes = new StreamByteWriter(sink);
  const parquet = new ParquetWriter({
    writer: bytes,
    schema: schemaFromColumnData({
      columnData: columns.map(({ name, type, nullable }) => ({ name, type, nullable, data: [] })),
    }),
    createdBy: CREATED_BY,
  });
  const emptyGroup = () =>
    columns.map((column) => {
      const values: CellValue[] = [];
      return { column, values };
    });
  let group = emptyGroup();
  let groupRows = 0;

  const writeGroup = async (): Promise<void> => {
    const columnData = group.map(({ column, values }) => ({ name: column.name, data: values }));
    group = emptyGroup();
    const rows = groupRows;
    groupRows = 0;
    await parquet.write({ columnData, rowGroupSize: rows });
  };

  return sequentialWriter<PairRow>({
    write: async (row) => {
      checkPairRow(row, outputHoldsSplit);
      for (const { column, values } of group) values.push(column.value(row));
      groupRows++;
      if (groupRows >= rowGroupRows) await writeGroup();
    },
    end: async () => {
      if (groupRows > 0) await writeGroup();
      // The footer goes into the buffer (ByteWriter's finish does nothing); the flush sends it.
      await parquet.finish();
      await bytes.flush();
      sink.release();
    },
  });
}
