import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Config } from '../config/config.js';
import { type ErrorCode, validationFailed } from '../domain/errors.js';
import { type Clock, systemClock } from '../domain/time.js';
import { JsonObject } from '../schemas/json-schemas.js';
import { BatchService } from '../services/batches.js';
import { IngestService } from '../services/ingest.js';
import type { ClickstreamStore } from '../storage/store.js';
import type { App } from './app-types.js';
import { accessOf, registerAuth, SECURITY_SCHEMES, securityOf } from './auth.js';
import { registerCors } from './cors.js';
import { registerBodyParsers } from './json-body.js';
import { registerRateLimit } from './rate-limit.js';
import { responses } from './schemas.js';
import { fieldErrors, mergeFieldErrors, pathOf, problem, problemStatus, routeNotFound, toProblem } from './problem.js';
import { registerBatchRoutes } from './routes/batch-routes.js';
import { registerHealthRoutes } from './routes/health-routes.js';
import { registerSessionRoutes } from './routes/session-routes.js';

export interface AppDeps {
  readonly store: ClickstreamStore;
  readonly config: Config;
  /** Server time in UTC seconds; tests move it to cross grace periods. */
  readonly clock?: Clock;
  readonly logger?: FastifyBaseLogger;
}

/** Longest a client may take to send one whole request (headers and body). */
export const REQUEST_TIMEOUT_MS = 30_000;

// A client-supplied request id is kept when it is short and plain, so logs can be joined across services.
const PLAIN_REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Builds the HTTP application with every route registered explicitly. Never listens: `main` does, tests
 * use `inject()`.
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
    // Fastify's own per-request lines are replaced by one debug line per request (onResponse below).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    // Malformed URLs are refused by the router before any hook runs; answer them in the same envelope.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      void reply
        .status(400)
        .header('x-request-id', request.id)
        .type('application/problem+json')
        // The path only: the query string may hold a key (?key=), and answers must not echo keys.
        .send(problem('bad_request', `the URL is not valid (${error.code}): ${pathOf(request.url)}`, request.id));
    },
    clientErrorHandler: answerClientError,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && PLAIN_REQUEST_ID.test(given) ? given : randomUUID();
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Bodies are checked strictly (no coercion, nothing removed, every error listed); query strings are
  // text by nature, so their numbers are coerced and their defaults applied.
  const bodyAjv = new Ajv({
    strictNumbers: true,
    allErrors: true,
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    strict: false,
    allowUnionTypes: true,
  });
  const queryAjv = new Ajv({
    strictNumbers: true,
    allErrors: true,
    coerceTypes: true,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
    allowUnionTypes: true,
  });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? bodyAjv.compile(schema) : withSafeIntegers(queryAjv.compile(schema)),
  );

  // Schema errors are not answered at once: the route's own rules are checked too, so that one answer
  // lists every problem of the request (a wrong type in events[1] and a millisecond timestamp in events[3]).
  app.addHook('onRoute', (route) => {
    route.attachValidation = true;
    if (route.schema) route.schema = { ...route.schema, security: securityOf(accessOf(route.url)) };
  });
  app.addHook('preHandler', (request, _reply, done) => {
    const invalid = request.validationError as (Error & Partial<FastifyError>) | undefined;
    if (!invalid) {
      done();
      return;
    }
    const shape = fieldErrors((invalid.validation ?? []) as ErrorObject[], invalid.validationContext);
    const rules =
      invalid.validationContext === 'body' ? (request.routeOptions.config.bodyProblems?.(request.body) ?? []) : [];
    done(validationFailed(mergeFieldErrors(shape, rules)));
  });

  // Order matters: onRequest hooks run as added. Every answer, a refusal too, carries its request id and,
  // for an allowed origin, CORS headers (so that a page can read why it was refused); keys are checked
  // before rate limits count (by key), and both before a body is read.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  await registerCors(app, config);
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
  app.addHook('onResponse', (request, reply, done) => {
    request.log.debug(
      { method: request.method, route: request.routeOptions.url, status: reply.statusCode, ms: reply.elapsedTime },
      'request completed',
    );
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const body = toProblem(error, request.id, config.limits.maxBodyBytes);
    if (body.status === 503) {
      void reply.header('retry-after', '1');
      request.log.warn({ err: error }, 'store unavailable');
    } else if (body.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.status(body.status).type('application/problem+json').send(body);
  });
  app.setNotFoundHandler((request) => {
    throw routeNotFound(request);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Clickstream collector',
        version: '1',
        description:
          'Collects search sessions and their events, and releases them in batches for training. Compatible with the EmbeddingStudio clickstream API.',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
      tags: [
        { name: 'client', description: 'Called by search applications for every search and interaction.' },
        { name: 'internal', description: 'Release and read batches for training.' },
        { name: 'operations', description: 'Health, readiness and this document.' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const ingest = new IngestService(store, { limits: config.limits, window: timeWindow(config) }, clock);
  const batches = new BatchService(
    store,
    { limits: config.limits, lateEventGraceSeconds: config.lateEventGraceSeconds },
    clock,
  );
  registerSessionRoutes(app, ingest);
  registerBatchRoutes(app, batches);
  registerHealthRoutes(app, store);
  app.get(
    '/openapi.json',
    {
      schema: {
        tags: ['operations'],
        summary: 'This OpenAPI 3.1 document',
        response: responses(JsonObject()),
      },
    },
    () => app.swagger(),
  );
  return app;
}

/**
 * Ajv coerces the query strings "Infinity" and "1e400" to Infinity, and lets them through `integer`,
 * `minimum` and `maximum`; a number past 2^53 cannot be an exact page cursor either. After coercion every
 * number of a query must be a safe integer (all query numbers of this API are counts and cursors).
 */
function withSafeIntegers(validate: ValidateFunction): ValidateFunction {
  const checked = ((data: unknown) => {
    const valid = validate(data);
    checked.errors = validate.errors;
    if (!valid || typeof data !== 'object' || data === null) return valid;
    const unsafe = Object.entries(data).filter(
      ([, value]) => typeof value === 'number' && !Number.isSafeInteger(value),
    );
    if (unsafe.length === 0) return true;
    checked.errors = unsafe.map(([name]) => ({
      instancePath: `/${name}`,
      schemaPath: '#/type',
      keyword: 'type',
      params: {},
      message: `must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`,
    }));
    return false;
  }) as ValidateFunction;
  checked.errors = null;
  return checked;
}

/**
 * Requests Node's HTTP parser refuses (headers over 16 KiB, a malformed request line, a timeout) never
 * reach Fastify; they are answered here in the same problem+json envelope. Nothing of the request is
 * logged: its raw bytes may hold a key.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return;
  const [code, detail]: [ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['header_too_large', 'the request line and headers are larger than 16 KiB']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['request_timeout', `the request was not received within ${REQUEST_TIMEOUT_MS / 1000} s`]
        : ['bad_request', `the request is not valid HTTP (${error.code ?? 'parse error'})`];
  const requestId = randomUUID();
  const body = JSON.stringify(problem(code, detail, requestId));
  socket.end(
    `HTTP/1.1 ${problemStatus(code)} ${STATUS_CODES[problemStatus(code)] ?? ''}\r\n` +
      `content-type: application/problem+json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function timeWindow(config: Config) {
  return { pastSeconds: config.timeWindowPastSeconds, futureSeconds: config.timeWindowFutureSeconds };
}
