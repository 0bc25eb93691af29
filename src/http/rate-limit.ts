import rateLimit from '@fastify/rate-limit';
import type { Config } from '../config/config.js';
import { ClickstreamError } from '../domain/errors.js';
import type { App } from './app-types.js';
import { accessOf } from './auth.js';

/**
 * CLICKSTREAM_RATE_LIMIT_PER_MINUTE requests per minute for each key, or for each client address when a
 * request has no key (no keys configured). Over the limit: 429 rate_limited with Retry-After. Public
 * routes (health, readiness, the API document) are not counted. Counters live in this process: with N
 * replicas behind a balancer a client gets up to N times the limit. Requests refused for their key (401,
 * 403) are answered before they are counted; they cost no body parsing and no store access.
 */
export async function registerRateLimit(app: App, config: Config): Promise<void> {
  const perMinute = config.rateLimitPerMinute;
  if (perMinute === 0) return;
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    // The key's id (never the key), or the address.
    keyGenerator: (request) => (request.caller ? `key:${request.caller.keyId}` : `ip:${request.ip}`),
    allowList: (request) => accessOf(request.routeOptions.url) === 'public',
    errorResponseBuilder: (request, context) =>
      new ClickstreamError(
        'rate_limited',
        `more than ${context.max} requests in a minute from this ${request.caller ? 'key' : 'client address'} (CLICKSTREAM_RATE_LIMIT_PER_MINUTE); retry in ${context.after}`,
      ),
  });
}
