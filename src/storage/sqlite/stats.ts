/**
 * The SQLite store's batch analytics (StatsStore). Aggregations run in a thread of their own with its own
 * connection (stats-thread.ts), started on first use: better-sqlite3 is synchronous, and reading a batch of
 * a million sessions on the event loop would hold every request for seconds. A store in memory (no file
 * another connection could open) reads on its own connection instead. Saved figures are small and read and
 * written on the store's connection.
 */
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { startWorker } from '../../worker-thread.js';
import type { BatchAggregate, StatsStore } from '../stats-store.js';
import { settle, storeFailure } from './errors.js';
import { SqliteStatsReader } from './stats-reader.js';

export interface StatsThreadSettings {
  readonly path: string;
  readonly busyTimeoutMs: number;
}

export type StatsRequest =
  | { readonly id: number; readonly kind: 'aggregate'; readonly batchId: string }
  | { readonly id: number; readonly kind: 'changed'; readonly batchId: string; readonly watermark: string };

export type StatsReply =
  | { readonly id: number; readonly ok: true; readonly value: BatchAggregate | null | boolean }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly code: string | null };

interface Waiter {
  readonly worker: Worker;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

export class SqliteStats implements StatsStore {
  private readonly saved: Database.Statement<[string, string], { figures: string }>;
  private readonly save: Database.Statement<[string, string, string, number]>;
  private readonly replace: Database.Statement<[string, string, string, number]>;
  private readonly inline: SqliteStatsReader | null;
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiter>();
  private closed = false;
  private nextId = 0;

  constructor(
    db: Database.Database,
    private readonly thread: StatsThreadSettings | null,
  ) {
    this.inline = thread === null ? new SqliteStatsReader(db) : null;
    this.saved = db.prepare('SELECT figures FROM batch_stats WHERE batch_id = ? AND query_field = ?');
    this.save = db.prepare(
      `INSERT INTO batch_stats (batch_id, query_field, figures, computed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    );
    this.replace = db.prepare(
      `INSERT INTO batch_stats (batch_id, query_field, figures, computed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET figures = excluded.figures, computed_at = excluded.computed_at`,
    );
  }

  aggregateBatch(batchId: string): Promise<BatchAggregate | null> {
    const inline = this.inline;
    if (inline) return settle(() => inline.aggregate(batchId));
    return this.ask({ id: this.nextId++, kind: 'aggregate', batchId }) as Promise<BatchAggregate | null>;
  }

  changedSince(batchId: string, watermark: string): Promise<boolean> {
    const inline = this.inline;
    if (inline) return settle(() => inline.changedSince(batchId, watermark));
    return this.ask({ id: this.nextId++, kind: 'changed', batchId, watermark }) as Promise<boolean>;
  }

  savedFigures(batchId: string, key: string): Promise<string | null> {
    return settle(() => this.saved.get(batchId, key)?.figures ?? null);
  }

  saveFigures(batchId: string, key: string, figures: string, now: number, replace = false): Promise<void> {
    return settle(() => {
      (replace ? this.replace : this.save).run(batchId, key, figures, now);
    });
  }

  /** Stops the thread; calls waiting for it reject, and later ones too. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    if (worker) {
      this.failAll(worker, new Error('the store was closed'));
      await worker.terminate();
    }
  }

  private ask(request: StatsRequest): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    return new Promise((resolve, reject) => {
      const worker = this.started();
      this.waiting.set(request.id, { worker, resolve, reject });
      // Referenced while a call waits for it, so that the process lives to hear the answer.
      worker.ref();
      worker.postMessage(request);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    if (!this.thread) throw new Error('no analytics thread for a store in memory');
    const worker = startWorker(import.meta.url, 'stats-thread', { workerData: this.thread });
    worker.on('message', (reply: StatsReply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (![...this.waiting.values()].some((w) => w.worker === worker)) worker.unref();
      if (reply.ok) waiter.resolve(reply.value);
      else {
        const error =
          reply.code === null ? new Error(reply.message) : new Database.SqliteError(reply.message, reply.code);
        waiter.reject(storeFailure(error));
      }
    });
    // A thread that fails fails the calls waiting for it (and only those); the next call starts another.
    const gone = (error: Error) => {
      if (this.worker === worker) this.worker = null;
      this.failAll(worker, error);
    };
    worker.on('error', gone);
    worker.on('exit', () => {
      gone(new Error('the analytics thread stopped'));
    });
    // Idle, it never keeps the process alive.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private failAll(worker: Worker, error: Error): void {
    for (const [id, waiter] of this.waiting) {
      if (waiter.worker !== worker) continue;
      this.waiting.delete(id);
      waiter.reject(error);
    }
  }
}
