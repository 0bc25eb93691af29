/**
 * Batch analytics (the stats routes). A sealed batch never changes, so its figures are saved in the store
 * once, SETTLE_SECONDS after its seal (a write accepted just before the seal may still be on its way to the
 * store until then). They are computed ahead: a release schedules the released batch's aggregation shortly
 * before its seal (prepare), and after the seal those figures stand when no write reached the batch since
 * (StatsStore.changedSince, far cheaper than aggregating again). A collecting or released batch is
 * aggregated again when asked, at most every LIVE_SECONDS (longer for a batch that takes long to
 * aggregate); one aggregation per batch runs at a time, shared by the calls that come meanwhile, so a
 * dashboard that refreshes cannot keep the store scanning. The timeline adds up the figures of the batches
 * whose sessions can have been created in its range; those of sealed batches not computed yet are computed
 * in the background, one at a time, and named in the answer until they are in.
 */
import { batchStatus, type BatchLifecycle, type BatchRecord } from '../domain/batch.js';
import { validationFailed } from '../domain/errors.js';
import type { Clock } from '../domain/time.js';
import {
  MAX_TIMELINE_SECONDS,
  type BatchStats,
  type QueriesPage,
  type QueryKind,
  type Timeline,
} from '../schemas/stats.js';
import type { ClickstreamStore } from '../storage/store.js';
import { batchNotFound } from './batches.js';
import { batchFigures, QUERIES_IN_SUMMARY, type BatchFigures } from './stats-figures.js';

/** How long the figures of a batch that can still change are reused. */
const LIVE_SECONDS = 5;
/** Live figures that took t seconds to aggregate are reused for this many times t (10 % of the store's time). */
const LIVE_COST_FACTOR = 10;
/** The longest live figures are reused, however long they took. */
const LIVE_MAX_SECONDS = 300;
/**
 * How long after its seal a batch's figures become final: longer than a write accepted before the seal can
 * take to commit (a pool connection's wait, the statement timeout) plus the clock skew between processes.
 */
export const SETTLE_SECONDS = 60;
const HOUR = 3600;
/** How long before its seal a released batch's figures are computed ahead (prepare). */
const PREPARE_LEAD_SECONDS = 60;
/** setTimeout's longest delay; a longer wait is made of several. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Batches read for a timeline, newest first: 31 days of a release every 5 minutes. */
const TIMELINE_BATCHES = 10_000;

export interface StatsRules {
  readonly queryField: string | null;
  /** How far created_at may lie before and after the registration (the accepted time window). */
  readonly timeWindowPastSeconds: number;
  readonly timeWindowFutureSeconds: number;
}

interface Computed {
  readonly computedAt: number;
  readonly figures: BatchFigures;
}

/** Figures of a released batch, with what they saw (StatsStore.changedSince). */
interface Provisional extends Computed {
  readonly watermark: string;
}

interface Pending {
  readonly at: number;
  readonly status: BatchLifecycle;
  readonly final: boolean;
  running: boolean;
  /** How long its figures are reused (live ones; longer for a batch that took long to aggregate). */
  reuseSeconds: number;
  computed: Promise<Computed>;
}

export class StatsService {
  private readonly pending = new Map<string, Pending>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Sealed batches whose final figures the timeline asked for, computed one after the other. */
  private readonly backlog = new Map<string, BatchRecord>();
  private backlogRunning = false;
  private closed = false;

  constructor(
    private readonly store: ClickstreamStore,
    private readonly rules: StatsRules,
    private readonly clock: Clock,
  ) {}

  async batch(batchId: string): Promise<BatchStats> {
    const batch = (await this.store.getBatch(batchId)) ?? batchNotFound(batchId);
    const { computedAt, figures } = await this.figuresOf(batch);
    const { tables, totals } = figures;
    const now = this.clock();
    return {
      batch_id: batch.batch_id,
      status: batchStatus(batch, now),
      computed_at: computedAt,
      final: this.isFinal(batch, now),
      query_field: this.rules.queryField,
      ...figures.figures,
      top_queries: tables.top.slice(0, QUERIES_IN_SUMMARY),
      no_click_queries: tables.no_click.slice(0, QUERIES_IN_SUMMARY),
      no_result_queries: tables.no_result.slice(0, QUERIES_IN_SUMMARY),
      query_totals: totals,
    };
  }

