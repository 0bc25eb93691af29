/**
 * Storage contract, sessions: a registration is kept as given (structured and empty queries, zero and
 * many results, any JSON string), a re-registration answers with the stored session, and sessions are
 * numbered from 1 in registration order within each batch.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { toNewEvents } from '../../../src/domain/event.js';
import { id, makeEvent, nowSeconds } from '../../support/factories.js';
import {
  GRACE,
  RULES,
  freshStorePerCase,
  newEvents,
  newSession,
  objectAt,
  type OpenTestStore,
} from './contract-helpers.js';

export function describeSessionContract(open: OpenTestStore): void {
  const current = freshStorePerCase(open);

  it('registers a session with its results and positions, and returns it unchanged on re-registration', async () => {
    const store = current();
    const now = nowSeconds();
    const session = newSession(now, {
      search_query: { text: 'red shoes', filters: [{ size: 42 }] },
      search_meta: { locale: 'de-DE', nested: { a: [1, 2.5, 'ü'] } },
      payload_filter: { brand: 'acme' },
      sort_by: { field: 'price', order: 'asc' },
      created_at: now - 10,
    });
    const [collecting] = await store.listBatches(1);
    assert.ok(collecting);
    const first = await store.registerSession(session, now);
    assert.equal(first.created, true);
    // Everything as given, in the collecting batch, and the first session of that batch.
    assert.deepEqual(first.session, {
      ...session,
      batch_id: collecting.batch_id,
      session_number: 1,
      is_irrelevant: false,
    });
    const again = await store.registerSession({ ...session, search_query: 'different' }, now + 1);
    assert.equal(again.created, false);
    assert.deepEqual(again.session, first.session);
    assert.deepEqual(again.session.search_query, { text: 'red shoes', filters: [{ size: 42 }] });
    assert.deepEqual(
      again.session.search_results.map((r) => [r.object_id, r.position, r.rank]),
      session.search_results.map((r, i) => [r.object_id, i, r.rank]),
    );
    assert.deepEqual(again.session.search_results[0]?.meta, { title: 'first' });
    assert.equal(again.session.created_at, now - 10);
    assert.equal(again.session.created_at_given, true);
    assert.equal(again.session.is_irrelevant, false);
    assert.deepEqual(await store.findSession(session.session_id), first.session);
  });

  it('keeps a zero-result search and a string query as given', async () => {
    const store = current();
    const now = nowSeconds();
    const session = newSession(now, { search_query: '', search_results: [] });
    await store.registerSession(session, now);
    const read = await store.getSession(session.session_id, 10);
    assert.ok(read);
    assert.equal(read.search_query, '');
    assert.deepEqual(read.search_results, []);
    assert.deepEqual(read.events, []);
    assert.equal(read.events_truncated, false);
    const found = await store.findSession(session.session_id);
    assert.equal(found?.search_query, '');
    assert.deepEqual(found.search_results, []);
  });

  it('keeps a long result list whole and in order, with each result as given', async () => {
    // 123 results: more than a backend may write in one statement (SQLite writes 50 at a time).
    const store = current();
    const now = nowSeconds();
    const results = Array.from({ length: 123 }, (_, i) => ({
      object_id: id(`object-${i}`),
      ...(i % 3 === 0 ? { rank: i / 7 } : {}),
      ...(i % 4 === 0 ? { meta: { i, title: `result ${i}` } } : {}),
    }));
    const session = newSession(now, { search_results: results });
    await store.registerSession(session, now);
    const read = await store.getSession(session.session_id, 10);
    assert.ok(read);
    assert.deepEqual(
      read.search_results.map((r) => [r.object_id, r.position, r.rank ?? null, r.meta ?? null]),
      results.map((r, i) => [r.object_id, i, r.rank ?? null, r.meta ?? null]),
    );
    const [event] = newEvents(session.session_id, [objectAt(session, 122)], now + 1);
    assert.ok(event);
    await store.addEvents(session.session_id, [event], now + 1);
    const withEvent = await store.getSession(session.session_id, 10);
    assert.deepEqual(
      withEvent?.events.map((e) => [e.event_id, e.position]),
      [[event.event_id, 122]],
    );
  });

  it('keeps any JSON string as given: lone surrogates, NUL, escapes; neighbours in the same commit too', async () => {
    // Strings JSON can carry but a database's own JSON functions may refuse to unpack.
    const store = current();
    const odd = 'lone \ud800 and \udc00, NUL \u0000, quote " backslash \\ \\u0000, emoji 😀, \u2028';
    const now = nowSeconds();
    const weird = newSession(now, {
      search_query: { text: odd, [odd]: [odd] },
      search_meta: { [odd]: odd },
      search_results: [
        { object_id: id('object'), meta: { note: odd } },
        { object_id: id('object'), rank: 0.5, item_info: { [odd]: 1 } },
      ],
    });
    const plain = newSession(now);
    // Written together: whatever one of them holds must not fail the other's commit.
    const registered = await Promise.all([weird, plain].map((session) => store.registerSession(session, now)));
    assert.deepEqual(
      registered.map((r) => r.created),
      [true, true],
    );
    const events = toNewEvents(
      { session_id: weird.session_id, events: [makeEvent({ object_id: objectAt(weird, 1), meta: { [odd]: odd } })] },
      now,
      RULES,
    ).events;
    const added = await Promise.all([
      store.addEvents(weird.session_id, events, now),
      store.addEvents(plain.session_id, newEvents(plain.session_id, [objectAt(plain, 0)], now), now),
    ]);
    assert.deepEqual(
      added.map((a) => a.stored),
      [1, 1],
    );
    const read = await store.getSession(weird.session_id, 10);
    assert.ok(read);
    assert.deepEqual(read.search_query, weird.search_query);
    assert.deepEqual(read.search_meta, weird.search_meta);
    assert.deepEqual(read.search_results, weird.search_results);
    const [event] = read.events;
    assert.ok(event);
    assert.deepEqual(event.meta, { [odd]: odd });
    assert.equal(event.position, 1);
    // The same registration and the same events again are recognised as the same.
    assert.equal((await store.registerSession(weird, now)).created, false);
    assert.deepEqual(await store.addEvents(weird.session_id, events, now), { stored: 0, duplicates: 1 });
    assert.deepEqual(await store.checkIntegrity(), []);
    // And they are released like any other session.
    assert.equal((await store.releaseBatch(id('release'), now + 1, GRACE)).session_count, 2);
  });

  it('numbers sessions from 1 in registration order within each batch', async () => {
    const store = current();
    const now = nowSeconds();
    const [collecting] = await store.listBatches(1);
    assert.ok(collecting);
    const numbers: number[] = [];
    for (const [i, session] of [newSession(now), newSession(now), newSession(now)].entries()) {
      const { session: stored } = await store.registerSession(session, now + i);
      assert.equal(stored.batch_id, collecting.batch_id);
      numbers.push(stored.session_number);
    }
    assert.equal(numbers[0], 1);
    // Increasing, gaps allowed.
    assert.deepEqual(
      [...numbers].sort((a, b) => a - b),
      numbers,
    );
    assert.equal(new Set(numbers).size, 3);
    const released = await store.releaseBatch(id('release'), now + 3, GRACE);
    assert.equal(released.batch_id, collecting.batch_id);
    assert.equal(released.session_count, 3);
    const next = await store.registerSession(newSession(now), now + 4);
    assert.notEqual(next.session.batch_id, collecting.batch_id);
    assert.equal(next.session.batch_id, (await store.listBatches(1))[0]?.batch_id);
    assert.equal(next.session.session_number, 1);
  });
}
