import { randomBytes } from 'node:crypto';
import type { Batch, BatchStatus } from '../schemas/records.js';

/** A batch as stored; its status depends on the time it is looked at. */
export type BatchRecord = Omit<Batch, 'status'>;

/** The status of a batch at `now` (UTC seconds): sealed from `sealed_at` on. */
export function batchStatus(batch: BatchRecord, now: number): BatchStatus {
  if (batch.released_at === null) return 'collecting';
  if (batch.sealed_at !== null && now >= batch.sealed_at) return 'sealed';
  return 'released';
}

export function withStatus(batch: BatchRecord, now: number): Batch {
  return { ...batch, status: batchStatus(batch, now) };
}

/**
 * A new batch id: 24 hex digits, 4 bytes of seconds then 8 random bytes, the shape EmbeddingStudio
 * clients already handle (a MongoDB ObjectId) and sortable by creation time.
 */
export function newBatchId(now: number): string {
  return now.toString(16).padStart(8, '0').slice(-8) + randomBytes(8).toString('hex');
}