  async queries(batchId: string, kind: QueryKind, limit: number, offset: number): Promise<QueriesPage> {
    const batch = (await this.store.getBatch(batchId)) ?? batchNotFound(batchId);
    const { figures } = await this.figuresOf(batch);
    return {
      batch_id: batchId,
      kind,
      offset,
      limit,
      total: figures.totals[kind],
      queries: figures.tables[kind].slice(offset, offset + limit),
    };
  }

  /** Searches and clicks per hour from `from` (rounded down to its hour) to `to` (exclusive). */
  async timeline(from: number, to: number): Promise<Timeline> {
    if (to <= from || to - from > MAX_TIMELINE_SECONDS) {
      throw validationFailed([
        { path: 'to', message: `must be after from and at most ${MAX_TIMELINE_SECONDS} seconds (31 days) after it` },
      ]);
    }
    const start = Math.floor(from / HOUR) * HOUR;
    const hours = new Map<number, { searches: number; clicks: number }>();
    for (let hour = start; hour < to; hour += HOUR) hours.set(hour, { searches: 0, clicks: 0 });
    const now = this.clock();
    // A session's created_at lies within the time window around its registration, and its batch collected
    // it between the batch's creation and release; its clicks come before the seal.
    const batches = (await this.store.listBatches(TIMELINE_BATCHES)).filter(
      (b) =>
        b.created_at - this.rules.timeWindowPastSeconds < to &&
        (b.sealed_at ?? now) + this.rules.timeWindowFutureSeconds >= start,
    );
    const incomplete: string[] = [];
    for (const batch of batches) {
      const computed = await this.timelineFigures(batch, now);
      if (!computed) {
        incomplete.push(batch.batch_id);
        continue;
      }
      for (const h of computed.figures.figures.searches_per_hour) {
        const entry = hours.get(h.hour);
        if (!entry) continue;
        entry.searches += h.searches;
        entry.clicks += h.clicks;
      }
    }
    return {
      from: start,
      to,
      hours: [...hours].map(([hour, e]) => ({ hour, ...e })),
      incomplete_batches: incomplete,
    };
  }

