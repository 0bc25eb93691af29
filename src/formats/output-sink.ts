/**
 * Writing bytes to a Node stream with backpressure: a chunk the stream could not take right away is waited
 * for ('drain'), so the producer never runs ahead of the output, and an output error reaches the caller as a
 * rejected write instead of an unhandled 'error' event.
 */
export class OutputSink {
  private failure: Error | null = null;
  private readonly recordFailure = (error: Error): void => {
    this.failure ??= error;
  };

  constructor(private readonly out: NodeJS.WritableStream) {
    out.on('error', this.recordFailure);
  }

  /** Resolves when `out` took the chunk: at once, or after its 'drain'. Rejects on an output error or close. */
  async write(chunk: string | Uint8Array): Promise<void> {
    this.throwIfFailed();
    if (this.out.write(chunk)) return;
    await this.drained();
    this.throwIfFailed();
  }

  /** Stops listening to `out`: once the writer is done, its errors are the caller's again. */
  release(): void {
    this.out.off('error', this.recordFailure);
  }

  private drained(): Promise<void> {
    const out = this.out;
    // A destroyed stream never drains: waiting would hang the caller forever.
    if ('destroyed' in out && out.destroyed === true) {
      return Promise.reject(this.failure ?? new Error('output was destroyed before it took the rows written'));
    }
    return new Promise<void>((resolve, reject) => {
      const settle = (error: Error | null): void => {
        out.off('drain', onDrain);
        out.off('error', onError);
        out.off('close', onClose);
        if (error === null) resolve();
        else reject(error);
      };
      const onDrain = (): void => {
        settle(null);
      };
      const onError = (error: Error): void => {
        settle(error);
      };
      const onClose = (): void => {
        settle(this.failure ?? new Error('output closed before it took the rows written'));
      };
      out.on('drain', onDrain);
      out.on('error', onError);
      out.on('close', onClose);
    });
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}
