/** The stats routes' query strings and answers (batch analytics for the dashboard and for scripts). */
import { Type, type Static } from 'typebox';
import { QueryId } from './payloads.js';

export const QUERY_KINDS = ['top', 'no_click', 'no_result'] as const;
export type QueryKind = (typeof QUERY_KINDS)[number];
const Kind = (options: { default?: QueryKind; description?: string } = {}) =>
  Type.Union([Type.Literal('top'), Type.Literal('no_click'), Type.Literal('no_result')], options);

/** Longest timeline, in seconds (31 days of hours). */
export const MAX_TIMELINE_SECONDS = 31 * 86400;

const Rate = (description: string) =>
  Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description: `${description}; null of none.` });
const Count = (description: string) => Type.Integer({ minimum: 0, description });
const Hour = Type.Integer({ description: 'Start of the UTC hour, in integer UTC seconds.' });

export const QueryStats = Type.Object({
  query: Type.String({ description: 'The query text.' }),
  searches: Count('Searches with this query.'),
  clicked_searches: Count('Of them, searches with at least one click.'),
  click_through_rate: Rate('clicked_searches / searches'),
  zero_result_searches: Count('Of them, searches that showed no result.'),
});
export type QueryStats = Static<typeof QueryStats>;

export const BatchStatsQuery = Type.Object(
  { batch_id: QueryId('The batch (collecting, released or sealed).') },
  { additionalProperties: false },
);
export type BatchStatsQuery = Static<typeof BatchStatsQuery>;

export const BatchStats = Type.Object({
  batch_id: Type.String(),
  status: Type.Union([Type.Literal('collecting'), Type.Literal('released'), Type.Literal('sealed')]),
  computed_at: Type.Integer({
    description: 'When these figures were computed (UTC seconds): once for a sealed batch, else a few seconds ago.',
  }),
  final: Type.Boolean({
    description:
      'The figures are saved for good: the batch sealed a minute ago or more (writes accepted before its seal have all landed).',
  }),
  query_field: Type.Union([Type.String(), Type.Null()], {
    description: 'The dot path of the query text in structured queries (CLICKSTREAM_QUERY_FIELD), or null.',
  }),
  sessions: Count('Sessions of the batch, irrelevant ones included.'),
  irrelevant_sessions: Count('Sessions flagged irrelevant: left out of every other figure.'),
  searches: Count('Sessions not flagged irrelevant.'),
  clicked_searches: Count('Searches with at least one click event.'),
  click_through_rate: Rate('clicked_searches / searches'),
  no_click_rate: Rate('Searches without a click / searches'),
  zero_result_searches: Count('Searches that showed no result.'),
  zero_result_rate: Rate('zero_result_searches / searches'),
  clicks: Count('Click events.'),
  average_first_click_position: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
    description:
      'Mean over clicked searches of the topmost clicked position (0-based; clicks on results not shown are left out); null without such clicks.',
  }),
  searches_without_query_text: Count(
    'Searches whose structured query has no text at the query field: counted, but in no query table.',
  ),
  positions: Type.Array(
    Type.Object({
      position: Type.Integer({ minimum: 0 }),
      shown: Count('Searches that showed a result at this position.'),
      clicks: Count('Of them, searches with a click on that result (once per search).'),
      click_through_rate: Rate('clicks / shown'),
    }),
    { description: 'Positions 0 to the last one shown, at most 50.' },
  ),
  events_by_type: Type.Array(Type.Object({ event_type: Type.String(), count: Count('Events of this type.') })),
  top_queries: Type.Array(QueryStats, { description: 'The 10 most searched queries.' }),
  no_click_queries: Type.Array(QueryStats, { description: 'The 10 most searched queries that no search clicked.' }),
  no_result_queries: Type.Array(QueryStats, { description: 'The 10 queries with the most zero-result searches.' }),
  query_totals: Type.Object(
    { top: Count('Distinct queries.'), no_click: Count('Without a click.'), no_result: Count('With no result.') },
    { description: 'How many queries each table holds in all (stats/queries pages through them).' },
  ),
  searches_per_hour: Type.Array(
    Type.Object({
      hour: Hour,
      searches: Count('Searches created in the hour.'),
      clicks: Count('Clicks created in it.'),
    }),
  ),
});
export type BatchStats = Static<typeof BatchStats>;

export const QueriesQuery = Type.Object(
  {
    batch_id: QueryId('The batch.'),
    kind: Type.Optional(
      Kind({
        default: 'top',
        description:
          'top: most searched; no_click: most searched without a click; no_result: most zero-result searches.',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    offset: Type.Optional(
      Type.Integer({ minimum: 0, default: 0, description: 'Queries skipped; each table keeps its first 1,000.' }),
    ),
  },
  { additionalProperties: false },
);
export type QueriesQuery = Static<typeof QueriesQuery>;

export const QueriesPage = Type.Object({
  batch_id: Type.String(),
  kind: Kind(),
  offset: Type.Integer({ minimum: 0 }),
  limit: Type.Integer({ minimum: 1 }),
  total: Count('Queries of this kind in the batch; pages reach the first 1,000.'),
  queries: Type.Array(QueryStats),
});
export type QueriesPage = Static<typeof QueriesPage>;

export const TimelineQuery = Type.Object(
  {
    from: Type.Integer({ minimum: 0, description: 'Start, integer UTC seconds (rounded down to its hour).' }),
    to: Type.Integer({ minimum: 0, description: 'End, exclusive, integer UTC seconds; at most 31 days after from.' }),
  },
  { additionalProperties: false },
);
export type TimelineQuery = Static<typeof TimelineQuery>;

export const Timeline = Type.Object({
  from: Type.Integer(),
  to: Type.Integer(),
  hours: Type.Array(
    Type.Object({
      hour: Hour,
      searches: Count('Searches created in the hour.'),
      clicks: Count('Clicks created in it.'),
    }),
    { description: 'Every hour from `from` to `to`, in order, zeros included.' },
  ),
  incomplete_batches: Type.Array(Type.String(), {
    description:
      'Sealed batches in the range whose figures are being computed (in the background): their hours are not in yet.',
  }),
});
export type Timeline = Static<typeof Timeline>;
