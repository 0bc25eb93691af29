/**
 * The one contract every format writer keeps: rows go in one at a time, in the caller's order, and the caller
 * awaits each write, so a slow output slows the producer down instead of filling memory.
 */

/** Writes rows of one kind to one output, in the order given. */
export interface RowWriter<Row> {
  /**
   * Takes one row. Resolves once the output accepted it, or once the writer holds it in its bounded buffer
   * (Parquet keeps one row group); when the output is full it resolves only after the output's 'drain'.
   * Await each call before the next: a call made while another is pending rejects, and so does every call
   * after one failed (a bad row or an output error), since what reached the output is then unknown.
   */
  write(row: Row): Promise<void>;
  /**
   * Writes what the format still holds (Parquet: the last row group and the footer) and resolves once the
   * output accepted it. It does not end the output: the caller owns it (stdout, an HTTP reply, a file it may
   * rename), ends it and awaits its 'finish'. No call is accepted after it.
   */
  end(): Promise<void>;
}

/** What every writer is told about its output. */
export interface RowWriterOptions {
  /**
   * The output holds both parts of a split (`--test-fraction` into one file): every row must have its
   * `split` set, and the format writes a `split` column. Default false: no row may have one, since a split
   * silently dropped would mix test rows into training.
   */
  readonly split?: boolean;
}

/** What a format does with a row; `sequentialWriter` adds the ordering rules of `RowWriter`. */
export interface FormatSink<Row> {
  write(row: Row): Promise<void>;
  end(): Promise<void>;
}

type WriterState = 'ready' | 'busy' | 'ended' | 'failed';

/** Wraps a format's sink in the rules of `RowWriter`: one call at a time, nothing after end or a failure. */
export function sequentialWriter<Row>(sink: FormatSink<Row>): RowWriter<Row> {
  let state: WriterState = 'ready';
  const run = async (operation: () => Promise<void>, next: WriterState): Promise<void> => {
    if (state === 'busy') throw new Error('row writer: a call was made before the previous one settled');
    if (state === 'ended') throw new Error('row writer: called after end()');
    if (state === 'failed') throw new Error('row writer: called after an earlier call failed');
    state = 'busy';
    try {
      await operation();
      state = next;
    } catch (error) {
      state = 'failed';
      throw error;
    }
  };
  return {
    write: (row) => run(() => sink.write(row), 'ready'),
    end: () => run(() => sink.end(), 'ended'),
  };
}
