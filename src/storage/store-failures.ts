/**
 * Failures of the store itself, as opposed to a write's own: what every backend answers when its disk is
 * full, and how a store keeps knowing it is full until a write shows there is space again.
 */
import { ClickstreamError } from '../domain/errors.js';

/** The answer to a write that found no space; nothing of it was stored. */
export function storageFull(cause: unknown): ClickstreamError {
  return new ClickstreamError(
    'storage_full',
    'the store has no space left on its disk; nothing of this request was stored; retry once space is freed',
    [],
    { cause },
  );
}

export function isStorageFull(error: unknown): error is ClickstreamError {
  return error instanceof ClickstreamError && error.code === 'storage_full';
}

/**
 * Whether the store is full, as its writes last found: set by a write that failed for want of space,
 * cleared by one that committed. While it is set, `ping` probes with a write that needs space, so that
 * readiness comes back by itself once space is freed, also when no request arrives meanwhile.
 */
export class SpaceWatch {
  private full: ClickstreamError | null = null;

  /** Remembers a failure that said the store is full; any other failure says nothing about space. */
  failed(error: unknown): void {
    if (isStorageFull(error)) this.full = error;
  }

  /** A write committed: there was space for it. */
  written(): void {
    if (this.full !== null) this.full = null;
  }

  /**
   * Resolves when the store can serve requests: `check` (a cheap round trip) while no write found it full;
   * afterwards `probe` (a small write that needs space), whose failure is the answer.
   */
  async ping(check: () => Promise<void>, probe: () => Promise<void>): Promise<void> {
    if (this.full === null) return check();
    try {
      await probe();
    } catch (error) {
      this.failed(error);
      throw error;
    }
    this.written();
  }
}
