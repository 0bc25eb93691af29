/**
 * Storage contract, events and flags on collecting sessions: events carry the position of their object
 * (null when it was not shown), re-sent events are duplicates and changed ones conflicts (all or nothing),
 * unknown sessions are refused, and the irrelevant flag is idempotent and shows in every read.
 * Writes after a release and after sealing are in release-contract.ts.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { id, nowSeconds } from '../../support/factories.js';
import {
  GRACE,
  freshStorePerCase,
  newEvents,
  newSession,
  objectAt,
  rejectsWith,
  type OpenTestStore,
} from './contract-helpers.js';

export function describeEventContract(open: OpenTestStore): void {
  const current = freshStorePerCase(open);

  it('stores events with the position of their object, null for objects not shown', async () => {
    const store = current();
    const now = nowSeconds();
    const session = newSession(now);
    await store.registerSession(session, now);
    const events = newEvents(session.session_id, [objectAt(session, 1), id('unseen'), objectAt(session, 0)], now);
    assert.deepEqual(await store.addEvents(session.session_id, events, now), {
      stored: 3,
      duplicates: 0,
    });
    const read = await store.getSession(session.session_id, 100);
    assert.ok(read);
    const positions = [1, null, 0];
    assert.deepEqual(
      read.events.map((e) => [e.event_id, e.position]),
      events.map((e, i) => [e.event_id, positions[i]]),
    );
    assert.equal(read.events[0]?.event_type, 'click');
    // Each event as given, in arrival order (they share created_at), with its position.
    assert.deepEqual(
      read.events,
      events.map(({ created_at_given: _given, ...event }, i) => ({ ...event, position: positions[i] ?? null })),
    );
    assert.equal(read.events_truncated, false);
  });

  it('counts re-sent events as duplicates and refuses different content, storing nothing of that call', async () => {
    const store = current();
    const now = nowSeconds();
    const session = newSession(now);
    await store.registerSession(session, now);
    const objectId = objectAt(session, 0);
    const [event] = newEvents(session.session_id, [objectId], now);
    assert.ok(event);
    assert.deepEqual(await store.addEvents(session.session_id, [event], now), { stored: 1, duplicates: 0 });
    // A retry without created_at gets a later server default; it is still the same event.
    const retry = { ...event, created_at: now + 5, created_at_given: false };
    assert.deepEqual(await store.addEvents(session.session_id, [retry], now + 5), {
      stored: 0,
      duplicates: 1,
    });
    const [fresh] = newEvents(session.session_id, [objectId], now);
    assert.ok(fresh);
    const changed = { ...event, event_type: 'purchase' };
    const conflict = await rejectsWith(store.addEvents(session.session_id, [fresh, changed], now), 'event_conflict');
    assert.ok(conflict.message.includes(event.event_id), `the conflict names the event: ${conflict.message}`);
    const read = await store.getSession(session.session_id, 100);
    assert.deepEqual(
      read?.events.map((e) => [e.event_id, e.event_type, e.created_at]),
      [[event.event_id, 'click', now]],
    );
    assert.deepEqual(await store.findEvents(session.session_id, [fresh.event_id]), []);
  });

  it('refuses events and flags for an unknown session', async () => {
    const store = current();
    const now = nowSeconds();
    const unknown = id('no-such-session');
    const events = newEvents(unknown, ['x'], now);
    await rejectsWith(store.addEvents(unknown, events, now), 'session_not_found');
    await rejectsWith(store.markIrrelevant(unknown, now), 'session_not_found');
    assert.equal(await store.getSession(unknown, 10), null);
    assert.equal(await store.findSession(unknown), null);
    assert.deepEqual(
      await store.findEvents(
        unknown,
        events.map((e) => e.event_id),
      ),
      [],
    );
    // Nothing was created on the way: the collecting batch is still the only one, and empty.
    assert.deepEqual(
      (await store.listBatches(10)).map((b) => [b.released_at, b.session_count]),
      [[null, 0]],
    );
  });

  it('flags irrelevant sessions idempotently and shows the flag in reads', async () => {
    const store = current();
    const now = nowSeconds();
    const session = newSession(now);
    const other = newSession(now);
    const { session: stored } = await store.registerSession(session, now);
    await store.registerSession(other, now);
    await store.markIrrelevant(session.session_id, now);
    await store.markIrrelevant(session.session_id, now);
    assert.equal((await store.getSession(session.session_id, 10))?.is_irrelevant, true);
    assert.equal((await store.findSession(session.session_id))?.is_irrelevant, true);
    const page = await store.listBatchSessions(stored.batch_id, 0, 100, 10);
    assert.deepEqual(
      page.map((s) => [s.session_id, s.is_irrelevant]),
      [
        [session.session_id, true],
        [other.session_id, false],
      ],
    );
    // A flagged session stays stored and is released with its batch.
    const released = await store.releaseBatch(id('release'), now + 1, GRACE);
    assert.equal(released.session_count, 2);
    const [read] = await store.listBatchSessions(released.batch_id, 0, 1, 10);
    assert.equal(read?.session_id, session.session_id);
    assert.equal(read.is_irrelevant, true);
  });
}
