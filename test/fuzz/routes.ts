/**
 * The routes the campaign fuzzes, under the names the generators and the model use, taken from the
 * service's own route list (src/http/routes/route-list.ts): their method and path, and whether they need
 * the admin key, are what the routes declare. Every API route of the list must have a name here, so a new
 * route cannot go unfuzzed. The 'double-slash' path variant expects `/clickstream/` in every path.
 */
import type { ErrorCode } from '../../src/domain/errors.js';
import { loadConfig } from '../../src/config/config.js';
import { routeErrorCodes, routeStatusOf } from '../../src/http/route-declarations.js';
import type { RouteDefinition } from '../../src/http/routes/route-definition.js';
import { ROUTES as SERVICE_ROUTES } from '../../src/http/routes/route-list.js';
import { APP_VARIABLES } from './settings.js';

/** The routes by the fuzzer's names: the generators know what body, query and key each one takes. */
export type RouteName =
  | 'register'
  | 'events'
  | 'irrelevant'
  | 'ingest'
  | 'getSession'
  | 'release'
  | 'batchSessions'
  | 'batches'
  | 'batch'
  | 'bias'
  | 'trainingData'
  | 'debugEvents'
  | 'statsBatch'
  | 'statsQueries'
  | 'statsTimeline';

export interface FuzzRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** Admin key only (not a client route); otherwise an ingest key or the admin key. */
  readonly internal: boolean;
  /** The codes the route is documented to answer with (its OpenAPI error responses). */
  readonly codes: ReadonlySet<ErrorCode>;
  /** The HTTP status the route answers a code with (as its OpenAPI error responses say). */
  readonly statusOf: (code: ErrorCode) => number;
}

const NAMES: Readonly<Record<RouteName, readonly ['GET' | 'POST', string]>> = {
  register: ['POST', '/api/v1/clickstream/session'],
  events: ['POST', '/api/v1/clickstream/session/events'],
  irrelevant: ['POST', '/api/v1/clickstream/session/irrelevant'],
  ingest: ['POST', '/api/v1/clickstream/ingest'],
  getSession: ['GET', '/api/v1/clickstream/session'],
  release: ['POST', '/api/v1/clickstream/internal/batch/release'],
  batchSessions: ['GET', '/api/v1/clickstream/internal/batch/sessions'],
  batches: ['GET', '/api/v1/clickstream/internal/batches'],
  batch: ['GET', '/api/v1/clickstream/internal/batch'],
  bias: ['GET', '/api/v1/clickstream/internal/batch/bias'],
  trainingData: ['GET', '/api/v1/clickstream/internal/batch/training-data'],
  debugEvents: ['GET', '/api/v1/clickstream/internal/debug/events'],
  statsBatch: ['GET', '/api/v1/clickstream/internal/stats/batch'],
  statsQueries: ['GET', '/api/v1/clickstream/internal/stats/queries'],
  statsTimeline: ['GET', '/api/v1/clickstream/internal/stats/timeline'],
};

/** The method, path, access and documented codes of each fuzzed route, from the service's route list. */
export function fuzzRoutes(): Readonly<Record<RouteName, FuzzRoute>> {
  const config = loadConfig({}, APP_VARIABLES);
  const find = ([method, url]: readonly [string, string]): RouteDefinition & { method: 'GET' | 'POST' } => {
    const route = SERVICE_ROUTES.find((r) => r.method === method && r.url === url);
    if (!route || route.method === 'PUT') {
      throw new Error(`the fuzzer names ${method} ${url}, which the route list does not hold`);
    }
    return { ...route, method: route.method };
  };
  const named = new Set(Object.values(NAMES).map(([method, url]) => `${method} ${url}`));
  // The clickstream API; the fine-tuning task API has a model-based property test of its own
  // (test/http/task-model.test.ts).
  const unnamed = SERVICE_ROUTES.filter(
    (r) => r.url.startsWith('/api/v1/clickstream/') && !named.has(`${r.method} ${r.url}`),
  );
  if (unnamed.length > 0) {
    throw new Error(`API routes the fuzzer does not know: ${unnamed.map((r) => `${r.method} ${r.url}`).join(', ')}`);
  }
  const entries = Object.entries(NAMES).map(([name, key]) => {
    const route = find(key);
    const fuzzed: FuzzRoute = {
      method: route.method,
      path: route.url,
      internal: route.access !== 'client',
      codes: new Set(routeErrorCodes(route, config)),
      statusOf: (code) => routeStatusOf(route, code),
    };
    return [name, fuzzed] as const;
  });
  return Object.fromEntries(entries) as Record<RouteName, FuzzRoute>;
}

export const ROUTES = fuzzRoutes();

/** The routes that take a JSON body. */
export type BodyRoute = 'register' | 'events' | 'irrelevant' | 'ingest' | 'release';
export const WRITE_ROUTES: readonly RouteName[] = ['register', 'events', 'irrelevant', 'ingest', 'release'];
export const READ_ROUTES: readonly RouteName[] = [
  'getSession',
  'batchSessions',
  'batches',
  'batch',
  'bias',
  'trainingData',
  'debugEvents',
  'statsBatch',
  'statsQueries',
  'statsTimeline',
];

/** The single routes whose bodies are the items of an ingest body, by its sections, in the order applied. */
export type ItemRoute = 'register' | 'events' | 'irrelevant';
export const INGEST_SECTIONS = [
  { section: 'sessions', route: 'register' },
  { section: 'events', route: 'events' },
  { section: 'irrelevant', route: 'irrelevant' },
] as const satisfies readonly { section: string; route: ItemRoute }[];
export type IngestSection = (typeof INGEST_SECTIONS)[number]['section'];

/**
 * The codes an item of the ingest route may be refused with: those its single route documents, but for
 * those about the request as a whole, which the ingest route documents itself (keys, media type, the
 * store failing or full); `validation_failed` is both, since an item is validated as its route's body.
 */
export const ITEM_CODES: Readonly<Record<ItemRoute, ReadonlySet<ErrorCode>>> = {
  register: itemCodes('register'),
  events: itemCodes('events'),
  irrelevant: itemCodes('irrelevant'),
};

function itemCodes(route: ItemRoute): ReadonlySet<ErrorCode> {
  const whole = ROUTES.ingest.codes;
  return new Set([...ROUTES[route].codes].filter((code) => code === 'validation_failed' || !whole.has(code)));
}
