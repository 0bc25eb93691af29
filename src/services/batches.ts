import { batchStatus, withStatus, type BatchLifecycle, type BatchRecord } from '../domain/batch.js';
import { ClickstreamError, type FieldError, validationFailed } from '../domain/errors.js';
import type { Limits } from '../domain/limits.js';
import { PAGE_LIMITS } from '../domain/limits.js';
import type { Clock } from '../domain/time.js';
import { idFieldProblems } from '../domain/validation.js';
import type { Batch, BatchSessionsPage, ReleaseResponse, SessionWithEvents } from '../schemas/records.js';
import type { ClickstreamStore } from '../storage/store.js';
import { NO_OBSERVER, type UseCaseObserver } from './observer.js';

export interface BatchRules {
  readonly limits: Limits;
  readonly lateEventGraceSeconds: number;
}

/**
 * Session numbers per export part, and sessions per read of a part. Small parts keep each part's text
 * (about 100 KB) out of V8's large-object space, which is only freed by full collections: with parts of
 * 500 sessions the export's peak RSS was about 60 MB higher (bench/README.md).
 */
const EXPORT_PART_SIZE = 50;

/** The training-side use-cases: release batches, read them back, export them. */
export class BatchService {
  constructor(
    private readonly store: ClickstreamStore,
    private readonly rules: BatchRules,
    private readonly clock: Clock,
    private readonly observer: UseCaseObserver = NO_OBSERVER,
  ) {}

  /** Releases the collecting batch; retries with the same `releaseId` return the same batch. */
  async release(releaseId: string): Promise<ReleaseResponse> {
    const problems = this.releaseProblems({ release_id: releaseId });
    if (problems.length > 0) throw validationFailed(problems);
    const started = performance.now();
    const batch = await this.store.releaseBatch(releaseId, this.clock(), this.rules.lateEventGraceSeconds);
    this.observer.batchReleased((performance.now() - started) / 1000);
    if (batch.release_id === null || batch.released_at === null || batch.sealed_at === null) {
      throw new Error(`store returned batch ${batch.batch_id} as released without its release fields`);
    }
    return {
      batch_id: batch.batch_id,
      release_id: batch.release_id,
      released_at: batch.released_at,
      sealed_at: batch.sealed_at,
      session_count: batch.session_count,
    };
  }

  /** The rules of a release body beyond its shape, on any value. */
  readonly releaseProblems = (body: unknown): FieldError[] => idFieldProblems(body, 'release_id', this.rules.limits);

  /** One batch as people read it: `fine_tuning` while a worker trains from it. */
  async getBatch(batchId: string): Promise<Batch> {
    const [batch] = await this.withStatuses([await this.storedBatch(batchId)]);
    if (!batch) return batchNotFound(batchId);
    return batch;
  }

  async listBatches(limit: number = PAGE_LIMITS.defaultSessions): Promise<Batch[]> {
    return this.withStatuses(await this.store.listBatches(limit));
  }

  /**
   * The collecting batch: the newest (a release starts the next batch in its own transaction, so the
   * newest batch is always the one collecting). Null only for a store that was never opened properly.
   */
  async collectingBatch(): Promise<BatchRecord | null> {
    const [newest] = await this.store.listBatches(1);
    return newest !== undefined && newest.released_at === null ? newest : null;
  }

  /** One batch with the status its timestamps give (never fine_tuning): what rules decide on. */
  async batchLifecycle(batchId: string): Promise<BatchRecord & { status: BatchLifecycle }> {
    const batch = await this.storedBatch(batchId);
    return { ...batch, status: batchStatus(batch, this.clock()) };
  }

  private async storedBatch(batchId: string): Promise<BatchRecord> {
    return (await this.store.getBatch(batchId)) ?? batchNotFound(batchId);
  }

  private async withStatuses(batches: readonly BatchRecord[]): Promise<Batch[]> {
    const now = this.clock();
    const released = batches.filter((batch) => batch.released_at !== null).map((batch) => batch.batch_id);
    const training = released.length > 0 ? await this.store.tasks.batchesInTraining(released, now) : new Set();
    return batches.map((batch) => withStatus(batch, now, training.has(batch.batch_id)));
  }

  /** One page of a batch's sessions, keyset-paginated by `session_number`. */
  async sessionsPage(
    batchId: string,
    afterNumber: number = 0,
    limit: number = PAGE_LIMITS.defaultSessions,
    eventsLimit: number = PAGE_LIMITS.defaultEventsPerSession,
  ): Promise<BatchSessionsPage> {
    const batch = await this.batchLifecycle(batchId);
    const sessions = await this.store.listBatchSessions(batchId, afterNumber, limit, eventsLimit);
    return {
      batch_id: batchId,
      sealed: batch.status === 'sealed',
      last_number: sessions.at(-1)?.session_number ?? null,
      sessions,
    };
  }

  /**
   * A batch's export cut into parts that can be read at the same time (by several threads) and written in
   * the order given: session numbers 1 ... session_count in runs of EXPORT_PART_SIZE, then a last part with
   * every session numbered after the count. Numbers may have gaps (PostgreSQL's do), so the last part can
   * hold sessions too, and it catches sessions of a batch that is still collecting.
   */
  async exportParts(batchId: string): Promise<ExportPart[]> {
    const { session_count: count } = await this.storedBatch(batchId);
    const parts: ExportPart[] = [];
    for (let after = 0; after < count; after += EXPORT_PART_SIZE) {
      parts.push({ after, through: Math.min(after + EXPORT_PART_SIZE, count) });
    }
    parts.push({ after: count, through: null });
    return parts;
  }

  /**
   * The sessions of one export part with all their events, in session_number order, in pages of up to
   * EXPORT_PART_SIZE (never an empty page): memory stays bounded by a page. A part up to a number is one
   * read: at most EXPORT_PART_SIZE sessions fit in its numbers; what the read returns past them is left
   * to the next part.
   */
  async *exportPart(batchId: string, part: ExportPart): AsyncGenerator<SessionWithEvents[]> {
    let after = part.after;
    for (;;) {
      const page = await this.store.listBatchSessions(batchId, after, EXPORT_PART_SIZE, null);
      const { through } = part;
      const kept = through === null ? page : page.filter((session) => session.session_number <= through);
      if (kept.length > 0) yield kept;
      const last = page.at(-1);
      if (through !== null || !last || page.length < EXPORT_PART_SIZE) return;
      after = last.session_number;
    }
  }
}

/** Sessions numbered after `after`, up to and including `through` (null: every one after). */
export interface ExportPart {
  readonly after: number;
  readonly through: number | null;
}

export function batchNotFound(batchId: string): never {
  throw new ClickstreamError('batch_not_found', `batch ${JSON.stringify(batchId)} does not exist`);
}
