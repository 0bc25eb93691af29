/**
 * Storage contract, batch analytics: a batch whose every figure is known by hand (clicked and unclicked
 * searches, a zero-result search, a structured query, repeated clicks, a click on a result not shown, an
 * irrelevant session, other event types, a session of another batch) aggregates to exactly those figures;
 * saved figures are kept once per key.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { toNewEvents } from '../../../src/domain/event.js';
import type { NewSession } from '../../../src/domain/session.js';
import type { EventInput } from '../../../src/schemas/payloads.js';
import type { BatchAggregate } from '../../../src/storage/stats-store.js';
import type { ClickstreamStore } from '../../../src/storage/store.js';
import { id, makeEvent, nowSeconds } from '../../support/factories.js';
import { GRACE, RULES, freshStorePerCase, newSession, objectAt, type OpenTestStore } from './contract-helpers.js';

const HOUR = 3600;

function results(count: number) {
  return Array.from({ length: count }, () => ({ object_id: id('object') }));
}

async function addEvents(
  store: ClickstreamStore,
  session: NewSession,
  events: readonly Partial<EventInput>[],
  now: number,
): Promise<void> {
  const body = { session_id: session.session_id, events: events.map((e) => makeEvent(e)) };
  await store.addEvents(session.session_id, toNewEvents(body, now, RULES).events, now);
}

/**
 * Lists of an aggregate in one order, for comparison (the contract leaves their order open), without its
 * watermark (opaque).
 */
function sorted({ watermark: _watermark, ...aggregate }: BatchAggregate): Omit<BatchAggregate, 'watermark'> {
  const by =
    <T>(key: (item: T) => string | number) =>
    (a: T, b: T) =>
      key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  return {
    ...aggregate,
    resultCounts: [...aggregate.resultCounts].sort(by((r) => r.results)),
    clickedPositions: [...aggregate.clickedPositions].sort(by((p) => p.position)),
    eventsByType: [...aggregate.eventsByType].sort(by((e) => e.eventType)),
    queries: [...aggregate.queries].sort(by((q) => q.query)),
    searchHours: [...aggregate.searchHours].sort(by((h) => h.hour)),
    clickHours: [...aggregate.clickHours].sort(by((h) => h.hour)),
  };
}

