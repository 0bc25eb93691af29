import { Type } from 'typebox';
import { ClickstreamError } from '../../domain/errors.js';
import { defineRoute } from './route-definition.js';

/**
 * Prometheus metrics (http/metrics.ts) in the text format, for the admin key, or for anyone when
 * CLICKSTREAM_METRICS_PUBLIC=1 (a scraper on a private network: no label holds an id, a key or a query).
 */
export const METRICS_ROUTES = [
  defineRoute({
    method: 'GET',
    url: '/metrics',
    access: 'internal',
    accessFrom: (config) => (config.metricsPublic ? 'public' : 'internal'),
    errors: ['not_found'],
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics',
      description: 'Requests by route and status, rejections by code, what was stored, releases, the process.',
      response: {
        200: {
          description: "Prometheus' text format.",
          content: { 'text/plain': { schema: Type.String() } },
        },
      },
    },
    handler:
      ({ metrics }) =>
      async (_request, reply) => {
        if (!metrics) throw new ClickstreamError('not_found', 'metrics are off (CLICKSTREAM_METRICS=0)');
        return reply.type(metrics.registry.contentType).send(await metrics.scrape());
      },
  }),
];
