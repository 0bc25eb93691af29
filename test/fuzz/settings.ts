/**
 * What the service under test is configured with (its keys and limits), the keys the requests present,
 * and the pools of ids the generators and the baseline share, so that requests meet each other: retries,
 * conflicts, events on registered sessions.
 */

export const ADMIN_KEY = 'fuzz-admin-key-0123456789abcdef';
export const INGEST_KEY = 'fuzz-ingest-key-0123456789abcdef';
export const INGEST_KEY_2 = 'fuzz-ingest-key-second-98765432';
export const WRONG_KEY = 'fuzz-wrong-key-0123456789abcdef';

export const MAX_ID_LENGTH = 256;
/** The largest acknowledged body that `retry` requests send again. */
export const MAX_RETRIED_BODY_BYTES = 100_000;
/** The deepest JSON nesting a body may have. */
export const MAX_JSON_DEPTH = 32;
/** Most items in each section of an ingest body (the default, set explicitly so that the model knows it). */
export const MAX_INGEST_ITEMS = 1000;

/** The environment of the app under test. */
export const APP_VARIABLES = {
  CLICKSTREAM_ADMIN_KEY: ADMIN_KEY,
  CLICKSTREAM_INGEST_KEYS: `${INGEST_KEY},${INGEST_KEY_2}`,
  CLICKSTREAM_MAX_ID_LENGTH: String(MAX_ID_LENGTH),
  CLICKSTREAM_MAX_INGEST_ITEMS: String(MAX_INGEST_ITEMS),
  CLICKSTREAM_MAX_JSON_DEPTH: String(MAX_JSON_DEPTH),
  CLICKSTREAM_LATE_EVENT_GRACE_SECONDS: '600',
};

const range = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);
/** Ids the generators share, so that requests meet each other: retries, conflicts, events on sessions. */
export const SESSION_POOL = range('fz-s-', 40);
export const BASELINE_SESSIONS = range('base-s-', 12);
export const OBJECT_POOL = range('o-', 16);
export const EVENT_POOL = range('e-', 24);
export const RELEASE_POOL = range('rel-', 6);
