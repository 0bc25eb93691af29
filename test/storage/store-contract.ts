/**
 * The storage contract, written once. Every backend's test file calls {@link describeStoreContract} with a
 * way to open a fresh, empty store of that backend; the cases compare domain objects, never rows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClickstreamError } from '../../src/domain/errors.js';
import { toNewEvents, type NewEvent } from '../../src/domain/event.js';
import { toNewSession, type NewSession } from '../../src/domain/session.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import type { RegisterSessionBody } from '../../src/schemas/payloads.js';
import { SessionWithEvents, StoredEvent, StoredSearchResult } from '../../src/schemas/records.js';
import { id, makeEvent, makeSession, nowSeconds } from '../support/factories.js';
import { DEFAULT_RULES } from '../support/rules.js';

export interface OpenedTestStore {
  readonly store: ClickstreamStore;
  readonly cleanup: () => Promise<void>;
}

const RULES = DEFAULT_RULES;
const GRACE = 600;

function newSession(now: number, overrides: Partial<RegisterSessionBody> = {}): NewSession {
  return toNewSession(makeSession(overrides), now, RULES);
}

function newEvents(sessionId: string, objectIds: readonly string[], now: number): NewEvent[] {
  return toNewEvents(
    { session_id: sessionId, events: objectIds.map((objectId) => makeEvent({ object_id: objectId })) },
    now,
    RULES,
  ).events;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ClickstreamError, `expected a ClickstreamError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

export function describeStoreContract(backend: string, open: () => Promise<OpenedTestStore>): void {
  describe(`storage contract: ${backend}`, () => {
    let opened: OpenedTestStore;
    let store: ClickstreamStore;
    // Each case releases what it registers, so cases see their own batches; the clock moves forward per case.
    let clock = nowSeconds();
    const tick = (): number => (clock += 1);

    before(async () => {
      opened = await open();
      store = opened.store;
    });
    after(async () => {
      await opened.cleanup();
    });

    it('declares its backend', () => {
      assert.equal(store.capabilities.backend, backend);
    });

    it('starts with exactly one batch, collecting and empty', async () => {
      const batches = await store.listBatches(1000);
      assert.equal(batches.length, 1);
      assert.equal(batches[0]?.released_at, null);
      assert.equal(batches[0].session_count, 0);
    });

    it('releasing an empty store creates nothing', async () => {
      const before = await store.listBatches(1000);
      await rejectsWith(store.releaseBatch(id('release'), tick(), GRACE), 'no_sessions_to_release');
      assert.deepEqual(await store.listBatches(1000), before);
    });

    it('registers a session with its results and positions, and returns it unchanged on re-registration', async () => {
      const now = tick();
      const session = newSession(now, {
        search_query: { text: 'red shoes', filters: [{ size: 42 }] },
        search_meta: { locale: 'de-DE', nested: { a: [1, 2.5, 'ü'] } },
        payload_filter: { brand: 'acme' },
        sort_by: { field: 'price', order: 'asc' },
        created_at: now - 10,
      });
      const first = await store.registerSession(session, now);
      assert.equal(first.created, true);
      assert.equal(first.session.session_number >= 1, true);
      const again = await store.registerSession({ ...session, search_query: 'different' }, tick());
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
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('keeps a zero-result search and a string query as given', async () => {
      const now = tick();
      const session = newSession(now, { search_query: '', search_results: [] });
      await store.registerSession(session, now);
      const read = await store.getSession(session.session_id, 10);
      assert.ok(read);
      assert.equal(read.search_query, '');
      assert.deepEqual(read.search_results, []);
      assert.deepEqual(read.events, []);
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('keeps a long result list whole and in order, with each result as given', async () => {
      // 123 results: more than a backend may write in one statement (SQLite writes 50 at a time).
      const now = tick();
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
      const objectId = results[122]?.object_id ?? '';
      await store.addEvents(session.session_id, newEvents(session.session_id, [objectId], tick()), tick());
      const withEvent = await store.getSession(session.session_id, 10);
      assert.equal(withEvent?.events[0]?.position, 122);
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('keeps any JSON string as given: lone surrogates, NUL, escapes; neighbours in the same commit too', async () => {
      // Strings JSON can carry but a database's own JSON functions may refuse to unpack.
      const odd = 'lone \ud800 and \udc00, NUL \u0000, quote " backslash \\ \\u0000, emoji 😀, \u2028';
      const now = tick();
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
      const objectId = weird.search_results[1]?.object_id ?? '';
      const events = toNewEvents(
        { session_id: weird.session_id, events: [makeEvent({ object_id: objectId, meta: { [odd]: odd } })] },
        now,
        RULES,
      ).events;
      const added = await Promise.all([
        store.addEvents(weird.session_id, events, now),
        store.addEvents(
          plain.session_id,
          newEvents(plain.session_id, [plain.search_results[0]?.object_id ?? ''], now),
          now,
        ),
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
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('returns keys in the order of the read schema, so that every backend exports the same bytes', async () => {
      const now = tick();
      const session = newSession(now, {
        search_results: [{ object_id: id('object'), rank: 1, meta: { a: 1 } }],
        search_meta: { page: 2 },
      });
      await store.registerSession(session, now);
      await store.addEvents(
        session.session_id,
        newEvents(session.session_id, [session.search_results[0]?.object_id ?? ''], now),
        now,
      );
      const read = await store.getSession(session.session_id, 10);
      assert.ok(read);
      const [event] = read.events;
      const [result] = read.search_results;
      assert.ok(event && result);
      assert.deepEqual(Object.keys(read), Object.keys(SessionWithEvents.properties));
      assert.deepEqual(Object.keys(result), Object.keys(StoredSearchResult.properties));
      assert.deepEqual(Object.keys(event), Object.keys(StoredEvent.properties));
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('numbers sessions from 1 in registration order within each batch', async () => {
      const sessions = [newSession(clock), newSession(clock), newSession(clock)];
      const numbers: number[] = [];
      let batchId = '';
      for (const session of sessions) {
        const { session: stored } = await store.registerSession(session, tick());
        numbers.push(stored.session_number);
        batchId = stored.batch_id;
      }
      assert.equal(numbers[0], 1);
      assert.deepEqual(
        [...numbers].sort((a, b) => a - b),
        numbers,
      );
      assert.equal(new Set(numbers).size, 3);
      const released = await store.releaseBatch(id('release'), tick(), GRACE);
      assert.equal(released.batch_id, batchId);
      assert.equal(released.session_count, 3);
      const next = await store.registerSession(newSession(clock), tick());
      assert.notEqual(next.session.batch_id, batchId);
      assert.equal(next.session.session_number, 1);
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('stores events with the position of their object, null for objects not shown', async () => {
      const now = tick();
      const session = newSession(now);
      await store.registerSession(session, now);
      const shown = session.search_results.map((r) => r.object_id);
      const unseen = id('unseen');
      const events = newEvents(session.session_id, [shown[1] ?? '', unseen, shown[0] ?? ''], now);
      assert.deepEqual(await store.addEvents(session.session_id, events, now), {
        stored: 3,
        duplicates: 0,
      });
      const read = await store.getSession(session.session_id, 100);
      assert.ok(read);
      assert.deepEqual(
        read.events.map((e) => [e.event_id, e.position]),
        events.map((e, i) => [e.event_id, [1, null, 0][i]]),
      );
      assert.equal(read.events[0]?.event_type, 'click');
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('counts re-sent events as duplicates and refuses different content, storing nothing of that call', async () => {
      const now = tick();
      const session = newSession(now);
      await store.registerSession(session, now);
      const objectId = session.search_results[0]?.object_id ?? '';
      const [event] = newEvents(session.session_id, [objectId], now);
      assert.ok(event);
      await store.addEvents(session.session_id, [event], now);
      // A retry without created_at gets a later server default; it is still the same event.
      const retry = { ...event, created_at: now + 5, created_at_given: false };
      assert.deepEqual(await store.addEvents(session.session_id, [retry], now + 5), {
        stored: 0,
        duplicates: 1,
      });
      const fresh = newEvents(session.session_id, [objectId], now)[0];
      assert.ok(fresh);
      const changed = { ...event, event_type: 'purchase' };
      await rejectsWith(store.addEvents(session.session_id, [fresh, changed], now), 'event_conflict');
      const read = await store.getSession(session.session_id, 100);
      assert.deepEqual(
        read?.events.map((e) => [e.event_id, e.event_type]),
        [[event.event_id, 'click']],
      );
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('finds stored sessions and events for idempotency checks', async () => {
      const now = tick();
      const session = newSession(now, { created_at: now - 5 });
      const { session: registered } = await store.registerSession(session, now);
      assert.deepEqual(await store.findSession(session.session_id), registered);
      assert.equal(await store.findSession(id('unknown')), null);
      const objectId = session.search_results[0]?.object_id ?? '';
      const events = newEvents(session.session_id, [objectId, objectId], now);
      await store.addEvents(session.session_id, events, now);
      const wanted = [events[1]?.event_id ?? '', id('unknown-event')];
      assert.deepEqual(await store.findEvents(session.session_id, wanted), [events[1]]);
      assert.deepEqual(await store.findEvents(id('unknown'), wanted), []);
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('refuses events and flags for an unknown session', async () => {
      const now = tick();
      const unknown = id('no-such-session');
      await rejectsWith(store.addEvents(unknown, newEvents(unknown, ['x'], now), now), 'session_not_found');
      await rejectsWith(store.markIrrelevant(unknown, now), 'session_not_found');
      assert.equal(await store.getSession(unknown, 10), null);
    });

    it('releases idempotently by release_id, also for concurrent retries', async () => {
      const now = tick();
      await store.registerSession(newSession(now), now);
      const releaseId = id('release');
      const results = await Promise.all(Array.from({ length: 8 }, () => store.releaseBatch(releaseId, now + 1, GRACE)));
      const ids = new Set(results.map((b) => b.batch_id));
      assert.equal(ids.size, 1);
      const [released] = results;
      assert.ok(released);
      assert.equal(released.release_id, releaseId);
      assert.equal(released.released_at, now + 1);
      assert.equal(released.sealed_at, now + 1 + GRACE);
      // A later retry, after other sessions arrived, still answers with the same batch.
      await store.registerSession(newSession(now), tick());
      assert.deepEqual(await store.releaseBatch(releaseId, tick(), GRACE), released);
      assert.deepEqual(await store.getBatch(released.batch_id), released);
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('accepts late events during the grace period and refuses them once sealed', async () => {
      const now = tick();
      const session = newSession(now);
      await store.registerSession(session, now);
      const objectId = session.search_results[0]?.object_id ?? '';
      const released = await store.releaseBatch(id('release'), now + 1, GRACE);
      const late = newEvents(session.session_id, [objectId], now + 2);
      assert.deepEqual(await store.addEvents(session.session_id, late, now + GRACE), {
        stored: 1,
        duplicates: 0,
      });
      const sealedAt = released.sealed_at ?? 0;
      const tooLate = newEvents(session.session_id, [objectId], now + 2);
      await rejectsWith(store.addEvents(session.session_id, tooLate, sealedAt), 'session_closed');
      await rejectsWith(store.markIrrelevant(session.session_id, sealedAt), 'session_closed');
      const read = await store.getSession(session.session_id, 100);
      assert.equal(read?.events.length, 1);
      assert.equal(read.is_irrelevant, false);
    });

    it('flags irrelevant sessions idempotently and shows the flag in reads', async () => {
      const now = tick();
      const session = newSession(now);
      const { session: stored } = await store.registerSession(session, now);
      await store.markIrrelevant(session.session_id, now);
      await store.markIrrelevant(session.session_id, now);
      assert.equal((await store.getSession(session.session_id, 10))?.is_irrelevant, true);
      const page = await store.listBatchSessions(stored.batch_id, 0, 100, 10);
      assert.equal(page.find((s) => s.session_id === session.session_id)?.is_irrelevant, true);
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('pages a batch by session_number with a cap on events per session', async () => {
      const now = tick();
      const sessions = Array.from({ length: 5 }, () => newSession(now));
      let batchId = '';
      for (const session of sessions) batchId = (await store.registerSession(session, now)).session.batch_id;
      const first = sessions[0];
      assert.ok(first);
      const objectId = first.search_results[0]?.object_id ?? '';
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
      const all = await store.listBatchSessions(batchId, 0, 100, null);
      assert.equal(all[0]?.events.length, 3);
      assert.equal(all[0].events_truncated, false);
      assert.deepEqual(await store.listBatchSessions(batchId, all.at(-1)?.session_number ?? 0, 100, 10), []);
      assert.deepEqual(await store.listBatchSessions(id('no-such-batch'), 0, 100, 10), []);
      await store.releaseBatch(id('release'), tick(), GRACE);
    });

    it('lists batches newest first and answers null for an unknown batch', async () => {
      const now = tick();
      await store.registerSession(newSession(now), now);
      const older = await store.releaseBatch(id('release'), tick(), GRACE);
      await store.registerSession(newSession(now), tick());
      const newer = await store.releaseBatch(id('release'), tick(), GRACE);
      const listed = await store.listBatches(3);
      assert.equal(listed[0]?.released_at, null, 'the collecting batch comes first');
      assert.deepEqual(
        listed.slice(1).map((b) => b.batch_id),
        [newer.batch_id, older.batch_id],
      );
      assert.equal(await store.getBatch(id('no-such-batch')), null);
    });

    it('answers ping while open', async () => {
      await store.ping();
    });

    it('passes its integrity check after everything above', async () => {
      assert.deepEqual(await store.checkIntegrity(), []);
    });
  });
}
