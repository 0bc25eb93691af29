/**
 * The events debugger's use-cases: keep records of answered requests (built by http/debug-record.ts) in a
 * bounded buffer that is written to the store in batches, off the request path, and read them back a
 * page at a time. Recording never waits and never fails: a full buffer drops the record, a failed write
 * drops its batch; both are counted (and the failure logged), so that ingestion does not slow down
 * because the debugger is busy.
 */
import type { Clock } from '../domain/time.js';
import { DEBUG_PAGE_LIMITS, type DebugEventsPage, type DebugEventsQuery } from '../schemas/debug-events.js';
import type { DebugEventStore, NewDebugEvent } from '../storage/debug-event-store.js';

/** Why records were dropped (a label of the metrics: a closed set). */
export const DEBUG_DROP_REASONS = ['buffer_full', 'write_failed'] as const;
export type DebugDropReason = (typeof DEBUG_DROP_REASONS)[number];

export interface DebugEventOptions {
  /** Most rows kept in the store (CLICKSTREAM_DEBUG_EVENTS_MAX_ROWS). */
  readonly maxRows: number;
  /** Rows older than this many seconds are removed (CLICKSTREAM_DEBUG_EVENTS_MAX_AGE_SECONDS). */
  readonly maxAgeSeconds: number;
  /** Most records held in memory, waiting or being written; more are dropped. */
  readonly bufferSize?: number;
  /** How long a record waits for others before its batch is written. */
  readonly flushDelayMs?: number;
}

/** Where the service tells of what it could not keep; never given a record or a body. */
export interface DebugEventReporter {
  readonly warn: (details: object, message: string) => void;
  readonly dropped?: (count: number, reason: DebugDropReason) => void;
}

/** Records held at most (waiting and being written): one batch, 1,000 records of at most a few KiB. */
export const DEBUG_BUFFER_SIZE = 1000;
/**
 * The delay of a batch. Writes come at most this often, so the store's work is bounded however many
 * requests are rejected: at most DEBUG_BUFFER_SIZE records per delay (2,000 a second) are stored, the rest
 * dropped.
 */
export const DEBUG_FLUSH_DELAY_MS = 500;

export class DebugEventService {
  private readonly bufferSize: number;
  private readonly flushDelayMs: number;
  private waiting: NewDebugEvent[] = [];
  private inFlight = 0;
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private droppedCount = 0;

  constructor(
    private readonly store: DebugEventStore,
    private readonly options: DebugEventOptions,
    private readonly clock: Clock,
    private readonly reporter: DebugEventReporter,
  ) {
    this.bufferSize = options.bufferSize ?? DEBUG_BUFFER_SIZE;
    this.flushDelayMs = options.flushDelayMs ?? DEBUG_FLUSH_DELAY_MS;
  }

  /** Records dropped so far (buffer full, or their write failed). */
  get dropped(): number {
    return this.droppedCount;
  }

  /**
   * Takes a record to be written soon; returns at once. False when it was dropped: the buffer is full
   * (a write is slow or the requests come faster than writes take them) or the service is closed. The
   * record is built by `build` only when it is taken, so that a dropped one costs nothing more.
   */
  record(build: () => NewDebugEvent): boolean {
    if (this.closed || this.waiting.length + this.inFlight >= this.bufferSize) {
      this.drop(1, 'buffer_full');
      return false;
    }
    this.waiting.push(build());
    if (this.timer === null && this.writing === null) this.schedule();
    return true;
  }

  /**
   * Writes every record taken before the call (after the write in progress, if any), with the trim to
   * the caps, and resolves when that is done; never rejects (a failed write is counted and logged).
   */
  async flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.writing !== null) await this.writing;
    if (this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    this.inFlight = batch.length;
    this.writing = this.write(batch).finally(() => {
      this.writing = null;
      this.inFlight = 0;
      if (this.waiting.length > 0 && !this.closed) this.schedule();
    });
    await this.writing;
  }

  /** Writes what is buffered and takes no more records (the app's close). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  /** A page of records, newest first; `next_before` continues it. */
  async page(query: DebugEventsQuery): Promise<DebugEventsPage> {
    const limit = query.limit ?? DEBUG_PAGE_LIMITS.default;
    // One more than asked says whether an older page exists.
    const events = await this.store.list({
      ...(query.session_id !== undefined ? { sessionId: query.session_id } : {}),
      ...(query.code !== undefined ? { code: query.code } : {}),
      ...(query.before !== undefined ? { beforeSeq: query.before } : {}),
      // Trims run with appends only: once requests stop coming, old rows stay until the next one.
      minTime: this.clock() - this.options.maxAgeSeconds,
      limit: limit + 1,
    });
    const page = events.slice(0, limit);
    const last = page.at(-1);
    return { events: page, next_before: events.length > limit && last ? last.seq : null };
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.flushDelayMs);
    // A pending write does not keep the process alive; close() writes what is left.
    this.timer.unref();
  }

  private async write(batch: readonly NewDebugEvent[]): Promise<void> {
    try {
      await this.store.append(batch, {
        maxRows: this.options.maxRows,
        minTime: this.clock() - this.options.maxAgeSeconds,
      });
    } catch (error) {
      this.drop(batch.length, 'write_failed');
      // The error's kind only: a driver's message may quote values, and records hold bodies.
      const { name, code } = error as { name?: unknown; code?: unknown };
      this.reporter.warn(
        {
          records: batch.length,
          error: typeof name === 'string' ? name : 'Error',
          ...(typeof code === 'string' ? { code } : {}),
        },
        'events debugger records could not be stored and were dropped',
      );
    }
  }

  private drop(count: number, reason: DebugDropReason): void {
    this.droppedCount += count;
    this.reporter.dropped?.(count, reason);
  }
}