  /**
   * Computes a released batch's figures in the background PREPARE_LEAD_SECONDS before its seal (late events
   * have mostly come by then), so that at its seal they are ready and only checked. A failure only costs
   * time: the first call after the seal computes them.
   */
  prepare(batchId: string, sealedAt: number): void {
    if (this.closed) return;
    const delayMs = Math.max(0, sealedAt - PREPARE_LEAD_SECONDS - this.clock()) * 1000;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (delayMs > MAX_TIMER_MS) {
          this.prepare(batchId, sealedAt);
          return;
        }
        void (async () => {
          const batch = await this.store.getBatch(batchId);
          if (batch && !this.closed) await this.figuresOf(batch);
        })().catch(() => undefined);
      },
      Math.min(delayMs, MAX_TIMER_MS),
    );
    timer.unref();
    this.timers.add(timer);
  }

  /** Cancels the computations prepare() scheduled and the timeline's backlog. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.backlog.clear();
  }

  private isFinal(batch: BatchRecord, now: number): boolean {
    return batch.sealed_at !== null && now >= batch.sealed_at + SETTLE_SECONDS;
  }

  /**
   * A batch's figures for the timeline: final ones when saved, else queued for the backlog (null), so that a
   * range of many batches never computed does not aggregate them all in one request; live ones otherwise.
   */
  private async timelineFigures(batch: BatchRecord, now: number): Promise<Computed | null> {
    if (!this.isFinal(batch, now)) return this.figuresOf(batch);
    const saved = await this.finalFigures(batch.batch_id);
    if (saved) return saved;
    this.backlog.set(batch.batch_id, batch);
    this.drainBacklog();
    return null;
  }

  private drainBacklog(): void {
    if (this.backlogRunning || this.closed) return;
    const [next] = this.backlog.values();
    if (!next) return;
    this.backlogRunning = true;
    this.figuresOf(next)
      .catch(() => undefined)
      .finally(() => {
        this.backlog.delete(next.batch_id);
        this.backlogRunning = false;
        this.drainBacklog();
      });
  }

  private figuresOf(batch: BatchRecord): Promise<Computed> {
    const now = this.clock();
    const status = batchStatus(batch, now);
    const sealed = status === 'sealed';
    const final = this.isFinal(batch, now);
    const cached = this.pending.get(batch.batch_id);
    // One computation at a time per batch, shared by the calls that come meanwhile; live figures a while,
    // while the batch is as it was (figures of a collecting batch are not kept to be checked at the seal).
    const reusable =
      cached && !final && !cached.final && cached.status === status && now - cached.at < cached.reuseSeconds;
    if (cached && (cached.running || reusable)) return cached.computed;
    const started = performance.now();
    const work = sealed ? this.sealedFigures(batch, now, final) : this.liveFigures(batch, now);
    const entry: Pending = { at: now, status, final, running: true, reuseSeconds: LIVE_SECONDS, computed: work };
    entry.computed = work.then(
      (computed) => {
        entry.running = false;
        // A batch that takes long to aggregate is aggregated less often: a share of the store's time at most.
        const took = (performance.now() - started) / 1000;
        entry.reuseSeconds = Math.min(LIVE_MAX_SECONDS, Math.max(LIVE_SECONDS, LIVE_COST_FACTOR * took));
        return computed;
      },
      (error: unknown) => {
        this.pending.delete(batch.batch_id);
        throw error;
      },
    );
    this.forgetOld(now);
    this.pending.set(batch.batch_id, entry);
    return entry.computed;
  }

  /**
   * A sealed batch's figures: saved ones once final; else those computed before when no write reached the
   * batch since (the store's watermark); else aggregated now (and kept to be checked in turn). Saved once
   * final, never before.
   */
  private async sealedFigures(batch: BatchRecord, now: number, final: boolean): Promise<Computed> {
    const saved = final ? await this.finalFigures(batch.batch_id) : null;
    if (saved) return saved;
    const early = await this.store.stats.savedFigures(batch.batch_id, this.provisionalKey);
    let computed: Computed | null = null;
    if (early !== null) {
      const { watermark, ...figures } = JSON.parse(early) as Provisional;
      if (await this.unchangedSince(batch.batch_id, watermark)) computed = figures;
    }
    computed ??= await this.liveFigures(batch, now);
    if (final) await this.store.stats.saveFigures(batch.batch_id, this.key, JSON.stringify(computed), now);
    return computed;
  }

  /** The figures saved for good, or null. */
  private async finalFigures(batchId: string): Promise<Computed | null> {
    const saved = await this.store.stats.savedFigures(batchId, this.key);
    return saved === null ? null : (JSON.parse(saved) as Computed);
  }

  /** False also when the check fails: the figures are then aggregated again, never served unchecked. */
  private async unchangedSince(batchId: string, watermark: string): Promise<boolean> {
    try {
      return !(await this.store.stats.changedSince(batchId, watermark));
    } catch {
      return false;
    }
  }

  /** Figures of a batch that may still change; a released batch's are kept to be checked later. */
  private async liveFigures(batch: BatchRecord, now: number): Promise<Computed> {
    const { computed, watermark } = await this.compute(batch.batch_id, now);
    if (batch.released_at !== null) {
      const provisional: Provisional = { ...computed, watermark };
      await this.store.stats.saveFigures(batch.batch_id, this.provisionalKey, JSON.stringify(provisional), now, true);
    }
    return computed;
  }

  private async compute(batchId: string, now: number): Promise<{ computed: Computed; watermark: string }> {
    const aggregate = (await this.store.stats.aggregateBatch(batchId)) ?? batchNotFound(batchId);
    return {
      computed: { computedAt: now, figures: batchFigures(aggregate, this.rules.queryField) },
      watermark: aggregate.watermark,
    };
  }

  private get key(): string {
    return this.rules.queryField ?? '';
  }

  /** Where a released batch's last figures are kept until its seal, apart from the final ones. */
  private get provisionalKey(): string {
    return `provisional:${this.key}`;
  }

  private forgetOld(now: number): void {
    for (const [id, entry] of this.pending) {
      if (!entry.running && now - entry.at >= entry.reuseSeconds) this.pending.delete(id);
    }
  }
}
