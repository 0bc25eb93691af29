/**
 * One pass over a batch's rows into its BatchAggregate, by the counting rules of stats-store.ts: for a
 * backend that reads the rows itself (SQLite) instead of aggregating in SQL. Sessions come first, each by a
 * small integer index (the offset of its arrival number in the batch's range), then the events, each by
 * the index of its session; per-session state is kept in typed arrays, a few bytes per session.
 */
import type { BatchAggregate, QueryAggregate } from './stats-store.js';

const HOUR = 3600;

export class BatchAccumulator {
  private readonly known: Uint8Array;
  private readonly irrelevantFlags: Uint8Array;
  private readonly clickedFlags: Uint8Array;
  private readonly topPosition: Int32Array;
  private readonly queryOf: Int32Array;
  private readonly zeroFlags: Uint8Array;
  private readonly queries: { query: string; searches: number; clicked: number; zeroResults: number }[] = [];
  private readonly queryIndex = new Map<string, number>();
  private readonly resultCounts = new Map<number, number>();
  private readonly clickedPositions = new Map<number, number>();
  private readonly eventTypes = new Map<string, number>();
  private readonly searchHours = new Map<number, number>();
  private readonly clickHours = new Map<number, number>();
  // Positions clicked in the current session, to count each once per session (events come by session).
  private lastClickSession = -1;
  private readonly positionsOfLast = new Set<number>();
  private sessions = 0;
  private irrelevant = 0;
  private clicks = 0;

  /** `size`: one more than the largest session index that will be given. */
  constructor(size: number) {
    this.known = new Uint8Array(size);
    this.irrelevantFlags = new Uint8Array(size);
    this.clickedFlags = new Uint8Array(size);
    this.topPosition = new Int32Array(size).fill(-1);
    this.queryOf = new Int32Array(size);
    this.zeroFlags = new Uint8Array(size);
  }

  session(index: number, queryJson: string, resultCount: number, isIrrelevant: boolean, createdAt: number): void {
    this.known[index] = 1;
    this.sessions++;
    if (isIrrelevant) {
      this.irrelevantFlags[index] = 1;
      this.irrelevant++;
      return;
    }
    let q = this.queryIndex.get(queryJson);
    if (q === undefined) {
      q = this.queries.length;
      this.queries.push({ query: queryJson, searches: 0, clicked: 0, zeroResults: 0 });
      this.queryIndex.set(queryJson, q);
    }
    this.queryOf[index] = q;
    const group = this.queries[q];
    if (group) {
      group.searches++;
      if (resultCount === 0) group.zeroResults++;
    }
    if (resultCount === 0) this.zeroFlags[index] = 1;
    increment(this.resultCounts, resultCount, 1);
    increment(this.searchHours, hourOf(createdAt), 1);
  }

  /** Events of one session must come together (in any order among themselves). */
  event(index: number, eventType: string, position: number | null, createdAt: number): void {
    if (this.known[index] !== 1 || this.irrelevantFlags[index] === 1) return;
    increment(this.eventTypes, eventType, 1);
    if (eventType !== 'click') return;
    this.clicks++;
    increment(this.clickHours, hourOf(createdAt), 1);
    if (this.clickedFlags[index] === 0) {
      this.clickedFlags[index] = 1;
      const group = this.queries[this.queryOf[index] ?? 0];
      if (group) group.clicked++;
    }
    if (position === null) return;
    if (this.lastClickSession !== index) {
      this.lastClickSession = index;
      this.positionsOfLast.clear();
    }
    if (!this.positionsOfLast.has(position)) {
      this.positionsOfLast.add(position);
      increment(this.clickedPositions, position, 1);
    }
    const top = this.topPosition[index] ?? -1;
    if (top === -1 || position < top) this.topPosition[index] = position;
  }

  result(): Omit<BatchAggregate, 'watermark'> {
    let clicked = 0;
    let topClickPositionSum = 0;
    let topClickCount = 0;
    let zeroResults = 0;
    for (let i = 0; i < this.known.length; i++) {
      if (this.known[i] !== 1 || this.irrelevantFlags[i] === 1) continue;
      if (this.clickedFlags[i] === 1) clicked++;
      if (this.zeroFlags[i] === 1) zeroResults++;
      const top = this.topPosition[i] ?? -1;
      if (top >= 0) {
        topClickPositionSum += top;
        topClickCount++;
      }
    }
    const queries: QueryAggregate[] = this.queries;
    return {
      sessions: this.sessions,
      irrelevant: this.irrelevant,
      searches: this.sessions - this.irrelevant,
      clicked,
      zeroResults,
      clicks: this.clicks,
      topClickPositionSum,
      topClickCount,
      resultCounts: [...this.resultCounts].map(([results, searches]) => ({ results, searches })),
      clickedPositions: [...this.clickedPositions].map(([position, searches]) => ({ position, searches })),
      eventsByType: [...this.eventTypes].map(([eventType, count]) => ({ eventType, count })),
      queries,
      searchHours: [...this.searchHours].map(([hour, searches]) => ({ hour, searches })),
      clickHours: [...this.clickHours].map(([hour, clicks]) => ({ hour, clicks })),
    };
  }
}

const hourOf = (seconds: number): number => Math.floor(seconds / HOUR) * HOUR;

function increment<K>(map: Map<K, number>, key: K, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}
