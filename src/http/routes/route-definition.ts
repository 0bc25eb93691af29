/**
 * How a route is declared: its method and full path (written literally, so that a path seen in a log is
 * found with grep), who may call it, the error codes it answers with, its schemas, and how it is served.
 * The app registers every route of `route-list.ts` from these declarations; auth, the text/plain rule,
 * rate limits and the OpenAPI document read them (see route-declarations.ts).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
} from 'fastify';
import type { TSchema } from 'typebox';
import type { Config } from '../../config/config.js';
import type { ErrorCode, FieldError } from '../../domain/errors.js';
import type { BatchService } from '../../services/batches.js';
import type { BulkIngestService } from '../../services/bulk-ingest.js';
import type { DebugEventService } from '../../services/debug-events.js';
import type { IngestService } from '../../services/ingest.js';
import type { StatsService } from '../../services/stats.js';
import type { ServiceMetrics } from '../metrics.js';
import type { TaskService } from '../../services/tasks.js';
import type { TrainingService } from '../../services/training.js';
import type { ClickstreamStore } from '../../storage/store.js';

/**
 * Who may call a route: anyone (`public`), a holder of an ingest key or the admin key (`client`: the
 * routes a web page calls, so ingest keys may be public), a holder of a worker key or the admin key
 * (`worker`: what a fine-tuning worker calls), or the admin key only (`internal`).
 */
export const ACCESS_LEVELS = ['public', 'client', 'worker', 'internal'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

/** What the handlers of the routes use. */
export interface RouteServices {
  readonly ingest: IngestService;
  readonly bulk: BulkIngestService;
  readonly batches: BatchService;
  readonly training: TrainingService;
  readonly stats: StatsService;
  readonly tasks: TaskService;
  readonly store: ClickstreamStore;
  /** The events debugger's records; `debugEventsOn` is false when CLICKSTREAM_DEBUG_EVENTS=0. */
  readonly debugEvents: DebugEventService;
  readonly debugEventsOn: boolean;
  /** The service's metrics, unless CLICKSTREAM_METRICS=0. */
  readonly metrics: ServiceMetrics | undefined;
  /** The OpenAPI document of the running app. */
  readonly openapi: () => unknown;
}

/** A request typed by its route's schema. */
export type RequestOf<S extends FastifySchema> = FastifyRequest<
  RouteGenericInterface,
  RawServerDefault,
  RawRequestDefaultExpression,
  S,
  TypeBoxTypeProvider
>;

/** The declared part of a route, as the route list, the OpenAPI test and the fuzz test read it. */
export interface RouteDeclaration {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly url: string;
  readonly access: Access;
  /** The access the configuration gives instead of `access` (a scraper's /metrics may be public). */
  readonly accessFrom?: (config: Config) => Access;
  /**
   * The codes this route answers with besides those shared by every route of its kind (body and query
   * validation, keys, rate limits, internal errors: see sharedErrorCodes).
   */
  readonly errors: readonly ErrorCode[];
  /** A status that differs from the code's own on this route (readiness answers 503 whatever the cause). */
  readonly errorStatus?: Partial<Record<ErrorCode, number>>;
  /**
   * The route's schemas; `response` holds the success schema only (a redirect's for `/`), error responses
   * are derived.
   */
  readonly schema: FastifySchema & { readonly response: { readonly 200: unknown } | { readonly 302: unknown } };
}

/** A declared route with how it is served. */
export interface RouteDefinition extends RouteDeclaration {
  /** The body's rules beyond its schema, checked with it so that one answer lists every problem. */
  readonly bodyProblems?: (services: RouteServices) => (body: unknown) => FieldError[];
  /**
   * What the body is validated with instead of `schema.body`, which then only documents it: for a body
   * whose items are checked one by one by the service, so that a bad item is refused alone.
   */
  readonly bodyEnvelope?: TSchema;
  readonly handler: (services: RouteServices) => (request: RequestOf<FastifySchema>, reply: FastifyReply) => unknown;
}

/**
 * Declares a route. The handler's request is typed by the route's own schema; the definition is then
 * stored untyped in the route list (every list entry has a different schema).
 */
export function defineRoute<S extends RouteDeclaration['schema'], E extends TSchema = never>(
  route: Omit<RouteDefinition, 'schema' | 'handler' | 'bodyEnvelope'> & {
    readonly schema: S;
    readonly bodyEnvelope?: E;
    readonly handler: (
      services: RouteServices,
    ) => (request: RequestOf<[E] extends [never] ? S : Omit<S, 'body'> & { body: E }>, reply: FastifyReply) => unknown;
  },
): RouteDefinition {
  return route as unknown as RouteDefinition;
}
