import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../worker-thread.js';
import type { StoreLogger } from '../driver.js';

/**
 * WAL checkpoints off the event loop.
 *
 * SQLite checkpoints inside the COMMIT that takes the WAL past `wal_autocheckpoint` pages (1,000): on the
 * event loop, for every request waiting at that moment. Measured by hand (wrk, 64 connections, 10,000
 * sessions, bench/load.lua), those checkpoints took the events route's p99 from 7 ms (checkpoints turned
 * off) to 26-31 ms, and its throughput down by about 15 %. A thread with its own connection now copies the
 * WAL into the database every few milliseconds while there is something to copy. The writer's own
 * automatic checkpoint stays as it is: it finds the frames copied already, so it is cheap, and it is the
 * backstop if the thread is slow or gone. The WAL still starts over when a writer finds it fully copied,
 * so it stays small (a raised `wal_autocheckpoint` was tried before and let it grow; see bench/README.md).
 */
export interface CheckpointerSettings {
  readonly path: string;
  /** The writer's `synchronous` setting (NORMAL or FULL), which also decides how checkpoints sync. */
  readonly synchronous: 'NORMAL' | 'FULL';
  /** Pause between checkpoints while the store is being written. */
  readonly busyEveryMs: number;
  /** Pause once a second has passed with nothing to copy. */
  readonly idleEveryMs: number;
}

/** Sent by the thread after each checkpoint that copied frames. */
export interface CheckpointReport {
  readonly frames: number;
}

export class Checkpointer {
  private readonly worker: Worker;
  private readonly counters = { checkpoints: 0, frames: 0 };

  constructor(settings: CheckpointerSettings, logger: StoreLogger) {
    this.worker = startWorker(import.meta.url, 'checkpoint-thread', { workerData: settings });
    this.worker.on('message', (report: CheckpointReport) => {
      this.counters.checkpoints++;
      this.counters.frames += report.frames;
    });
    // A failed thread only costs speed: the writer's automatic checkpoints still run.
    this.worker.on('error', (error) => {
      logger.warn({ err: error }, 'the WAL checkpoint thread failed; checkpoints continue on the writer');
    });
    // The thread never keeps the process alive; close() stops it.
    this.worker.unref();
  }

  /** Checkpoints the thread has made that copied frames, and how many frames they copied. */
  stats(): { checkpoints: number; frames: number } {
    return { ...this.counters };
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
