import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { isLoopback, type Config } from '../config/config.js';
import { ClickstreamError } from '../domain/errors.js';
import type { App } from './app-types.js';
import { routeNotFound } from './problem.js';
import type { Access } from './routes/route-definition.js';

export type Role = 'admin' | 'ingest' | 'worker';

/** The key a request was authorised with. `keyId` names the key without revealing it (rate limits). */
export interface Caller {
  readonly role: Role;
  readonly keyId: string;
  /** The key came as `?key=` (sendBeacon), which limits the body to {@link BROWSER_BODY_LIMIT}. */
  readonly fromUrl: boolean;
}

/**
 * The access of the route a request was routed to, as the route declares it (never derived from the
 * request's URL, whose spelling a client controls). A path no route serves (the 404 handler) needs a key
 * like a client route, so that the route table cannot be probed without one.
 */
export function accessOf(request: FastifyRequest): Access {
  return request.routeOptions.config.access ?? 'client';
}

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/**
 * The configured keys, kept as SHA-256 digests. A presented key is hashed and compared with every
 * configured digest by `timingSafeEqual`, without stopping at a match: the time taken says nothing about
 * how much of a key was right, nor which key matched, nor how long the keys are.
 */
export class KeyRing {
  private readonly entries: readonly { digest: Buffer; role: Role; keyId: string }[];

  constructor(adminKey: string | undefined, ingestKeys: readonly string[], workerKeys: readonly string[] = []) {
    const entry = (key: string, role: Role, index: number) => ({
      digest: digest(key),
      role,
      keyId: `${role}-${index}`,
    });
    this.entries = [
      ...(adminKey === undefined ? [] : [entry(adminKey, 'admin', 0)]),
      ...ingestKeys.map((key, index) => entry(key, 'ingest', index + 1)),
      ...workerKeys.map((key, index) => entry(key, 'worker', index + 1)),
    ];
  }

  /** False when no key is configured: the service is open (and listens on loopback only). */
  get enabled(): boolean {
    return this.entries.length > 0;
  }

  match(presented: string): { role: Role; keyId: string } | null {
    const candidate = digest(presented);
    let found: { role: Role; keyId: string } | null = null;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, candidate) && found === null) found = entry;
    }
    return found && { role: found.role, keyId: found.keyId };
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authorised key, or null (no keys configured, a public route, or a refused request). */
    caller: Caller | null;
    /** Why the request is refused (401, 403), decided before its body is read; null when it is not. */
    refusal: ClickstreamError | null;
  }
}

const unauthorized = (detail: string) => new ClickstreamError('unauthorized', detail);

/**
 * Decides every request's access from its headers alone, then answers a refusal before the body is read.
 * The decision is made in an onRequest hook and answered in preParsing, so that the rate limiter, which
 * runs in between, counts refused requests by client address (key guessing is rate limited too).
 *
 * With keys: 401 without a valid key, 403 for an ingest key on a route other than a client route, and for
 * a worker key on a route other than a worker route.
 * Without keys every route is open, so only this machine may use the service (see {@link localOnly}).
 * A request for a path no route serves is answered 404 before its body is read.
 */
export function registerAuth(app: App, config: Config): void {
  const keys = new KeyRing(config.adminKey, config.ingestKeys, config.workerKeys);
  app.decorateRequest('caller', null);
  app.decorateRequest('refusal', null);
  app.addHook('onRequest', (request, reply, done) => {
    try {
      if (!keys.enabled) localOnly(request);
      else {
        const access = accessOf(request);
        if (access !== 'public') request.caller = authorise(keys, request, access);
      }
    } catch (error) {
      if (!(error instanceof ClickstreamError)) throw error;
      request.refusal = error;
      if (error.code === 'unauthorized') void reply.header('www-authenticate', 'Bearer realm="clickstream"');
    }
    done();
  });
  app.addHook('preParsing', (request, _reply, payload, done) => {
    if (request.refusal) done(request.refusal);
    else if (request.routeOptions.url === undefined) done(routeNotFound(request));
    else done(null, payload);
  });
}

/**
 * Without keys the service listens on loopback, but a browser on this machine would still carry requests
 * from any web page to it: a page's `fetch` or `sendBeacon` (which needs no CORS preflight), or a page
 * whose DNS name was rebound to 127.0.0.1. So requests must be addressed to a loopback name (Host) and
 * come from no page, or from a page served from this machine (Origin).
 */
