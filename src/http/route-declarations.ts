/**
 * Reads every route's declaration (route-definition.ts) where the app needs it: the start-up check that
 * refuses a route without a declared access (fail closed), the OpenAPI security and error responses, and
 * the route table that tests compare with the route list.
 */
import type { FastifySchema, RouteOptions } from 'fastify';
import { keysConfigured, type Config } from '../config/config.js';
import type { ErrorCode } from '../domain/errors.js';
import { Problem } from '../schemas/records.js';
import type { App } from './app-types.js';
import { securityOf } from './auth.js';
import { problemStatus, problemTitle } from './problem.js';
import { ACCESS_LEVELS, type Access, type RouteDeclaration } from './routes/route-definition.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; every route has one, or the app does not start. */
    access?: Access;
    /** The route's declared error codes (see RouteDeclaration.errors). */
    errors?: readonly ErrorCode[];
    /** Statuses that differ from the codes' own on this route. */
    errorStatus?: Partial<Record<ErrorCode, number>>;
  }
  interface FastifyInstance {
    /** Every route registered so far (plugins' too), as its options: what the start-up check reads. */
    readonly routeTable: readonly RouteOptions[];
  }
}

/** What the error codes of a route are derived from. */
export type DeclaredRoute = Pick<RouteDeclaration, 'access' | 'errors' | 'errorStatus'> & {
  readonly schema?: FastifySchema | undefined;
};

/**
 * The codes a route answers with besides its own: those of its body or query string, of the keys (with
 * keys, 401 and 403 on guarded routes; without, 403 on every route for a request from another host or
 * page), of rate limits when they are on, and internal errors.
 */
export function sharedErrorCodes(route: DeclaredRoute, config: Config): ErrorCode[] {
  const codes: ErrorCode[] = [];
  if (route.schema?.body !== undefined) {
    codes.push('validation_failed', 'invalid_json', 'payload_too_large', 'unsupported_media_type');
  } else if (route.schema?.querystring !== undefined || route.schema?.params !== undefined) {
    codes.push('validation_failed');
  }
  const guarded = route.access !== 'public';
  if (!keysConfigured(config)) codes.push('forbidden');
  else if (guarded) codes.push('unauthorized', 'forbidden');
  if (guarded && config.rateLimitPerMinute > 0) codes.push('rate_limited');
  if (guarded) codes.push('service_unavailable');
  codes.push('internal_error');
  return codes;
}

/** Every code a route answers with, each once: its own, then the shared ones. */
export function routeErrorCodes(route: DeclaredRoute, config: Config): ErrorCode[] {
  return [...new Set([...route.errors, ...sharedErrorCodes(route, config)])];
}

/** The status a route answers a code with. */
export function routeStatusOf(route: DeclaredRoute, code: ErrorCode): number {
  return route.errorStatus?.[code] ?? problemStatus(code);
}

/** The OpenAPI error responses of a route: one problem+json response per status, naming its codes. */
function errorResponses(route: DeclaredRoute, config: Config): Record<number, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of routeErrorCodes(route, config)) {
    const status = routeStatusOf(route, code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const map: Record<number, unknown> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    map[status] = {
      description: codes.map((code) => `${code}: ${problemTitle(code)}`).join('; '),
      content: { 'application/problem+json': { schema: Problem } },
    };
  }
  return map;
}

let pendingAccess: Access | undefined;

/**
 * Registers a plugin whose routes get `access` (Swagger UI's files, CORS preflights): the access is given
 * where the plugin is registered, since its routes cannot declare one. The registration is awaited, so
 * the routes it adds are exactly those added meanwhile.
 */
export async function grantAccess(access: Access, register: () => PromiseLike<unknown>): Promise<void> {
  pendingAccess = access;
  try {
    await register();
  } finally {
    pendingAccess = undefined;
  }
}

/**
 * Completes every route from its declaration as it is added, and refuses to start (app.ready() rejects)
 * when any route of the route table has no valid access: a route nobody declared is never served.
 */
export function registerRouteDeclarations(app: App, config: Config): void {
  const table: RouteOptions[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    table.push(route);
    // Schema errors are not answered at once: the route's own rules are checked too, so that one answer
    // lists every problem of the request (a wrong type in events[1] and a millisecond timestamp in events[3]).
    route.attachValidation = true;
    const declared = route.config?.access;
    if (declared === undefined && pendingAccess !== undefined) {
      route.config = { ...route.config, access: pendingAccess, errors: [] };
      return;
    }
    if (declared === undefined || !route.schema) return;
    const declaration: DeclaredRoute = {
      access: declared,
      errors: route.config?.errors ?? [],
      ...(route.config?.errorStatus ? { errorStatus: route.config.errorStatus } : {}),
      schema: route.schema,
    };
    route.schema = {
      ...route.schema,
      security: securityOf(declared),
      response: { ...(route.schema.response as object), ...errorResponses(declaration, config) },
    };
  });
  app.addHook('onReady', (done) => {
    const undeclared = table
      .filter((route) => !ACCESS_LEVELS.some((access) => access === route.config?.access))
      .map((route) => `${String(route.method)} ${route.url}`);
    done(
      undeclared.length === 0
        ? undefined
        : new Error(
            `every route must declare its access (${ACCESS_LEVELS.join(', ')}); these do not: ${undeclared.join(', ')}`,
          ),
    );
  });
}
