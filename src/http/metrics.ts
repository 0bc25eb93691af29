/**
 * Prometheus metrics (prom-client) at GET /metrics: requests by route and status with their duration,
 * rejections by error code, store errors, what the use-cases stored, releases, the store's group commits,
 * the collecting batch's size, and the process and event loop. Every label is from a closed set (a method,
 * a route's template, a status, an error code): never an id, a key or a query, so the number of series
 * stays bounded. CLICKSTREAM_METRICS=0 turns it all off.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ClickstreamError, type ErrorCode } from '../domain/errors.js';
import type { UseCaseObserver } from '../services/observer.js';
import type { StoreObserver } from '../storage/driver.js';
import type { App } from './app-types.js';

/** Failures of the store rather than of a request: a store that is down or full. */
const STORE_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['service_unavailable', 'storage_full']);

export interface ServiceMetrics {
  readonly registry: Registry;
  /** What the use-cases report into the metrics. */
  readonly observer: UseCaseObserver;
  /** What the store reports into the metrics: hand it to createStore (OpenOptions.observer). */
  readonly store: StoreObserver;
  /** Counts one answered request. */
  answered(method: string, route: string, status: number, seconds: number, code: ErrorCode | null): void;
  /** Where the collecting batch's session count is read at each scrape (set once, by buildApp). */
  readCollectingFrom(read: () => Promise<number>): void;
  /** The text of a scrape: what is read from the store at scrape time first, then every metric. */
  scrape(): Promise<string>;
}

/**
 * A gauge of one value that may be unknown: while it is, the gauge has no sample at all (absent, as
 * Prometheus' guidance for exporters asks of a value that could not be read, rather than a stale value or
 * a zero that a dashboard would show as true). prom-client's own gauge always has one without labels.
 */
class UnknownableGauge extends Gauge {
  current: number | null = null;

  override async get(): ReturnType<Gauge['get']> {
    const metric = await super.get();
    return { ...metric, values: this.current === null ? [] : [{ value: this.current, labels: {} }] };
  }
}

/** A registry of the service's metrics (one per app, so that apps in one process do not mix). */
/** The shortest time between two reads of the collecting batch's size, by default. */
const COLLECTING_READ_SECONDS = 10;

/** `collectingReadSeconds`: how long a read of the collecting batch's size serves scrapes (tests: 0). */
export function createMetrics({ collectingReadSeconds = COLLECTING_READ_SECONDS } = {}): ServiceMetrics {
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
    help: 'Requests the store failed (unavailable, or out of space), and reads of the collecting batch that failed at a scrape, by code.',
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
  const groupSizes = new Histogram({
    name: 'clickstream_group_commit_size',
    help: 'Writes committed together in one transaction by group commit (SQLite: every write; PostgreSQL: registrations and event posts).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers,
  });
  const groupDurations = new Histogram({
    name: 'clickstream_group_commit_duration_seconds',
    help: "A group commit's transaction, from its start (PostgreSQL: including the wait for a connection) to its commit.",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const collecting = new UnknownableGauge({
    name: 'clickstream_collecting_batch_sessions',
    help: 'Sessions in the collecting batch (registered since the last release), read from the store at each scrape; absent when the store could not be read.',
    registers,
  });
  let readCollecting: (() => Promise<number>) | null = null;
  let collectingReadAt = -Infinity;
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
    store: {
      groupCommitted: (size, seconds) => {
        groupSizes.observe(size);
        groupDurations.observe(seconds);
      },
    },
    readCollectingFrom: (read) => {
      readCollecting = read;
    },
    scrape: async () => {
      // Read before the registry renders (which it does for every metric at once), so that a failed read is
      // in this scrape's store errors already. A store that fails leaves the gauge out and the rest of the
      // scrape answered, so that a store that is down does not also blind its monitoring; the failure is
      // counted by the code a request would have got: the store's own, else internal_error.
      // At most one read per collectingReadSeconds: on PostgreSQL it counts the batch's sessions, and a
      // public /metrics must not let anyone make the store count at will.
      const due = performance.now() - collectingReadAt >= collectingReadSeconds * 1000;
      if (readCollecting !== null && due) {
        collectingReadAt = performance.now();
        try {
          collecting.current = await readCollecting();
        } catch (error) {
          collecting.current = null;
          const code =
            error instanceof ClickstreamError && STORE_ERRORS.has(error.code) ? error.code : 'internal_error';
          storeErrors.inc({ code });
        }
      }
      return registry.metrics();
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
