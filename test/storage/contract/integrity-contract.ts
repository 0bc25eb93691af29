/**
 * Storage contract, integrity: a store's own consistency check finds nothing on a new store, nor after
 * every kind of write the contract allows, refused writes included.
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

export function describeIntegrityContract(open: OpenTestStore): void {
  const current = freshStorePerCase(open);

  it('passes its integrity check when new', async () => {
    assert.deepEqual(await current().checkIntegrity(), []);
  });

  it('passes its integrity check after every kind of write, refused ones included', async () => {
    const store = current();
    const now = nowSeconds();
    await rejectsWith(store.releaseBatch(id('release'), now, GRACE), 'no_sessions_to_release');
    const session = newSession(now);
    const empty = newSession(now, { search_results: [] });
    await Promise.all([session, empty].map((s) => store.registerSession(s, now)));
    const [click, unseen] = newEvents(session.session_id, [objectAt(session, 2), id('unseen')], now);
    assert.ok(click && unseen);
    await store.addEvents(session.session_id, [click, unseen], now);
    await store.addEvents(session.session_id, [click], now);
    await rejectsWith(
      store.addEvents(session.session_id, [{ ...click, object_id: id('other') }], now),
      'event_conflict',
    );
    await store.markIrrelevant(empty.session_id, now);
    const released = await store.releaseBatch(id('release'), now + 1, GRACE);
    await store.addEvents(session.session_id, newEvents(session.session_id, [objectAt(session, 0)], now + 2), now + 2);
    const sealedAt = released.sealed_at ?? 0;
    await rejectsWith(
      store.addEvents(session.session_id, newEvents(session.session_id, [objectAt(session, 1)], now), sealedAt),
      'session_closed',
    );
    await store.registerSession(newSession(now), sealedAt);
    assert.deepEqual(await store.checkIntegrity(), []);
    await store.releaseBatch(id('release'), sealedAt + 1, GRACE);
    assert.deepEqual(await store.checkIntegrity(), []);
  });
}
