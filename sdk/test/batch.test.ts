/** The batching rules: order, a session's events behind its registration, and the collector's limits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BatchLimits, keyOf, nextBatch } from '../src/batch.js';
import type { Item } from '../src/types.js';

const LIMITS: BatchLimits = { items: 1000, eventsPerSession: 1000, bytes: 1024 * 1024 };
const session = (sid: string): Item => ({
  k: 's',
  sid,
  body: { session_id: sid, search_query: 'q', search_results: [{ object_id: 'a' }] },
  t: 0,
  n: 0,
});
const event = (sid: string, id: string): Item => ({
  k: 'e',
  sid,
  body: { event_id: id, object_id: 'a', event_type: 'click' },
  t: 0,
  n: 0,
});
const flag = (sid: string): Item => ({ k: 'i', sid, t: 0, n: 0 });
const idle = () => false;

describe('nextBatch', () => {
  it('puts registrations first, groups events by session in queue order, and flags last', () => {
    const queue = [session('s1'), event('s1', 'e1'), flag('s1'), session('s2'), event('s2', 'e2'), event('s1', 'e3')];
    const batch = nextBatch(queue, LIMITS, idle);
    assert.ok(batch);
    assert.deepEqual(JSON.parse(batch.body), {
      sessions: [
        { session_id: 's1', search_query: 'q', search_results: [{ object_id: 'a' }] },
        { session_id: 's2', search_query: 'q', search_results: [{ object_id: 'a' }] },
      ],
      events: [
        {
          session_id: 's1',
          events: [
            { event_id: 'e1', object_id: 'a', event_type: 'click' },
            { event_id: 'e3', object_id: 'a', event_type: 'click' },
          ],
        },
        { session_id: 's2', events: [{ event_id: 'e2', object_id: 'a', event_type: 'click' }] },
      ],
      irrelevant: ['s1'],
    });
    assert.deepEqual(batch.items.map(keyOf).sort(), queue.map(keyOf).sort());
  });

  it('holds the events and flag of a session whose registration is in flight', () => {
    const queue = [session('s1'), event('s1', 'e1'), flag('s1'), event('s2', 'e2')];
    const batch = nextBatch(queue, LIMITS, (item) => item.k === 's');
    assert.ok(batch);
    // s2's registration is not queued: acknowledged already, so its events go.
    assert.deepEqual(batch.items.map(keyOf), ['e s2 e2']);
  });

  it('holds the events of a registration that did not fit, and sends them once it went', () => {
    const queue = [session('s1'), session('s2'), event('s2', 'e2'), event('s1', 'e1')];
    const first = nextBatch(queue, { ...LIMITS, items: 1 }, idle);
    assert.deepEqual(first?.items.map(keyOf), ['s s1', 'e s1 e1']);
    const rest = queue.filter((item) => !first.items.includes(item));
    assert.deepEqual(nextBatch(rest, { ...LIMITS, items: 1 }, idle)?.items.map(keyOf), ['s s2', 'e s2 e2']);
  });

  it('keeps every section, every group and the body within the limits', () => {
    const queue = [session('s1'), ...Array.from({ length: 25 }, (_, i) => event('s1', `e${i}`))];
    const grouped = nextBatch(queue, { ...LIMITS, eventsPerSession: 10 }, idle);
    assert.equal(grouped?.events[0]?.length, 10);
    const bytes = 600;
    const small = nextBatch(queue, { ...LIMITS, bytes }, idle);
    assert.ok(small && small.items.length < queue.length);
    assert.ok(new TextEncoder().encode(small.body).length <= bytes, `${small.body.length} bytes`);
    // Counted in UTF-8: a body of non-ASCII text is measured as sent.
    const wide = [session('é'.repeat(100)), event('é'.repeat(100), 'ü'.repeat(100))];
    const measured = nextBatch(wide, { ...LIMITS, bytes: 700 }, idle);
    assert.ok(measured && new TextEncoder().encode(measured.body).length <= 700);
  });

  it('sends an item too large for the byte limit alone, rather than never', () => {
    const big: Item = {
      k: 's',
      sid: 'big',
      body: { session_id: 'big', search_query: 'x'.repeat(2000), search_results: [] },
      t: 0,
      n: 0,
    };
    const queue = [session('s1'), big, event('big', 'e1'), session('s2')];
    const first = nextBatch(queue, { ...LIMITS, bytes: 1000 }, idle);
    assert.deepEqual(first?.items.map(keyOf), ['s s1', 's s2']);
    const alone = nextBatch(queue.slice(1, 3), { ...LIMITS, bytes: 1000 }, idle);
    assert.deepEqual(alone?.items.map(keyOf), ['s big']);
  });

  it('returns null when nothing can be sent', () => {
    assert.equal(nextBatch([], LIMITS, idle), null);
    assert.equal(
      nextBatch([session('s1'), event('s1', 'e1')], LIMITS, () => true),
      null,
    );
  });
});
