import {
  BatchStats,
  BatchStatsQuery,
  QueriesPage,
  QueriesQuery,
  Timeline,
  TimelineQuery,
} from '../../schemas/stats.js';
import { defineRoute } from './route-definition.js';

/** Internal routes: batch analytics (the dashboard reads them; scripts may too). */
export const STATS_ROUTES = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/clickstream/internal/stats/batch',
    access: 'internal',
    errors: ['batch_not_found'],
    schema: {
      tags: ['internal'],
      summary:
        'Every figure of one batch: click-through rate, by position, zero-result and no-click searches, top queries, hours',
      description:
        'A sealed batch is computed once, on the first call after its seal, and its figures are saved; a collecting or released batch is computed again at most every 5 seconds. Irrelevant sessions are left out of every figure but their count.',
      querystring: BatchStatsQuery,
      response: { 200: BatchStats },
    },
    handler:
      ({ stats }) =>
      (request) =>
        stats.batch(request.query.batch_id),
  }),

  defineRoute({
    method: 'GET',
    url: '/api/v1/clickstream/internal/stats/queries',
    access: 'internal',
    errors: ['batch_not_found'],
    schema: {
      tags: ['internal'],
      summary: 'A page of one query table of a batch: most searched, without a click, or without results',
      querystring: QueriesQuery,
      response: { 200: QueriesPage },
    },
    handler:
      ({ stats }) =>
      (request) => {
        const { batch_id, kind = 'top', limit = 20, offset = 0 } = request.query;
        return stats.queries(batch_id, kind, limit, offset);
      },
  }),

  defineRoute({
    method: 'GET',
    url: '/api/v1/clickstream/internal/stats/timeline',
    access: 'internal',
    errors: [],
    schema: {
      tags: ['internal'],
      summary: 'Searches and clicks per hour over a time range (at most 31 days), every batch together',
      querystring: TimelineQuery,
      response: { 200: Timeline },
    },
    handler:
      ({ stats }) =>
      (request) =>
        stats.timeline(request.query.from, request.query.to),
  }),
];
