/**
 * Prometheus metrics (prom-client) at GET /metrics: requests by route and status with their duration,
 * rejections by error code, store errors, what the use-cases stored, releases, and the process and event
 * loop. Every label is from a closed set (a method, a route's template, a status, an error code): never
 * an id, a key or a query, so the number of series stays bounded. CLICKSTREAM_METRICS=0 turns it all off.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { ErrorCode } from '../domain/errors.js';
import type { UseCaseObserver } from '../services/observer.js';
import type { App } from './app-types.js';

/** Failures of the store rather than of a request: a store that is down or full. */
const STORE_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['service_unavailable', 'storage_full']);

export interface ServiceMetrics {
  readonly registry: Registry;
  /** What the use-cases report into the metrics. */
  readonly observer: UseCaseObserver;
  /** Counts one answered request. */
  answered(method: string, route: string, status: number, seconds: number, code: ErrorCode | null): void;
}

/** A registry of the service's metrics (one per app, so that apps in one process do not mix). */
export function createMetrics(): ServiceMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'clickstream_http_requests_total',
    help: 'Answered requests, by method, route template (unmatched: no route) and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const durations = new Histogram({
    name: 'clickstream_http_request_duration_seconds',
    help: 'Time from the request to its answer, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers,
  });
  const rejections = new Counter({
    name: 'clickstream_rejections_total',
    help: 'Requests answered with an error, by its code.',
    labelNames: ['code'] as const,
    registers,
  });
  const storeErrors = new Counter({
    name: 'clickstream_store_errors_total',
    help: 'Requests the store failed (unavailable, or out of space), by code.',
    labelNames: ['code'] as const,
    registers,
  });
  const sessions = new Counter({
    name: 'clickstream_sessions_stored_total',
    help: 'Search sessions newly registered.',
    registers,
  });
  const sessionRetries = new Counter({
    name: 'clickstream_session_retries_total',
    help: 'Registrations of a session stored already with the same content (answered as the first time).',
    registers,
  });
  const events = new Counter({ name: 'clickstream_events_stored_total', help: 'Events newly stored.', registers });
  const duplicates = new Counter({
    name: 'clickstream_event_duplicates_total',
    help: 'Events sent again with the same content, counted and ignored.',
    registers,
  });
  const releases = new Histogram({
    name: 'clickstream_release_duration_seconds',
    help: 'Batch releases answered (a retry included), and how long each took.',
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  return {
    registry,
    observer: {
      sessionRegistered: (created) => {
        (created ? sessions : sessionRetries).inc();
      },
      eventsAdded: (stored, repeated) => {
        if (stored > 0) events.inc(stored);
        if (repeated > 0) duplicates.inc(repeated);
      },
      batchReleased: (seconds) => {
        releases.observe(seconds);
      },
    },
    answered: (method, route, status, seconds, code) => {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      durations.observe(labels, seconds);
      if (code === null) return;
      rejections.inc({ code });
      if (STORE_ERRORS.has(code)) storeErrors.inc({ code });
    },
  };
}

/** Counts every answer: refusals by the key check and the body parser too. */
export function countAnswers(app: App, metrics: ServiceMetrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.answered(request.method, route, reply.statusCode, reply.elapsedTime / 1000, reply.problemCode);
    done();
  });
}
