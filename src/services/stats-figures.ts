/**
 * A batch's figures, as the stats routes answer them, from the store's BatchAggregate: rates, the
 * click-through rate by position, and the query tables, with the query text taken as the training data
 * takes it (the string query, or the text at the query field of a structured one). Pure: no I/O.
 */
import type { BatchAggregate } from '../storage/stats-store.js';
import type { QueryStats, QueryKind } from '../schemas/stats.js';
import { queryText } from './training-input.js';

/** Positions in the click-through chart: 0 to 49 at most (a page or two of results). */
export const STATS_POSITIONS = 50;
/** Queries kept per table; `total` still counts them all. */
export const QUERY_TABLE_CAP = 1000;
/** Queries of each table in the batch answer. */
export const QUERIES_IN_SUMMARY = 10;

export interface Figures {
  readonly sessions: number;
  readonly irrelevant_sessions: number;
  readonly searches: number;
  readonly clicked_searches: number;
  readonly click_through_rate: number | null;
  readonly no_click_rate: number | null;
  readonly zero_result_searches: number;
  readonly zero_result_rate: number | null;
  readonly clicks: number;
  readonly average_first_click_position: number | null;
  readonly searches_without_query_text: number;
  readonly positions: { position: number; shown: number; clicks: number; click_through_rate: number | null }[];
  readonly events_by_type: { event_type: string; count: number }[];
  readonly searches_per_hour: { hour: number; searches: number; clicks: number }[];
}

/** A batch's figures with its query tables (each capped at QUERY_TABLE_CAP) and their full sizes. */
export interface BatchFigures {
  readonly figures: Figures;
  readonly tables: Record<QueryKind, QueryStats[]>;
  readonly totals: Record<QueryKind, number>;
}

const rate = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

export function batchFigures(aggregate: BatchAggregate, queryField: string | null): BatchFigures {
  const { queries, withoutText } = queriesByText(aggregate, queryField);
  const byCount = (a: QueryStats, b: QueryStats, key: 'searches' | 'zero_result_searches'): number =>
    b[key] - a[key] || (a.query < b.query ? -1 : a.query > b.query ? 1 : 0);
  const top = [...queries].sort((a, b) => byCount(a, b, 'searches'));
  const noClick = top.filter((q) => q.clicked_searches === 0);
  const noResult = queries
    .filter((q) => q.zero_result_searches > 0)
    .sort((a, b) => byCount(a, b, 'zero_result_searches'));
  return {
    figures: {
      sessions: aggregate.sessions,
      irrelevant_sessions: aggregate.irrelevant,
      searches: aggregate.searches,
      clicked_searches: aggregate.clicked,
      click_through_rate: rate(aggregate.clicked, aggregate.searches),
      no_click_rate: rate(aggregate.searches - aggregate.clicked, aggregate.searches),
      zero_result_searches: aggregate.zeroResults,
      zero_result_rate: rate(aggregate.zeroResults, aggregate.searches),
      clicks: aggregate.clicks,
      average_first_click_position: rate(aggregate.topClickPositionSum, aggregate.topClickCount),
      searches_without_query_text: withoutText,
      positions: positions(aggregate),
      events_by_type: [...aggregate.eventsByType]
        .sort((a, b) => b.count - a.count || (a.eventType < b.eventType ? -1 : 1))
        .map((e) => ({ event_type: e.eventType, count: e.count })),
      searches_per_hour: hours(aggregate),
    },
    tables: {
      top: top.slice(0, QUERY_TABLE_CAP),
      no_click: noClick.slice(0, QUERY_TABLE_CAP),
      no_result: noResult.slice(0, QUERY_TABLE_CAP),
    },
    totals: { top: top.length, no_click: noClick.length, no_result: noResult.length },
  };
}

/** Stored queries grouped by their text; queries without text are counted apart. */
function queriesByText(
  aggregate: BatchAggregate,
  queryField: string | null,
): { queries: QueryStats[]; withoutText: number } {
  const byText = new Map<string, { searches: number; clicked: number; zero: number }>();
  let withoutText = 0;
  for (const group of aggregate.queries) {
    const text = queryText(JSON.parse(group.query) as Parameters<typeof queryText>[0], queryField);
    if (text === null) {
      withoutText += group.searches;
      continue;
    }
    const entry = byText.get(text) ?? { searches: 0, clicked: 0, zero: 0 };
    entry.searches += group.searches;
    entry.clicked += group.clicked;
    entry.zero += group.zeroResults;
    byText.set(text, entry);
  }
  const queries = [...byText].map(([query, e]) => ({
    query,
    searches: e.searches,
    clicked_searches: e.clicked,
    click_through_rate: rate(e.clicked, e.searches),
    zero_result_searches: e.zero,
  }));
  return { queries, withoutText };
}

/** Positions 0 to the last one shown (at most STATS_POSITIONS): searches that showed it, and clicked it. */
function positions(aggregate: BatchAggregate): Figures['positions'] {
  const longest = Math.min(STATS_POSITIONS, Math.max(0, ...aggregate.resultCounts.map((r) => r.results)));
  const shown = new Array<number>(longest).fill(0);
  for (const { results, searches } of aggregate.resultCounts) {
    for (let p = 0; p < Math.min(results, longest); p++) shown[p] = (shown[p] ?? 0) + searches;
  }
  const clicks = new Map(aggregate.clickedPositions.map((c) => [c.position, c.searches]));
  return shown.map((count, position) => {
    const clicked = clicks.get(position) ?? 0;
    return { position, shown: count, clicks: clicked, click_through_rate: rate(clicked, count) };
  });
}

function hours(aggregate: BatchAggregate): Figures['searches_per_hour'] {
  const byHour = new Map<number, { searches: number; clicks: number }>();
  const at = (hour: number) => {
    const entry = byHour.get(hour) ?? { searches: 0, clicks: 0 };
    byHour.set(hour, entry);
    return entry;
  };
  for (const h of aggregate.searchHours) at(h.hour).searches += h.searches;
  for (const h of aggregate.clickHours) at(h.hour).clicks += h.clicks;
  return [...byHour].sort(([a], [b]) => a - b).map(([hour, e]) => ({ hour, ...e }));
}
