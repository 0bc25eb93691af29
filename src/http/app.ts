import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import { type Clock, systemClock } from '../domain/time.js';
import { BatchService } from '../services/batches.js';
import { BulkIngestService } from '../services/bulk-ingest.js';
import { IngestService } from '../services/ingest.js';
import { NO_OBSERVER } from '../services/observer.js';
import { AddEventsBody, MarkIrrelevantBody, RegisterSessionBody } from '../schemas/payloads.js';
import { StatsService } from '../services/stats.js';
import { TaskService } from '../services/tasks.js';
import { TrainingService } from '../services/training.js';
import type { ClickstreamStore } from '../storage/store.js';
import type { App } from './app-types.js';
import { registerAuth } from './auth.js';
import { registerLeaseSweep } from './lease-sweep.js';
import { registerCors } from './cors.js';
import { registerDashboard } from './dashboard.js';
import { registerDebugEvents } from './debug-events.js';
import { registerDemo } from './demo.js';
import {
  answerClientError,
  answerFrameworkError,
  registerErrorHandlers,
  REQUEST_TIMEOUT_MS,
} from './error-handlers.js';
import { registerBodyParsers } from './json-body.js';
import { countAnswers, createMetrics, type ServiceMetrics } from './metrics.js';
import { registerOpenApi } from './openapi.js';
import { problemStatus } from './problem.js';
import { registerRateLimit } from './rate-limit.js';
import { grantAccess, registerRouteDeclarations } from './route-declarations.js';
import type { RouteServices } from './routes/route-definition.js';
import { ROUTES } from './routes/route-list.js';
import { registerRequestLog } from './request-log.js';
import { bodyShapeCheck, envelopeValidatorCompiler, registerValidation } from './validation.js';

export { REQUEST_TIMEOUT_MS } from './error-handlers.js';

export interface AppDeps {
  readonly store: ClickstreamStore;
  readonly config: Config;
  /** Server time in UTC seconds; tests move it to cross grace periods. */
  readonly clock?: Clock;
  readonly logger?: FastifyBaseLogger;
  /**
   * The metrics the store was opened with (its `store` observer given to createStore), so that its group
   * commits are counted; without, the app makes its own when CLICKSTREAM_METRICS is on, and the group
   * commit histograms stay empty. Ignored when CLICKSTREAM_METRICS=0.
   */
  readonly metrics?: ServiceMetrics;
  /** Where the built dashboard is (default: web/dist); tests point it at a folder of their own. */
  readonly dashboardRoot?: string;
}

// A client-supplied request id is kept when it is short and plain, so logs can be joined across services.
const PLAIN_REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Builds the HTTP application with every route of the route list registered. Never listens: `main` does,
 * tests use `inject()`. A route without a declared access makes `ready()` reject (fail closed).
 */
export async function buildApp(deps: AppDeps): Promise<App> {
  const { store, config } = deps;
  const clock = deps.clock ?? systemClock;
  const app: App = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: config.limits.maxBodyBytes,
    // A client that trickles a request (slowloris) loses it after this long; SECURITY.md lists the limit.
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Which proxies' X-Forwarded-For gives request.ip (the rate limits' client address).
    trustProxy: config.trustProxy,
    // Fastify's own per-request lines are replaced by one line per request (request-log.ts).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && PLAIN_REQUEST_ID.test(given) ? given : randomUUID();
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  registerRouteDeclarations(app, config);
  registerValidation(app);

  // Order matters: onRequest hooks run as added. Every answer, a refusal too, carries its request id and,
  // for an allowed origin, CORS headers (so that a page can read why it was refused); keys are checked
  // before rate limits count (by key), and both before a body is read.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  // CORS preflights (OPTIONS *) answer every origin the same, keys or not.
  await grantAccess('public', () => registerCors(app, config));
  registerAuth(app, config);
  await registerRateLimit(app, config);
  registerBodyParsers(app, config.limits);
  // Once closing, answers to requests still in flight also close their keep-alive connections, so that
  // the server can stop as soon as they are answered instead of waiting for clients to hang up.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  registerRequestLog(app);
  const metrics = config.metrics ? (deps.metrics ?? createMetrics()) : undefined;
  if (metrics) countAnswers(app, metrics);
  const debugEvents = registerDebugEvents(app, store.debugEvents, config, clock, metrics);
  const observer = metrics?.observer ?? NO_OBSERVER;
  registerErrorHandlers(app, config.limits.maxBodyBytes);
  await registerOpenApi(app);
  if (config.demo) await registerDemo(app);
  await registerDashboard(app, deps.dashboardRoot);

  const batches = new BatchService(
    store,
    { limits: config.limits, lateEventGraceSeconds: config.lateEventGraceSeconds },
    clock,
    observer,
  );
  const training = new TrainingService(batches, config.queryField);
  const tasks = new TaskService(
    store,
    batches,
    training,
    { limits: config.limits, maxAttempts: config.taskMaxAttempts },
    clock,
  );
  registerLeaseSweep(app, tasks, config.taskSweepSeconds);
  const stats = new StatsService(
    store,
    {
      queryField: config.queryField,
      timeWindowPastSeconds: config.timeWindowPastSeconds,
      timeWindowFutureSeconds: config.timeWindowFutureSeconds,
    },
    clock,
  );
  app.addHook('onClose', (_app, done) => {
    stats.close();
    done();
  });
  metrics?.readCollectingFrom(async () => (await batches.collectingBatch())?.session_count ?? 0);
  const ingest = new IngestService(store, { limits: config.limits, window: timeWindow(config) }, clock, observer);
  const itemShapes = {
    session: bodyShapeCheck(RegisterSessionBody),
    events: bodyShapeCheck(AddEventsBody),
    irrelevant: bodyShapeCheck(MarkIrrelevantBody),
  };
  const services: RouteServices = {
    ingest,
    bulk: new BulkIngestService(ingest, itemShapes, config.limits, problemStatus),
    batches,
    training,
    stats,
    tasks,
    store,
    debugEvents,
    debugEventsOn: config.debugEvents,
    metrics,
    openapi: () => app.swagger(),
  };
  for (const route of ROUTES) {
    const bodyProblems = route.bodyProblems?.(services);
    app.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      config: {
        access: route.accessFrom?.(config) ?? route.access,
        errors: route.errors,
        ...(route.errorStatus ? { errorStatus: route.errorStatus } : {}),
        ...(bodyProblems ? { bodyProblems } : {}),
      },
      ...(route.bodyEnvelope ? { validatorCompiler: envelopeValidatorCompiler(route.bodyEnvelope) } : {}),
      handler: route.handler(services),
    });
  }
  return app;
}

function timeWindow(config: Config) {
  return { pastSeconds: config.timeWindowPastSeconds, futureSeconds: config.timeWindowFutureSeconds };
}
