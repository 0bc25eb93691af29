/**
 * Storage contract, events-debugger records: an append stores records as given and numbers them in their
 * order, above every number given before (also once the table was emptied); lists are newest first and
 * filter by session, code and `before`; every append trims to the age cap and the count cap, also when
 * appends run at once, so the table never holds more than the cap after one.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DebugEvent } from '../../../src/schemas/debug-events.js';
import type { NewDebugEvent } from '../../../src/storage/debug-event-store.js';
import type { ClickstreamStore } from '../../../src/storage/store.js';
import { id, nowSeconds } from '../../support/factories.js';
import { freshStorePerCase, type OpenTestStore } from './contract-helpers.js';

/** Caps that keep everything a case appends. */
const KEEP_ALL = { maxRows: 1_000_000, minTime: 0 };

function record(overrides: Partial<NewDebugEvent> = {}): NewDebugEvent {
  return {
    time: nowSeconds(),
    method: 'POST',
    route: '/api/v1/clickstream/session/events',
    url: '/api/v1/clickstream/session/events?x=1',
    status: 400,
    code: 'validation_failed',
    detail: 'events[0].object_id: is required',
    errors: [{ path: 'events[0].object_id', message: 'is required' }],
    session_id: id('session'),
    request_id: id('request'),
    headers: { 'content-type': 'application/json', 'user-agent': 'contract ✓' },
    body: '{"session_id": "s", "events": [{"é": "\\u00e9 ✓ 😀"}]}',
    body_bytes: 4096,
    body_truncated: true,
    duration_ms: 1.25,
    ...overrides,
  };
}

const withoutSeq = ({ seq: _seq, ...rest }: DebugEvent): NewDebugEvent => rest;

async function listAll(store: ClickstreamStore): Promise<DebugEvent[]> {
  return store.debugEvents.list({ limit: 1_000_000 });
}

