/**
 * Storage contract, batches and releases: a new store has one collecting batch; a release closes it under
 * an idempotency key (also for concurrent retries) and creates nothing when no session was collected;
 * late events and flags are taken until the batch is sealed and refused afterwards; batches list newest
 * first.
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

export function describeReleaseContract(open: OpenTestStore): void {
  const current = freshStorePerCase(open);

  it('starts with exactly one batch, collecting and empty', async () => {
    const store = current();
    const now = nowSeconds();
    const batches = await store.listBatches(1000);
    assert.equal(batches.length, 1);
    const [batch] = batches;
    assert.ok(batch);
    assert.equal(batch.released_at, null);
    assert.equal(batch.session_count, 0);
    assert.equal(batch.release_id, null);
    assert.equal(batch.sealed_at, null);
    // Created while the store opened, in UTC seconds (not milliseconds).
    assert.ok(Number.isInteger(batch.created_at), `created_at ${batch.created_at}`);
    assert.ok(batch.created_at <= now && batch.created_at > now - 300, `created_at ${batch.created_at}, now ${now}`);
    assert.deepEqual(await store.getBatch(batch.batch_id), batch);
    assert.deepEqual(await store.listBatchSessions(batch.batch_id, 0, 100, null), []);
  });

  it('releasing with no session collected creates nothing, on a new store and after a release', async () => {
    const store = current();
    const now = nowSeconds();
    const before = await store.listBatches(1000);
    const releaseId = id('release');
    await rejectsWith(store.releaseBatch(releaseId, now, GRACE), 'no_sessions_to_release');
    assert.deepEqual(await store.listBatches(1000), before);
    // The refused release did not take its id: the next release may use it.
    await store.registerSession(newSession(now), now);
    const released = await store.releaseBatch(releaseId, now + 1, GRACE);
    assert.equal(released.release_id, releaseId);
    assert.equal(released.session_count, 1);
    const afterRelease = await store.listBatches(1000);
    assert.equal(afterRelease.length, 2);
    await rejectsWith(store.releaseBatch(id('release'), now + 2, GRACE), 'no_sessions_to_release');
    assert.deepEqual(await store.listBatches(1000), afterRelease);
  });

  it('releases idempotently by release_id, also for concurrent retries', async () => {
    const store = current();
    const now = nowSeconds();
    await store.registerSession(newSession(now), now);
    const releaseId = id('release');
    const results = await Promise.all(Array.from({ length: 8 }, () => store.releaseBatch(releaseId, now + 1, GRACE)));
    const ids = new Set(results.map((b) => b.batch_id));
    assert.equal(ids.size, 1);
    const [released] = results;
    assert.ok(released);
    for (const result of results) assert.deepEqual(result, released);
    assert.equal(released.release_id, releaseId);
    assert.equal(released.released_at, now + 1);
    assert.equal(released.sealed_at, now + 1 + GRACE);
    assert.equal(released.session_count, 1);
    // A later retry, after other sessions arrived, still answers with the same batch.
    await store.registerSession(newSession(now), now + 2);
    assert.deepEqual(await store.releaseBatch(releaseId, now + 3, GRACE), released);
    assert.deepEqual(await store.getBatch(released.batch_id), released);
    // The retries released one batch only; the later session still collects.
    const batches = await store.listBatches(1000);
    assert.deepEqual(
      batches.map((b) => [b.batch_id === released.batch_id, b.released_at === null, b.session_count]),
      [
        [false, true, 1],
        [true, false, 1],
      ],
    );
  });

  it('accepts late events during the grace period and refuses them once sealed', async () => {
    const store = current();
    const now = nowSeconds();
    const session = newSession(now);
    const flagged = newSession(now);
    await store.registerSession(session, now);
    await store.registerSession(flagged, now);
    const objectId = objectAt(session, 0);
    const released = await store.releaseBatch(id('release'), now + 1, GRACE);
    assert.equal(released.session_count, 2);
    const late = newEvents(session.session_id, [objectId], now + 2);
    assert.deepEqual(await store.addEvents(session.session_id, late, now + GRACE), {
      stored: 1,
      duplicates: 0,
    });
    await store.markIrrelevant(flagged.session_id, now + GRACE);
    const sealedAt = released.sealed_at ?? 0;
    assert.equal(sealedAt, now + 1 + GRACE);
    const tooLate = newEvents(session.session_id, [objectId], now + 2);
    await rejectsWith(store.addEvents(session.session_id, tooLate, sealedAt), 'session_closed');
    await rejectsWith(store.markIrrelevant(session.session_id, sealedAt), 'session_closed');
    // Flagging a session flagged already changes nothing, so it is no write to refuse.
    await store.markIrrelevant(flagged.session_id, sealedAt);
    const read = await store.getSession(session.session_id, 100);
    assert.equal(read?.events.length, 1);
    assert.equal(read.is_irrelevant, false);
    assert.deepEqual(
      read.events.map((e) => e.event_id),
      late.map((e) => e.event_id),
    );
    assert.deepEqual(
      await store.findEvents(
        session.session_id,
        tooLate.map((e) => e.event_id),
      ),
      [],
    );
    assert.equal((await store.getSession(flagged.session_id, 100))?.is_irrelevant, true);
    // Late writes do not move the batch or its count.
    assert.deepEqual(await store.getBatch(released.batch_id), released);
  });

  it('lists batches newest first and answers null for an unknown batch', async () => {
    const store = current();
    const now = nowSeconds();
    await store.registerSession(newSession(now), now);
    const older = await store.releaseBatch(id('release'), now + 1, GRACE);
    await store.registerSession(newSession(now), now + 2);
    const newer = await store.releaseBatch(id('release'), now + 3, GRACE);
    const listed = await store.listBatches(3);
    assert.equal(listed.length, 3);
    assert.equal(listed[0]?.released_at, null, 'the collecting batch comes first');
    assert.deepEqual(
      listed.slice(1).map((b) => b.batch_id),
      [newer.batch_id, older.batch_id],
    );
    assert.deepEqual(listed.slice(1), [newer, older]);
    assert.deepEqual(await store.listBatches(2), listed.slice(0, 2));
    assert.deepEqual(await store.getBatch(older.batch_id), older);
    assert.equal(await store.getBatch(id('no-such-batch')), null);
  });
}
