import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';

/**
 * An output file written under a temporary name beside it and renamed when complete, so that whoever
 * finds the file finds all of it; `discard` removes what a failed run wrote.
 */
export class OutputFile {
  readonly stream: WriteStream;
  private readonly partialPath: string;

  constructor(readonly path: string) {
    // The process id makes the temporary name this run's own.
    this.partialPath = `${path}.${process.pid}.partial`;
    this.stream = createWriteStream(this.partialPath, { highWaterMark: 4 * 1024 * 1024 });
  }

  async complete(): Promise<void> {
    await this.finish();
    await this.commit();
  }

  /** Ends the stream and waits until everything written is on disk, under the temporary name. */
  async finish(): Promise<void> {
    this.stream.end();
    await finished(this.stream);
  }

  /** Gives the finished file its name. */
  async commit(): Promise<void> {
    await rename(this.partialPath, this.path);
    this.committed = true;
  }

  /** Whether the file has its name (a failure after that must remove it under that name). */
  committed = false;

  async discard(): Promise<void> {
    if (this.committed) {
      await rm(this.path, { force: true });
      return;
    }
    if (!this.stream.closed) {
      const closed = once(this.stream, 'close');
      this.stream.destroy();
      await closed;
    }
    await rm(this.partialPath, { force: true });
  }
}

/** `out.jsonl` -> `out.train.jsonl`: the part's name before the extension (or at the end without one). */
export function partPath(path: string, part: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? `${path.slice(0, dot)}.${part}${path.slice(dot)}` : `${path}.${part}`;
}
