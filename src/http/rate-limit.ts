import rateLimit from '@fastify/rate-limit';
import type { Config } from '../config/config.js';
import { ClickstreamError } from '../domain/errors.js';
import type { App } from './app-types.js';
import { accessOf, type Caller } from './auth.js';

/**
 * CLICKSTREAM_RATE_LIMIT_PER_MINUTE requests per minute; over it, 429 rate_limited with Retry-After.
 * What is counted together:
 * - the admin key: all its requests;
 * - an ingest key: its requests from one client address. Ingest keys are public, so counting a key as a
 *   whole would let anyone who copied it from a page use up every user's budget;
 * - a request without a valid key (no keys configured, or one about to be refused 401/403): its client
 *   address. Refusals are counted before they are answered, so key guessing is limited too.
 * Public routes (health, readiness, the API document) are not counted, nor are paths no route serves
 * (answered 404 before their body is read). Counters live in this process: with N replicas behind a
 * balancer a client gets up to N times the limit.
 */
export async function registerRateLimit(app: App, config: Config): Promise<void> {
  const perMinute = config.rateLimitPerMinute;
  if (perMinute === 0) return;
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    // The key's id (never the key), or the address.
    keyGenerator: (request) => {
      const caller = request.caller;
      if (caller?.role === 'admin') return caller.keyId;
      return caller ? `${caller.keyId} ${request.ip}` : request.ip;
    },
    allowList: (request) => accessOf(request) === 'public',
    errorResponseBuilder: (request, context) =>
      new ClickstreamError(
        'rate_limited',
        `more than ${context.max} requests in a minute from this ${counted(request.caller)} (CLICKSTREAM_RATE_LIMIT_PER_MINUTE); retry in ${context.after}`,
      ),
  });
}

function counted(caller: Caller | null): string {
  if (caller?.role === 'admin') return 'key';
  return caller ? 'key and client address' : 'client address';
}