function localOnly(request: FastifyRequest): void {
  const host = hostnameOf(request.headers.host);
  if (host !== undefined && !isLoopback(host)) {
    throw new ClickstreamError(
      'forbidden',
      `without API keys the service answers only requests addressed to this machine (localhost, 127.0.0.1, [::1]), not to ${JSON.stringify(host)}; set CLICKSTREAM_ADMIN_KEY and CLICKSTREAM_INGEST_KEYS to serve other names`,
    );
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !isLoopback(hostnameOf(origin) ?? '')) {
    throw new ClickstreamError(
      'forbidden',
      `without API keys only pages served from this machine may call the service, not pages of ${JSON.stringify(origin)}; set CLICKSTREAM_INGEST_KEYS for browsers`,
    );
  }
}

/**
 * The host name of a Host header (`127.0.0.1:5000`, `[::1]:80`) or an origin; undefined when absent. Every
 * request asks, with the same few values, and parsing a URL each time was a visible part of a request's
 * cost (bench/README.md); the answers are remembered, at most HOSTNAMES_KEPT of them.
 */
function hostnameOf(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let hostname = hostnames.get(value);
  if (hostname === undefined) {
    hostname = parseHostname(value);
    // Clients choose these values: a flood of distinct ones empties the memory instead of growing it.
    if (hostnames.size >= HOSTNAMES_KEPT) hostnames.clear();
    hostnames.set(value, hostname);
  }
  return hostname;
}

const HOSTNAMES_KEPT = 256;
const hostnames = new Map<string, string>();

function parseHostname(value: string): string {
  try {
    return new URL(value.includes('://') ? value : `http://${value}`).hostname;
  } catch {
    return value;
  }
}

function authorise(keys: KeyRing, request: FastifyRequest, access: Access): Caller {
  const presented = presentedKey(request, access);
  if (presented === null) {
    throw unauthorized('this route needs an API key: send Authorization: Bearer <key> or X-API-Key: <key>');
  }
  const matched = keys.match(presented.key);
  if (matched === null) throw unauthorized('the API key is not valid');
  if (matched.role === 'admin' && presented.fromUrl) {
    // The admin key must not travel where logs, proxies and browser history keep it.
    throw unauthorized('the admin key is never accepted in the URL; send it as Authorization: Bearer <key>');
  }
  // Fail closed: an ingest key (public by design) opens the client routes and nothing else; a worker key
  // (held by training machines) the worker routes and nothing else.
  if (matched.role === 'ingest' && access !== 'client') {
    throw new ClickstreamError(
      'forbidden',
      `an ingest key authorises the client routes only; ${access} routes need the ${access === 'worker' ? 'admin key or a worker key' : 'admin key'}`,
    );
  }
  if (matched.role === 'worker' && access !== 'worker') {
    throw new ClickstreamError(
      'forbidden',
      `a worker key authorises the worker routes of /api/v1/fine-tuning/task only; ${access} routes need the ${access === 'client' ? 'admin key or an ingest key' : 'admin key'}`,
    );
  }
  return { ...matched, fromUrl: presented.fromUrl };
}

/** The key as sent: the Authorization header, else X-API-Key, else `?key=` (client routes only). */
function presentedKey(request: FastifyRequest, access: Access): { key: string; fromUrl: boolean } | null {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const bearer = /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
    if (bearer === undefined) throw unauthorized('the Authorization header must be "Bearer <key>"');
    return { key: bearer, fromUrl: false };
  }
  const header = request.headers['x-api-key'];
  if (header !== undefined) {
    if (typeof header !== 'string') throw unauthorized('send one X-API-Key header');
    return { key: header.trim(), fromUrl: false };
  }
  const query = (request.query as Record<string, unknown> | undefined)?.key;
  if (query === undefined) return null;
  if (access !== 'client') {
    throw unauthorized('a key in the URL (?key=) is accepted on client routes only; send Authorization: Bearer <key>');
  }
  if (typeof query !== 'string') throw unauthorized('send one ?key= parameter');
  return { key: query, fromUrl: true };
}

/** The OpenAPI security schemes (`components.securitySchemes`) the keys are sent with. */
export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description:
      'Authorization: Bearer <key>. The admin key (CLICKSTREAM_ADMIN_KEY) authorises every route; an ingest key (CLICKSTREAM_INGEST_KEYS) the client routes; a worker key (CLICKSTREAM_WORKER_KEYS) the worker routes. Required once any key is configured.',
  },
  apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same keys, in a header.' },
  apiKeyQuery: {
    type: 'apiKey',
    in: 'query',
    name: 'key',
    description:
      'An ingest key in the URL, for navigator.sendBeacon, which cannot set headers. Client routes only; bodies sent this way are limited to 64 KiB. Never the admin key.',
  },
} as const;

/** A route's OpenAPI `security`: which of the schemes it accepts (an empty list: no key needed). */
export function securityOf(access: Access): Record<string, string[]>[] {
  if (access === 'public') return [];
  const header: Record<string, string[]>[] = [{ bearer: [] }, { apiKeyHeader: [] }];
  return access === 'client' ? [...header, { apiKeyQuery: [] }] : header;
}
