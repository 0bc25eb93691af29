/**
 * The clickstream collector's client: register searches and their interactions from a browser page or a
 * Node process; delivery is batched, retried, persisted across page loads and tabs, and sent with
 * navigator.sendBeacon when the page goes away. See README.md for the guarantees and their limits.
 */
export { Client, createClient, version } from './client.js';
export type { ClientOptions, Search, SearchInput } from './client.js';
export { backoffDelay, retryAfterMs } from './backoff.js';
export type { RetryPolicy } from './backoff.js';
export { newId } from './ids.js';
export type { DeliveryProblem, FieldError, JsonObject, SearchResult } from './types.js';
