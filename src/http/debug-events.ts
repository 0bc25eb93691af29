/**
 * The events debugger's hook: after each answer of the clickstream API (`/api/v1/clickstream/...`), a
 * rejection (4xx, 5xx; refusals before the handler too) or a sampled success becomes a record
 * (debug-record.ts) handed to the DebugEventService, which writes it later. Nothing here waits for the
 * store. The app's close writes what is still buffered.
 */
import { Counter } from 'prom-client';
import type { Config } from '../config/config.js';
import type { Clock } from '../domain/time.js';
import { DebugEventService } from '../services/debug-events.js';
import type { DebugEventStore } from '../storage/debug-event-store.js';
import type { App } from './app-types.js';
import { debugEventOf } from './debug-record.js';
import type { ServiceMetrics } from './metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The events debugger's records: `flush()` writes what is buffered (tests wait on it; close calls it). */
    debugEvents: DebugEventService;
  }
}

const API_PREFIX = '/api/v1/clickstream/';
/** The debugger's own route: its successes are never sampled (a dashboard polling it would fill the table). */
export const DEBUG_EVENTS_URL = '/api/v1/clickstream/internal/debug/events';

/**
 * The service that keeps the records, and (when CLICKSTREAM_DEBUG_EVENTS is on) the hooks that record
 * answers into it and flush it on close. `random` decides the samples; tests may fix it.
 */
export function registerDebugEvents(
  app: App,
  store: DebugEventStore,
  config: Config,
  clock: Clock,
  metrics: ServiceMetrics | undefined,
  random: () => number = Math.random,
): DebugEventService {
  const dropped = metrics ? droppedCounter(metrics) : undefined;
  const service = new DebugEventService(
    store,
    { maxRows: config.debugEventsMaxRows, maxAgeSeconds: config.debugEventsMaxAgeSeconds },
    clock,
    {
      warn: (details, message) => {
        app.log.warn(details, message);
      },
      dropped: (count) => dropped?.inc(count),
    },
  );
  app.decorate('debugEvents', service);
  if (!config.debugEvents) return service;
  const rate = config.debugSampleRate;
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const sampled = status < 400 && rate > 0 && (rate >= 1 || random() < rate);
    if (
      (status >= 400 || sampled) &&
      request.url.startsWith(API_PREFIX) &&
      !(status < 400 && request.routeOptions.url === DEBUG_EVENTS_URL)
    ) {
      service.record(() =>
        debugEventOf(
          {
            time: clock(),
            method: request.method,
            route: request.routeOptions.url,
            url: request.url,
            status,
            problem: reply.problem,
            headers: request.headers,
            query: request.query,
            body: request.body,
            bodyText: request.bodyText,
            requestId: request.id,
            durationMs: reply.elapsedTime,
          },
          config.debugBodyBytes,
        ),
      );
    }
    done();
  });
  app.addHook('onClose', async () => {
    await service.close();
  });
  return service;
}

const DROPPED = 'clickstream_debug_events_dropped_total';

/**
 * The counter of dropped records, in the registry of `metrics` (made once: apps may share a registry).
 * Without labels: why a write failed is logged, at warn.
 */
function droppedCounter(metrics: ServiceMetrics): Counter {
  const known = metrics.registry.getSingleMetric(DROPPED);
  if (known instanceof Counter) return known;
  return new Counter({
    name: DROPPED,
    help: 'Events debugger records dropped instead of slowing requests (its buffer was full, or their write failed).',
    registers: [metrics.registry],
  });
}