export function describeDebugEventContract(open: OpenTestStore): void {
  const current = freshStorePerCase(open);

  it('lists only records from minTime on', async () => {
    const store = current();
    const now = nowSeconds();
    await store.debugEvents.append([record({ time: now - 100 }), record({ time: now })], KEEP_ALL);
    const recent = await store.debugEvents.list({ limit: 10, minTime: now - 50 });
    assert.deepEqual(
      recent.map((r) => r.time),
      [now],
    );
  });

  it('stores records as given and lists them newest first, numbered in append order', async () => {
    const store = current();
    const first = record();
    const accepted = record({
      status: 200,
      code: null,
      detail: null,
      errors: [],
      session_id: null,
      headers: {},
      body: null,
      body_bytes: null,
      body_truncated: false,
      duration_ms: 0,
    });
    const third = record({ method: 'GET', url: '/api/v1/clickstream/session?session_id=a%20b' });
    await store.debugEvents.append([first, accepted], KEEP_ALL);
    await store.debugEvents.append([third], KEEP_ALL);
    const listed = await listAll(store);
    assert.deepEqual(listed.map(withoutSeq), [third, accepted, first]);
    const seqs = listed.map((event) => event.seq);
    assert.ok(
      seqs.every((seq, i) => Number.isInteger(seq) && (i === 0 || seq < (seqs[i - 1] ?? 0))),
      String(seqs),
    );
    assert.deepEqual(await store.debugEvents.list({ limit: 2 }), listed.slice(0, 2));
  });

  it('filters by session id, by code and by seq, each alone and together', async () => {
    const store = current();
    const session = id('session');
    const records = [
      record({ session_id: session, code: 'validation_failed' }),
      record({ session_id: session, code: 'session_not_found' }),
      record({ code: 'session_not_found' }),
      record({ session_id: session, code: 'validation_failed' }),
      record({ session_id: null, code: null, status: 200 }),
    ];
    await store.debugEvents.append(records, KEEP_ALL);
    const all = await listAll(store);
    const seqOf = (index: number) => all[all.length - 1 - index]?.seq ?? -1;
    const seqs = (events: readonly DebugEvent[]) => events.map((event) => event.seq);
    assert.deepEqual(seqs(await store.debugEvents.list({ sessionId: session, limit: 10 })), [
      seqOf(3),
      seqOf(1),
      seqOf(0),
    ]);
    assert.deepEqual(seqs(await store.debugEvents.list({ code: 'session_not_found', limit: 10 })), [
      seqOf(2),
      seqOf(1),
    ]);
    assert.deepEqual(seqs(await store.debugEvents.list({ sessionId: session, code: 'validation_failed', limit: 10 })), [
      seqOf(3),
      seqOf(0),
    ]);
    assert.deepEqual(seqs(await store.debugEvents.list({ beforeSeq: seqOf(3), limit: 2 })), [seqOf(2), seqOf(1)]);
    assert.deepEqual(seqs(await store.debugEvents.list({ sessionId: session, beforeSeq: seqOf(1), limit: 10 })), [
      seqOf(0),
    ]);
    assert.deepEqual(await store.debugEvents.list({ sessionId: id('unknown'), limit: 10 }), []);
    assert.deepEqual(await store.debugEvents.list({ beforeSeq: seqOf(0), limit: 10 }), []);
  });

  it('keeps only the newest rows of the count cap after every append', async () => {
    const store = current();
    const caps = { maxRows: 10, minTime: 0 };
    const batch = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => record({ request_id: `${tag}-${i}` }));
    await store.debugEvents.append(batch(25, 'a'), caps);
    let listed = await listAll(store);
    assert.deepEqual(
      listed.map((event) => event.request_id),
      Array.from({ length: 10 }, (_, i) => `a-${24 - i}`),
    );
    await store.debugEvents.append(batch(3, 'b'), caps);
    listed = await listAll(store);
    assert.equal(listed.length, 10);
    assert.deepEqual(
      listed.slice(0, 4).map((event) => event.request_id),
      ['b-2', 'b-1', 'b-0', 'a-24'],
    );
    // A lower cap applies to rows stored before, also by an append of nothing.
    await store.debugEvents.append([], { maxRows: 2, minTime: 0 });
    assert.deepEqual(
      (await listAll(store)).map((event) => event.request_id),
      ['b-2', 'b-1'],
    );
  });

  it('removes rows older than the age cap, and numbers on after the table was emptied', async () => {
    const store = current();
    const now = nowSeconds();
    await store.debugEvents.append(
      [record({ time: now - 100, request_id: 'old' }), record({ time: now - 10, request_id: 'recent' })],
      KEEP_ALL,
    );
    const before = await listAll(store);
    await store.debugEvents.append([record({ time: now, request_id: 'new' })], { maxRows: 100, minTime: now - 50 });
    assert.deepEqual(
      (await listAll(store)).map((event) => event.request_id),
      ['new', 'recent'],
    );
    await store.debugEvents.append([], { maxRows: 100, minTime: now + 1 });
    assert.deepEqual(await listAll(store), []);
    await store.debugEvents.append([record({ request_id: 'after' })], KEEP_ALL);
    const [after] = await listAll(store);
    assert.ok(after && after.seq > Math.max(...before.map((event) => event.seq)) + 1, JSON.stringify(after));
  });

  it('holds the count cap when appends run at once', async () => {
    const store = current();
    const caps = { maxRows: 15, minTime: 0 };
    await Promise.all(
      Array.from({ length: 6 }, (_, n) =>
        store.debugEvents.append(
          Array.from({ length: 10 }, (_, i) => record({ request_id: `${n}-${i}` })),
          caps,
        ),
      ),
    );
    const listed = await listAll(store);
    assert.equal(listed.length, 15);
    // The newest 15 of the 60: the append that came last whole, and the end of the one before it.
    const byAppend = new Map<string, number>();
    for (const event of listed) {
      const append = event.request_id.split('-')[0] ?? '';
      byAppend.set(append, (byAppend.get(append) ?? 0) + 1);
    }
    assert.deepEqual([...byAppend.values()], [10, 5], JSON.stringify([...byAppend]));
  });
}
