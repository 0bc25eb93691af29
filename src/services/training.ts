/**
 * Training data from a released batch: its sessions stream through the read path (memory bounded by a
 * page of sessions, plus the counts of the aggregated methods), become click signals, and come out as
 * rows for a format writer, or as the position-bias curve. Models are fitted on the train part of a split
 * only: the test part's ratings use the train part's position model, so nothing of it was seen.
 */
import { ClickstreamError } from '../domain/errors.js';
import { biasWarnings, positionBias, round, type LearningWarning, type PositionBias } from '../learning/bias-report.js';
import { ClickCounts } from '../learning/click-counts.js';
import type { EventWeights } from '../learning/event-weights.js';
import { signalOf, type SessionSignal } from '../learning/observed-session.js';
import { DEFAULT_PBM_OPTIONS, fitPbm } from '../learning/pbm.js';
import { clicksRating, coecRating, pbmRating, positionCtr, skipAboveRating, type Rating } from '../learning/ratings.js';
import type { JudgmentRow, PairRow, Split, TrainingMethod } from '../learning/rows.js';
import { clickRows, skipAboveRows } from '../learning/session-pairs.js';
import { splitOf, type SplitRule } from '../learning/split.js';
import type { BatchRecord } from '../domain/batch.js';
import type { BatchService } from './batches.js';
import { observe, type SkipReason, type TextFields } from './training-input.js';

export interface SignalOptions {
  /** Positions from 0 to maxPosition - 1 are read; results below are ignored. */
  readonly maxPosition: number;
  readonly weights: EventWeights;
  readonly fields: TextFields;
}

export interface TrainingOptions extends SignalOptions {
  readonly method: TrainingMethod;
  /** pbm and coec: the lowest rating of a positive pair. */
  readonly minRating: number;
  readonly split: SplitRule | null;
}

/**
 * Sessions skipped (by reason), interactions with objects not shown, and interactions with results that
 * have no document text (at --document-field), which give no training row.
 */
export type SkippedCounts = Record<SkipReason | 'not_shown_interactions' | 'no_document', number>;

export interface BiasReport {
  readonly batch_id: string;
  readonly model: 'pbm';
  readonly sessions: number;
  readonly skipped: SkippedCounts;
  readonly propensities: PositionBias[];
  readonly iterations: number;
  readonly converged: boolean;
  readonly warnings: LearningWarning[];
}

export interface TrainingSummary {
  readonly batch_id: string;
  readonly method: TrainingMethod;
  readonly sessions: number;
  readonly skipped: SkippedCounts;
  readonly rows: Record<Split, number>;
  readonly warnings: LearningWarning[];
}

/** Called now and then while sessions are read: how many so far, of about how many in the batch. */
export type Progress = (read: number, total: number) => void;

/**
 * Where rows go: pairs (sentence-transformers, jsonl, parquet) or judgments. `warn` hears each warning as
 * soon as it is known, before the rows it concerns (an HTTP answer puts them in a header).
 */
export type TrainingOutput = (
  | { readonly kind: 'pairs'; write(row: PairRow): Promise<void> | void }
  | { readonly kind: 'judgments'; write(row: JudgmentRow): Promise<void> | void }
) & { readonly warn?: (warning: LearningWarning) => void };

export class TrainingService {
  /** `defaultQueryField`: the query field of requests that name none (CLICKSTREAM_QUERY_FIELD). */
  constructor(
    private readonly batches: BatchService,
    private readonly defaultQueryField: string | null = null,
  ) {}

  /** The batch as training data may be read from it: released (sealed or not), else batch_not_released. */
  async releasedBatch(batchId: string): Promise<{ batch: BatchRecord; warnings: LearningWarning[] }> {
    // By its timestamps: a batch that a task trains from (fine_tuning) is released or sealed all the same.
    const batch = await this.batches.batchLifecycle(batchId);
    if (batch.status === 'collecting') {
      throw new ClickstreamError(
        'batch_not_released',
        `batch ${JSON.stringify(batchId)} is still collecting: training data is computed from released batches only; release it first`,
      );
    }
    const warnings: LearningWarning[] =
      batch.status === 'sealed' || batch.sealed_at === null
        ? []
        : [
            {
              code: 'not_sealed',
              message: `the batch is released but not sealed: late events are accepted until ${new Date(batch.sealed_at * 1000).toISOString()}, so a rerun may differ`,
              sealed_at: batch.sealed_at,
            },
          ];
    return { batch, warnings };
  }

  async bias(batchId: string, options: SignalOptions): Promise<BiasReport> {
    const { warnings } = await this.releasedBatch(batchId);
    const counts = new ClickCounts();
    const skipped = noneSkipped();
    for await (const signal of this.signals(batchId, options, skipped)) counts.add(signal);
    const fit = fitPbm(counts);
    return {
      batch_id: batchId,
      model: 'pbm',
      sessions: counts.sessions,
      skipped,
      propensities: positionBias(counts, fit),
      iterations: fit.iterations,
      converged: fit.converged,
      warnings: [...warnings, ...biasWarnings(counts, fit)],
    };
  }

