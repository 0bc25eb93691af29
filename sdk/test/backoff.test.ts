/** Backoff with full jitter and Retry-After, as numbers; the client's use of them runs on a fake clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, retryAfterMs } from '../src/backoff.js';

const POLICY = { baseDelayMs: 500, maxDelayMs: 30_000 };

describe('backoff', () => {
  it('waits up to base * 2^(failures - 1), capped, drawn uniformly below it', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 7, 8, 40].map((failures) => backoffDelay(failures, POLICY, () => 0.999999)),
      [499, 999, 1999, 3999, 29_999, 29_999, 29_999],
    );
    assert.equal(
      backoffDelay(5, POLICY, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(3, POLICY, () => 0.5),
      1000,
    );
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    assert.equal(retryAfterMs('30', now), 30_000);
    assert.equal(retryAfterMs('Thu, 03 Dec 2026 10:00:05 GMT', now), 5000);
    assert.equal(retryAfterMs('Thu, 03 Dec 2026 09:00:00 GMT', now), 0);
    assert.equal(retryAfterMs(null, now), undefined);
    assert.equal(retryAfterMs('soon', now), undefined);
  });
});
