/**
 * Batch analytics of the storage port (ClickstreamStore.stats), checked by the conformance suite: what the
 * stats service needs from the stored rows of one batch, aggregated by the backend (SQL, or one pass over
 * the batch's rows), and a place to save the figures of sealed batches, which never change.
 *
 * Counting rules, the same on every backend:
 * - A search is a session of the batch that is not flagged irrelevant; irrelevant sessions are only counted
 *   (`irrelevant`). Events of irrelevant sessions are left out of every figure.
 * - A click is an event of type `click`. A session is clicked when it has at least one click (on a shown
 *   result or not). Its top click position is the lowest position among its clicks on shown results.
 * - Hours are the UTC hour starts (seconds) of the sessions' and events' `created_at`.
 */
export interface StatsStore {
  /**
   * The aggregates of every session and event of the batch, or null for an unknown batch. Reads the whole
   * batch (O(sessions + events)): callers save the result of a sealed batch instead of asking again.
   */
  aggregateBatch(batchId: string): Promise<BatchAggregate | null>;

  /**
   * Whether a write reached the batch since the aggregate that gave `watermark` was read (an event of
   * one of its sessions, or an irrelevant flag). Cheap next to aggregateBatch: a sealed batch's figures are
   * those of an aggregate read before its seal when nothing changed since.
   */
  changedSince(batchId: string, watermark: string): Promise<boolean>;

  /** Figures saved under (batch, key) by `saveFigures`, or null. */
  savedFigures(batchId: string, key: string): Promise<string | null>;

  /**
   * Saves figures (JSON text) under (batch, key): a second save of the same key keeps the first, unless
   * `replace` (figures of a batch that may still change, saved to be checked with changedSince later).
   */
  saveFigures(batchId: string, key: string, figures: string, now: number, replace?: boolean): Promise<void>;
}

/** What a batch's rows add up to (see StatsStore for the counting rules). Lists are in no particular order. */
export interface BatchAggregate {
  /** Every session of the batch, irrelevant ones included. */
  readonly sessions: number;
  readonly irrelevant: number;
  readonly searches: number;
  /** Searches with at least one click. */
  readonly clicked: number;
  /** Searches that showed no result. */
  readonly zeroResults: number;
  /** Click events. */
  readonly clicks: number;
  /** Sum and count of the searches' top click positions (searches with a click on a shown result). */
  readonly topClickPositionSum: number;
  readonly topClickCount: number;
  /** How many searches showed how many results. */
  readonly resultCounts: readonly { readonly results: number; readonly searches: number }[];
  /** Per position, how many searches had a click on the result shown there. */
  readonly clickedPositions: readonly { readonly position: number; readonly searches: number }[];
  readonly eventsByType: readonly { readonly eventType: string; readonly count: number }[];
  /** Searches grouped by their stored query, as JSON text (`"shoes"`, `{"text":"shoes"}`). */
  readonly queries: readonly QueryAggregate[];
  readonly searchHours: readonly { readonly hour: number; readonly searches: number }[];
  readonly clickHours: readonly { readonly hour: number; readonly clicks: number }[];
  /** What the aggregate saw, for changedSince; opaque to callers. */
  readonly watermark: string;
}

export interface QueryAggregate {
  /** The stored query as JSON text; equal queries give equal texts on every backend. */
  readonly query: string;
  readonly searches: number;
  readonly clicked: number;
  readonly zeroResults: number;
}
