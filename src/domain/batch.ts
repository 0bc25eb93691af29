import { randomBytes } from 'node:crypto';
import type { Batch, BatchStatus } from '../schemas/records.js';

/** A batch as stored; its status depends on the time it is looked at. */
export type BatchRecord = Omit<Batch, 'status'>;

/** What a batch's own timestamps make it at a time: its status but `fine_tuning`, which tasks decide. */
export type BatchLifecycle = Exclude<BatchStatus, 'fine_tuning'>;

/** The status of a batch at `now` (UTC seconds) by its timestamps: sealed from `sealed_at` on. */
export function batchStatus(batch: BatchRecord, now: number): BatchLifecycle {
  if (batch.released_at === null) return 'collecting';
  if (batch.sealed_at !== null && now >= batch.sealed_at) return 'sealed';
  return 'released';
}

/**
 * A batch as people read it: `fine_tuning` while a worker trains from it (`inTraining`), else its
 * lifecycle status. Rules (sealing, training, paging) read {@link batchStatus} instead.
 */
export function withStatus(batch: BatchRecord, now: number, inTraining = false): Batch {
  return { ...batch, status: inTraining ? 'fine_tuning' : batchStatus(batch, now) };
}

/**
 * A new batch id: 24 hex digits, 4 bytes of seconds then 8 random bytes, the shape EmbeddingStudio
 * clients already handle (a MongoDB ObjectId) and sortable by creation time.
 */
export function newBatchId(now: number): string {
  return now.toString(16).padStart(8, '0').slice(-8) + randomBytes(8).toString('hex');
}
