import { OutputSink } from './output-sink.js';
import { type RowWriter, sequentialWriter } from './row-writer.js';

/**
 * A JSON Lines writer: each row becomes one line, given to the output as it comes (the stream buffers and
 * coalesces small writes itself), so the writer holds no rows. `toRecord` checks the row and returns the
 * object to write; its key order is the file's, since JSON.stringify keeps insertion order.
 */
export function jsonLinesWriter<Row>(out: NodeJS.WritableStream, toRecord: (row: Row) => object): RowWriter<Row> {
  const sink = new OutputSink(out);
  return sequentialWriter<Row>({
    write: (row) => sink.write(`${JSON.stringify(toRecord(row))}\n`),
    end: () => {
      sink.release();
      return Promise.resolve();
    },
  });
}
