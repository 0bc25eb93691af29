import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timestampProblem, type TimeWindow } from '../../src/domain/time.js';

const WINDOW: TimeWindow = { pastSeconds: 86400, futureSeconds: 300 };
const NOW = 1_703_400_000;

describe('timestampProblem', () => {
  it('accepts seconds inside the window', () => {
    assert.equal(timestampProblem(NOW, NOW, WINDOW), null);
    assert.equal(timestampProblem(NOW - 3600, NOW, WINDOW), null);
    assert.equal(timestampProblem(NOW + 60, NOW, WINDOW), null);
  });

  it('accepts the exact bounds of the window and nothing beyond them', () => {
    assert.equal(timestampProblem(NOW - 86400, NOW, WINDOW), null);
    assert.equal(timestampProblem(NOW + 300, NOW, WINDOW), null);
    assert.notEqual(timestampProblem(NOW - 86401, NOW, WINDOW), null);
    assert.notEqual(timestampProblem(NOW + 301, NOW, WINDOW), null);
  });

  it('names a value that is too old with the window and its variables', () => {
    const problem = timestampProblem(NOW - 86401, NOW, WINDOW);
    assert.ok(problem !== null);
    assert.match(problem, /older than/);
    assert.ok(problem.includes(`[${NOW - 86400}, ${NOW + 300}]`), problem);
    assert.ok(problem.includes(`server time ${NOW}`), problem);
    assert.ok(problem.includes('CLICKSTREAM_TIME_WINDOW_PAST_SECONDS=86400'), problem);
    assert.ok(problem.includes('CLICKSTREAM_TIME_WINDOW_FUTURE_SECONDS=300'), problem);
    assert.doesNotMatch(problem, /milliseconds|microseconds/);
  });

  it('names a value too far in the future with the window', () => {
    const problem = timestampProblem(NOW + 301, NOW, WINDOW);
    assert.ok(problem !== null);
    assert.match(problem, /later than/);
    assert.ok(problem.includes(`[${NOW - 86400}, ${NOW + 300}]`), problem);
    assert.doesNotMatch(problem, /milliseconds|microseconds/);
  });

  it('follows a configured window', () => {
    const narrow: TimeWindow = { pastSeconds: 10, futureSeconds: 0 };
    assert.equal(timestampProblem(NOW - 10, NOW, narrow), null);
    assert.equal(timestampProblem(NOW, NOW, narrow), null);
    const future = timestampProblem(NOW + 1, NOW, narrow);
    assert.ok(future !== null);
    assert.ok(future.includes('CLICKSTREAM_TIME_WINDOW_FUTURE_SECONDS=0'), future);
    assert.ok(future.includes(`[${NOW - 10}, ${NOW}]`), future);
  });

  it('says when a value looks like milliseconds and suggests the seconds', () => {
    const problem = timestampProblem(1703376873000, NOW, WINDOW);
    assert.ok(problem !== null);
    assert.match(problem, /looks like milliseconds/);
    assert.ok(problem.includes('(1703376873)'), problem);
    assert.ok(problem.startsWith('1703376873000 '), problem);
  });

  it('floors milliseconds that are not whole seconds', () => {
    const problem = timestampProblem(1703376873999, NOW, WINDOW);
    assert.ok(problem !== null);
    assert.match(problem, /looks like milliseconds; send integer UTC seconds \(1703376873\)/);
  });

  it('says when a value looks like microseconds', () => {
    const problem = timestampProblem(1703376873000000, NOW, WINDOW);
    assert.ok(problem !== null);
    assert.match(problem, /looks like microseconds/);
    assert.doesNotMatch(problem, /milliseconds/);
    assert.ok(problem.includes('(1703376873)'), problem);
  });

  it('does not call a small or negative value milliseconds', () => {
    for (const value of [0, -1, 1_000_000]) {
      const problem = timestampProblem(value, NOW, WINDOW);
      assert.ok(problem !== null, String(value));
      assert.match(problem, /older than/);
    }
  });
});
