/** How long to wait between attempts: exponential backoff with full jitter. */
export interface RetryPolicy {
  /** The first retry waits up to this long (default 500 ms); each failure doubles it. */
  readonly baseDelayMs: number;
  /** No wait is longer (default 30 s). */
  readonly maxDelayMs: number;
}

/**
 * The wait before the next attempt after `failures` failures in a row: a uniformly random time between 0
 * and min(max, base * 2^(failures - 1)) ("full jitter"), so that many clients that failed together do
 * not come back together.
 */
export function backoffDelay(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.floor(random() * ceiling);
}

/** A Retry-After header (seconds, or an HTTP date) as milliseconds from `now`, or undefined. */
export function retryAfterMs(header: string | null | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