export function describeStatsContract(open: OpenTestStore): void {
  const current = freshStorePerCase(open);

  it('aggregates a batch by the counting rules, leaving out irrelevant sessions and other batches', async () => {
    const store = current();
    const now = nowSeconds();
    const hour = Math.floor(now / HOUR) * HOUR;
    const earlier = hour - 2 * HOUR + 5;

    // A session of an earlier batch, clicked: in no figure of the next batch.
    const old = newSession(now, { search_query: 'shoes', search_results: results(3) });
    await store.registerSession(old, now);
    await addEvents(store, old, [{ object_id: objectAt(old, 2) }], now);
    const first = await store.releaseBatch(id('release'), now, GRACE);

    const clicked = newSession(now, { search_query: 'shoes', search_results: results(3), created_at: earlier });
    const unclicked = newSession(now, { search_query: 'shoes', search_results: results(3) });
    const empty = newSession(now, { search_query: 'socks', search_results: [] });
    const structured = newSession(now, { search_query: { text: 'hat', page: 1 }, search_results: results(2) });
    const irrelevant = newSession(now, { search_query: 'shoes', search_results: results(2) });
    for (const session of [clicked, unclicked, empty, structured, irrelevant])
      await store.registerSession(session, now);
    await addEvents(
      store,
      clicked,
      [
        { object_id: objectAt(clicked, 1), created_at: earlier },
        { object_id: objectAt(clicked, 1) },
        { object_id: objectAt(clicked, 0) },
        { object_id: objectAt(clicked, 2), event_type: 'view' },
      ],
      now,
    );
    await addEvents(store, structured, [{ object_id: objectAt(structured, 1) }, { object_id: id('not-shown') }], now);
    await addEvents(store, irrelevant, [{ object_id: objectAt(irrelevant, 0) }], now);
    await store.markIrrelevant(irrelevant.session_id, now);

    const batchId = (await store.getSession(clicked.session_id, 0))?.batch_id;
    assert.ok(batchId);
    const aggregate = await store.stats.aggregateBatch(batchId);
    assert.ok(aggregate);
    assert.deepEqual(sorted(aggregate), {
      sessions: 5,
      irrelevant: 1,
      searches: 4,
      clicked: 2,
      zeroResults: 1,
      clicks: 5,
      // The clicked session's top click is at 0, the structured one's at 1 (its other click was not shown).
      topClickPositionSum: 1,
      topClickCount: 2,
      resultCounts: [
        { results: 0, searches: 1 },
        { results: 2, searches: 1 },
        { results: 3, searches: 2 },
      ],
      // Two clicks at position 1 of one session count once.
      clickedPositions: [
        { position: 0, searches: 1 },
        { position: 1, searches: 2 },
      ],
      eventsByType: [
        { eventType: 'click', count: 5 },
        { eventType: 'view', count: 1 },
      ],
      queries: [
        { query: '"shoes"', searches: 2, clicked: 1, zeroResults: 0 },
        { query: '"socks"', searches: 1, clicked: 0, zeroResults: 1 },
        { query: '{"text":"hat","page":1}', searches: 1, clicked: 1, zeroResults: 0 },
      ].sort((a, b) => (a.query < b.query ? -1 : 1)),
      searchHours: [
        { hour: hour - 2 * HOUR, searches: 1 },
        { hour, searches: 3 },
      ],
      clickHours: [
        { hour: hour - 2 * HOUR, clicks: 1 },
        { hour, clicks: 4 },
      ],
    });

    const previous = await store.stats.aggregateBatch(first.batch_id);
    assert.ok(previous);
    assert.equal(previous.searches, 1);
    assert.equal(previous.clicks, 1);
    assert.deepEqual(previous.clickedPositions, [{ position: 2, searches: 1 }]);
  });

  it('tells whether an event or an irrelevant flag reached the batch since an aggregate', async () => {
    const store = current();
    const now = nowSeconds();
    const [first, second] = [newSession(now), newSession(now)];
    await store.registerSession(first, now);
    await store.registerSession(second, now);
    await addEvents(store, first, [{ object_id: objectAt(first, 0) }], now);
    const batch = await store.releaseBatch(id('release'), now, GRACE);
    const before = await store.stats.aggregateBatch(batch.batch_id);
    assert.ok(before);
    assert.equal(await store.stats.changedSince(batch.batch_id, before.watermark), false);
    // Writes to the next batch do not change this one.
    const next = newSession(now);
    await store.registerSession(next, now);
    await addEvents(store, next, [{ object_id: objectAt(next, 0) }], now);
    assert.equal(await store.stats.changedSince(batch.batch_id, before.watermark), false);

    await addEvents(store, second, [{ object_id: objectAt(second, 1) }], now + 1);
    assert.equal(await store.stats.changedSince(batch.batch_id, before.watermark), true);
    const late = await store.stats.aggregateBatch(batch.batch_id);
    assert.ok(late);
    assert.equal(late.clicked, 2);
    assert.equal(await store.stats.changedSince(batch.batch_id, late.watermark), false);

    await store.markIrrelevant(first.session_id, now + 2);
    assert.equal(await store.stats.changedSince(batch.batch_id, late.watermark), true);
  });

  it('answers null for an unknown batch and zeros for a batch without sessions', async () => {
    const store = current();
    assert.equal(await store.stats.aggregateBatch(id('batch')), null);
    const [collecting] = await store.listBatches(1);
    assert.ok(collecting);
    const aggregate = await store.stats.aggregateBatch(collecting.batch_id);
    assert.ok(aggregate);
    assert.equal(aggregate.sessions, 0);
    assert.equal(aggregate.searches, 0);
    assert.deepEqual(aggregate.queries, []);
    assert.deepEqual(aggregate.clickedPositions, []);
  });

  it('keeps the first figures saved under a key, apart from other keys', async () => {
    const store = current();
    const now = nowSeconds();
    const session = newSession(now);
    await store.registerSession(session, now);
    const batch = await store.releaseBatch(id('release'), now, GRACE);
    assert.equal(await store.stats.savedFigures(batch.batch_id, ''), null);
    await store.stats.saveFigures(batch.batch_id, '', '{"n":1}', now);
    await store.stats.saveFigures(batch.batch_id, '', '{"n":2}', now);
    await store.stats.saveFigures(batch.batch_id, 'query.text', '{"n":3}', now);
    assert.equal(await store.stats.savedFigures(batch.batch_id, ''), '{"n":1}');
    assert.equal(await store.stats.savedFigures(batch.batch_id, 'query.text'), '{"n":3}');
  });
}
