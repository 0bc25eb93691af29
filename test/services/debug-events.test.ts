/**
 * The events debugger's buffer, on a real store (SQLite) whose appends a test holds back: recording never
 * waits for the store; a full buffer drops new records and counts them instead of growing or blocking;
 * flush() writes what was taken; a failed write is counted and logged without the records' contents, and
 * never rejects.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DebugEventService, type DebugDropReason } from '../../src/services/debug-events.js';
import type { DebugEventStore, NewDebugEvent } from '../../src/storage/debug-event-store.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import { id, nowSeconds } from '../support/factories.js';
import { openTestStore } from '../support/test-app.js';

function record(overrides: Partial<NewDebugEvent> = {}): NewDebugEvent {
  return {
    time: nowSeconds(),
    method: 'POST',
    route: '/api/v1/clickstream/session',
    url: '/api/v1/clickstream/session',
    status: 400,
    code: 'validation_failed',
    detail: 'search_query: is required',
    errors: [{ path: 'search_query', message: 'is required' }],
    session_id: id('session'),
    request_id: id('request'),
    headers: {},
    body: '{"body-marker": true}',
    body_bytes: 21,
    body_truncated: false,
    duration_ms: 1,
    ...overrides,
  };
}

/** The real store's records, with appends that wait until the test opens the gate. */
class GatedStore implements DebugEventStore {
  appends = 0;
  private open: () => void = () => undefined;
  private gate: Promise<void> = new Promise((resolve) => (this.open = resolve));

  constructor(private readonly inner: DebugEventStore) {}

  async append(records: readonly NewDebugEvent[], caps: { maxRows: number; minTime: number }): Promise<void> {
    this.appends++;
    await this.gate;
    await this.inner.append(records, caps);
  }

  list(filter: Parameters<DebugEventStore['list']>[0]) {
    return this.inner.list(filter);
  }

  release(): void {
    this.open();
  }
}

describe('events debugger buffer', () => {
  let opened: Awaited<ReturnType<typeof openTestStore>>;
  let store: ClickstreamStore;
  const warnings: { details: object; message: string }[] = [];
  const drops: { count: number; reason: DebugDropReason }[] = [];
  const reporter = {
    warn: (details: object, message: string) => warnings.push({ details, message }),
    dropped: (count: number, reason: DebugDropReason) => drops.push({ count, reason }),
  };
  const caps = { maxRows: 1000, maxAgeSeconds: 3600 };

  beforeEach(async () => {
    opened = await openTestStore('sqlite');
    store = opened.store;
    warnings.length = 0;
    drops.length = 0;
  });
  afterEach(async () => {
    await opened.cleanup();
  });

  it('drops new records once the buffer is full while a write is slow, and never waits', async () => {
    const gated = new GatedStore(store.debugEvents);
    const service = new DebugEventService(
      gated,
      { ...caps, bufferSize: 5, flushDelayMs: 60_000 },
      nowSeconds,
      reporter,
    );
    for (let i = 0; i < 3; i++)
      assert.equal(
        service.record(() => record({ request_id: `a-${i}` })),
        true,
      );
    const writing = service.flush();
    assert.equal(gated.appends, 1);
    // 3 in flight, held by the store: 2 more fit, the rest is dropped at once.
    const taken = Array.from({ length: 10 }, (_, i) => service.record(() => record({ request_id: `b-${i}` })));
    assert.deepEqual(taken, [true, true, false, false, false, false, false, false, false, false]);
    assert.equal(
      service.record(() => assert.fail('a dropped record is not built')),
      false,
    );
    assert.equal(service.dropped, 9);
    assert.deepEqual(
      drops.map((d) => d.reason),
      Array(9).fill('buffer_full'),
    );
    gated.release();
    await writing;
    await service.flush();
    const stored = await store.debugEvents.list({ limit: 100 });
    assert.deepEqual(
      stored.map((e) => e.request_id),
      ['b-1', 'b-0', 'a-2', 'a-1', 'a-0'],
    );
    // Room again once written.
    assert.equal(
      service.record(() => record()),
      true,
    );
    await service.close();
    assert.equal((await store.debugEvents.list({ limit: 100 })).length, 6);
    assert.equal(
      service.record(() => record()),
      false,
      'a closed service takes no records',
    );
  });

  it('writes a batch by itself after its delay, in one append', async () => {
    const gated = new GatedStore(store.debugEvents);
    gated.release();
    const service = new DebugEventService(gated, { ...caps, flushDelayMs: 1 }, nowSeconds, reporter);
    for (let i = 0; i < 20; i++) service.record(() => record());
    // Polls for the timer's write (no fixed sleep); then flush() waits for that write to end.
    const deadline = Date.now() + 10_000;
    while (gated.appends === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    assert.equal(gated.appends, 1, 'the timer started one write of the whole batch');
    await service.flush();
    assert.equal(gated.appends, 1);
    assert.equal((await store.debugEvents.list({ limit: 100 })).length, 20);
    await service.close();
  });

  it('counts and logs a failed write, without what the records hold, and does not reject', async () => {
    const service = new DebugEventService(store.debugEvents, caps, nowSeconds, reporter);
    await store.close();
    service.record(() => record());
    service.record(() => record());
    await service.flush();
    assert.equal(service.dropped, 2);
    assert.deepEqual(drops, [{ count: 2, reason: 'write_failed' }]);
    assert.equal(warnings.length, 1);
    const logged = JSON.stringify(warnings);
    assert.ok(!logged.includes('body-marker') && !logged.includes('search_query'), logged);
    await service.close();
  });

  it('pages newest first with next_before until the last page', async () => {
    const service = new DebugEventService(store.debugEvents, caps, nowSeconds, reporter);
    for (let i = 0; i < 5; i++) service.record(() => record({ request_id: `r-${i}` }));
    await service.flush();
    const first = await service.page({ limit: 2 });
    assert.deepEqual(
      first.events.map((e) => e.request_id),
      ['r-4', 'r-3'],
    );
    assert.equal(first.next_before, first.events[1]?.seq);
    const second = await service.page({ limit: 2, before: first.next_before });
    assert.deepEqual(
      second.events.map((e) => e.request_id),
      ['r-2', 'r-1'],
    );
    const last = await service.page({ limit: 2, before: second.next_before ?? 0 });
    assert.deepEqual(
      last.events.map((e) => e.request_id),
      ['r-0'],
    );
    assert.equal(last.next_before, null);
    const exact = await service.page({ limit: 5 });
    assert.equal(exact.next_before, null, 'no older page when the page holds the last record');
    await service.close();
  });
});