  /** Streams the batch's training data into `output`, in an order that depends only on the batch. */
  async write(
    batchId: string,
    options: TrainingOptions,
    output: TrainingOutput,
    progress?: Progress,
  ): Promise<TrainingSummary> {
    const { batch, warnings } = await this.releasedBatch(batchId);
    for (const warning of warnings) output.warn?.(warning);
    const skipped = noneSkipped();
    const rows: Record<Split, number> = { train: 0, test: 0 };
    const counts = { train: new ClickCounts(), test: new ClickCounts() };
    const perSession = output.kind === 'pairs' && (options.method === 'clicks' || options.method === 'skip-above');
    let sessions = 0;
    for await (const signal of this.signals(batchId, options, skipped)) {
      sessions++;
      if (progress && sessions % PROGRESS_EVERY === 0) progress(sessions, batch.session_count);
      const split = splitFor(signal, options.split);
      if (perSession) {
        const made = options.method === 'clicks' ? clickRows(signal, split) : skipAboveRows(signal, split);
        for (const row of made) await output.write(row);
        rows[split ?? 'train'] += made.length;
      } else {
        counts[split ?? 'train'].add(signal);
      }
    }
    if (!perSession) {
      if (options.split && counts.train.sessions === 0 && counts.test.sessions > 0) {
        const empty: LearningWarning = {
          code: 'empty_train_part',
          message:
            'every session fell in the test part: there is no train part to fit the position model on, so the ratings say nothing; use a smaller --test-fraction',
        };
        warnings.push(empty);
        output.warn?.(empty);
      }
      const { ratings, fitWarnings } = ratingsOf(options.method, counts.train, counts.test);
      warnings.push(...fitWarnings);
      for (const warning of fitWarnings) output.warn?.(warning);
      for (const split of ['train', 'test'] as const) {
        const part = options.split ? split : null;
        rows[split] += await writeAggregated(output, options, counts[split], ratings[split], part);
      }
    }
    return { batch_id: batchId, method: options.method, sessions, skipped, rows, warnings };
  }

  private async *signals(
    batchId: string,
    options: SignalOptions,
    skipped: SkippedCounts,
  ): AsyncGenerator<SessionSignal> {
    const fields = { ...options.fields, queryField: options.fields.queryField ?? this.defaultQueryField };
    for (const part of await this.batches.exportParts(batchId)) {
      for await (const page of this.batches.exportPart(batchId, part)) {
        for (const stored of page) {
          const observed = observe(stored, fields);
          if (typeof observed === 'string') {
            skipped[observed]++;
            continue;
          }
          const signal = signalOf(observed, options.weights, options.maxPosition);
          skipped.not_shown_interactions += signal.notShown;
          signal.weights.forEach((weight, position) => {
            if (weight > 0 && observed.results[position]?.document === null) skipped.no_document++;
          });
          yield signal;
        }
      }
    }
  }
}

const PROGRESS_EVERY = 1000;

function noneSkipped(): SkippedCounts {
  return { irrelevant: 0, structured_query: 0, empty_query: 0, not_shown_interactions: 0, no_document: 0 };
}

function splitFor(signal: SessionSignal, rule: SplitRule | null): Split | null {
  if (!rule) return null;
  return splitOf(rule.by === 'query' ? signal.session.query : signal.session.sessionId, rule.testFraction);
}

/** Each part's rating; the position model (pbm's propensities, coec's CTR per position) is the train part's. */
function ratingsOf(
  method: TrainingMethod,
  train: ClickCounts,
  test: ClickCounts,
): { ratings: Record<Split, Rating>; fitWarnings: LearningWarning[] } {
  switch (method) {
    case 'clicks':
      return { ratings: { train: clicksRating, test: clicksRating }, fitWarnings: [] };
    case 'skip-above':
      return { ratings: { train: skipAboveRating, test: skipAboveRating }, fitWarnings: [] };
    case 'coec': {
      const rating = coecRating(positionCtr(train.positions));
      return { ratings: { train: rating, test: rating }, fitWarnings: [] };
    }
    case 'pbm': {
      const fit = fitPbm(train);
      const testFit = fitPbm(test, { ...DEFAULT_PBM_OPTIONS, propensities: fit.propensities });
      return {
        ratings: { train: pbmRating(fit.attractiveness), test: pbmRating(testFit.attractiveness) },
        fitWarnings: biasWarnings(train, fit),
      };
    }
  }
}

/** Judgments, or pairs rated at least the minimum, in (query, object id) order; returns how many. */
async function writeAggregated(
  output: TrainingOutput,
  options: TrainingOptions,
  counts: ClickCounts,
  rating: Rating,
  split: Split | null,
): Promise<number> {
  let written = 0;
  for (const pair of counts.sortedPairs()) {
    const value = round(rating(pair));
    if (output.kind === 'judgments') {
      await output.write({
        query: pair.query,
        objectId: pair.objectId,
        rating: value,
        impressions: pair.impressions,
        clicks: pair.clicks,
        meanPosition: round(pair.positionSum / pair.impressions),
        split,
      });
      written++;
    } else if (value >= options.minRating && pair.document !== null) {
      await output.write({
        anchor: pair.query,
        positive: pair.document,
        negative: null,
        method: options.method,
        sessionId: null,
        objectId: pair.objectId,
        position: null,
        negativeObjectId: null,
        negativePosition: null,
        weight: null,
        rating: value,
        split,
      });
      written++;
    }
  }
  return written;
}
