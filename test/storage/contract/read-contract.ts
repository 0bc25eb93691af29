/**
 * Storage contract, reads: records come back with their keys in the order of the read schema (so that
 * every backend exports the same bytes), the lookups behind idempotency find exactly what is stored, and
 * a batch pages by session_number with a cap on events per session, the same pages again once released
 * and sealed.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SessionWithEvents, StoredEvent, StoredSearchResult } from '../../../src/schemas/records.js';
import { id, nowSeconds } from '../../support/factories.js';
import { GRACE, freshStorePerCase, newEvents, newSession, objectAt, type OpenTestStore } from './contract-helpers.js';

export function describeReadContract(open: OpenTestStore): void {
  const current = freshStorePerCase(open);

  it('returns keys in the order of the read schema, so that every backend exports the same bytes', async () => {
    const store = current();
    const now = nowSeconds();
    const session = newSession(now, {
      search_results: [{ object_id: id('object'), rank: 1, meta: { a: 1 } }],
      search_meta: { page: 2 },
    });
    await store.registerSession(session, now);
    await store.addEvents(session.session_id, newEvents(session.session_id, [objectAt(session, 0)], now), now);
    const read = await store.getSession(session.session_id, 10);
    assert.ok(read);
    const [event] = read.events;
    const [result] = read.search_results;
    assert.ok(event && result);
    assert.deepEqual(Object.keys(read), Object.keys(SessionWithEvents.properties));
    assert.deepEqual(Object.keys(result), Object.keys(StoredSearchResult.properties));
    assert.deepEqual(Object.keys(event), Object.keys(StoredEvent.properties));
    // Pages of a batch are the same records.
    const [paged] = await store.listBatchSessions(read.batch_id, 0, 1, 10);
    assert.ok(paged);
    assert.deepEqual(Object.keys(paged), Object.keys(SessionWithEvents.properties));
  });

  it('finds stored sessions and events for idempotency checks', async () => {
    const store = current();
    const now = nowSeconds();
    const session = newSession(now, { created_at: now - 5 });
    const { session: registered } = await store.registerSession(session, now);
    assert.deepEqual(await store.findSession(session.session_id), registered);
    assert.equal(await store.findSession(id('unknown')), null);
    const objectId = objectAt(session, 0);
    const events = newEvents(session.session_id, [objectId, objectId], now);
    await store.addEvents(session.session_id, events, now);
    const wanted = [events[1]?.event_id ?? '', id('unknown-event')];
    assert.deepEqual(await store.findEvents(session.session_id, wanted), [events[1]]);
    assert.deepEqual(await store.findEvents(id('unknown'), wanted), []);
    // In no particular order, but all of them.
    const all = await store.findEvents(
      session.session_id,
      events.map((e) => e.event_id),
    );
    assert.deepEqual(
      [...all].sort((a, b) => (a.event_id < b.event_id ? -1 : 1)),
      [...events].sort((a, b) => (a.event_id < b.event_id ? -1 : 1)),
    );
  });

  it('pages a batch by session_number with a cap on events per session', async () => {
    const store = current();
    const now = nowSeconds();
    const sessions = Array.from({ length: 5 }, () => newSession(now));
    let batchId = '';
    for (const session of sessions) batchId = (await store.registerSession(session, now)).session.batch_id;
    const first = sessions[0];
    assert.ok(first);
    const objectId = objectAt(first, 0);
    // Arrival order differs from created_at order: reads sort by created_at, then arrival.
    const events = newEvents(first.session_id, [objectId, objectId, objectId], now).map((e, i) => ({
      ...e,
      created_at: now - i,
      created_at_given: true,
    }));
    await store.addEvents(first.session_id, events, now);

    const page1 = await store.listBatchSessions(batchId, 0, 2, 2);
    assert.deepEqual(
      page1.map((s) => s.session_id),
      sessions.slice(0, 2).map((s) => s.session_id),
    );
    assert.deepEqual(
      page1[0]?.events.map((e) => e.event_id),
      [events[2]?.event_id, events[1]?.event_id],
    );
    assert.equal(page1[0].events_truncated, true);
    assert.equal(page1[1]?.events_truncated, false);
    const after = page1.at(-1)?.session_number ?? 0;
    const rest = await store.listBatchSessions(batchId, after, 100, null);
    assert.deepEqual(
      rest.map((s) => s.session_id),
      sessions.slice(2).map((s) => s.session_id),
    );
    assert.ok(
      rest.every((s) => s.session_number > after),
      'after_number is exclusive',
    );
    const all = await store.listBatchSessions(batchId, 0, 100, null);
    assert.equal(all[0]?.events.length, 3);
    assert.equal(all[0].events_truncated, false);
    assert.deepEqual(
      all[0].events.map((e) => e.event_id),
      [...events].reverse().map((e) => e.event_id),
    );
    assert.deepEqual(
      [...page1.map((s) => s.session_id), ...rest.map((s) => s.session_id)],
      all.map((s) => s.session_id),
    );
    assert.deepEqual(await store.listBatchSessions(batchId, all.at(-1)?.session_number ?? 0, 100, 10), []);
    assert.deepEqual(await store.listBatchSessions(id('no-such-batch'), 0, 100, 10), []);
    // Released, and then sealed, the batch pages the same.
    const released = await store.releaseBatch(id('release'), now + 1, GRACE);
    assert.equal(released.batch_id, batchId);
    assert.deepEqual(await store.listBatchSessions(batchId, 0, 100, null), all);
    assert.deepEqual(await store.listBatchSessions(batchId, 0, 2, 2), page1);
  });
}
