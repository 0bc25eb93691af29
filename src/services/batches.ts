import { withStatus } from '../domain/batch.js';
import { ClickstreamError, type FieldError, validationFailed } from '../domain/errors.js';
import type { Limits } from '../domain/limits.js';
import { PAGE_LIMITS } from '../domain/limits.js';
import type { Clock } from '../domain/time.js';
import { idFieldProblems } from '../domain/validation.js';
import type { Batch, BatchSessionsPage, ReleaseResponse, SessionWithEvents } from '../schemas/records.js';
import type { ClickstreamStore } from '../storage/store.js';

export interface BatchRules {
  readonly limits: Limits;
  readonly lateEventGraceSeconds: number;
}

/** Sessions per page when a whole batch is streamed (export). */
const EXPORT_PAGE_SIZE = 500;

/** The training-side use-cases: release batches, read them back, export them. */
export class BatchService {
  constructor(
    private readonly store: ClickstreamStore,
    private readonly rules: BatchRules,
    private readonly clock: Clock,
  ) {}

  /** Releases the collecting batch; retries with the same `releaseId` return the same batch. */
  async release(releaseId: string): Promise<ReleaseResponse> {
    const problems = this.releaseProblems({ release_id: releaseId });
    if (problems.length > 0) throw validationFailed(problems);
    const batch = await this.store.releaseBatch(releaseId, this.clock(), this.rules.lateEventGraceSeconds);
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

  async getBatch(batchId: string): Promise<Batch> {
    const batch = await this.store.getBatch(batchId);
    if (!batch) throw batchNotFound(batchId);
    return withStatus(batch, this.clock());
  }

  async listBatches(limit: number = PAGE_LIMITS.defaultSessions): Promise<Batch[]> {
    const now = this.clock();
    return (await this.store.listBatches(limit)).map((batch) => withStatus(batch, now));
  }

  /** One page of a batch's sessions, keyset-paginated by `session_number`. */
  async sessionsPage(
    batchId: string,
    afterNumber: number = 0,
    limit: number = PAGE_LIMITS.defaultSessions,
    eventsLimit: number = PAGE_LIMITS.defaultEventsPerSession,
  ): Promise<BatchSessionsPage> {
    const batch = await this.getBatch(batchId);
    const sessions = await this.store.listBatchSessions(batchId, afterNumber, limit, eventsLimit);
    return {
      batch_id: batchId,
      sealed: batch.status === 'sealed',
      last_number: sessions.at(-1)?.session_number ?? null,
      sessions,
    };
  }

  /**
   * Every session of a batch with all its events, in pages of up to EXPORT_PAGE_SIZE sessions (never an
   * empty page): memory stays bounded by two pages, and a consumer can write a page at once. The next page
   * is requested before this one is handed over, so a database server reads it while the consumer writes.
   */
  async *exportBatch(batchId: string): AsyncGenerator<SessionWithEvents[]> {
    await this.getBatch(batchId);
    const fetchAfter = (after: number) => this.store.listBatchSessions(batchId, after, EXPORT_PAGE_SIZE, null);
    let next: Promise<SessionWithEvents[]> | null = fetchAfter(0);
    try {
      while (next) {
        const page: SessionWithEvents[] = await next;
        const last = page.at(-1);
        next = last && page.length === EXPORT_PAGE_SIZE ? fetchAfter(last.session_number) : null;
        if (page.length > 0) yield page;
      }
    } finally {
      // A consumer that stops early leaves a request in flight; its failure has no one to tell.
      next?.catch(() => undefined);
    }
  }
}

export function batchNotFound(batchId: string): ClickstreamError {
  return new ClickstreamError('batch_not_found', `batch ${JSON.stringify(batchId)} does not exist`);
}
