/**
 * A training-data answer that fails after its first byte is cut, not ended: a client reading it gets an
 * error instead of a shorter file that looks whole. The store fails on purpose after its first page of
 * sessions (a real SQLite store behind a wrapper that throws on the second read).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import type { App } from '../../src/http/app-types.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import { id, makeSession } from '../support/factories.js';
import { openTestStore } from '../support/test-app.js';

let app: App;
let base = '';
let cleanup: () => Promise<void>;
let batchId = '';
let failReads = false;

before(async () => {
  const opened = await openTestStore('sqlite', { CLICKSTREAM_LATE_EVENT_GRACE_SECONDS: '0' });
  cleanup = opened.cleanup;
  let reads = 0;
  const failing = new Proxy(opened.store, {
    get(target, property, receiver) {
      if (property === 'listBatchSessions' && failReads) {
        return (...args: Parameters<ClickstreamStore['listBatchSessions']>) => {
          reads++;
          if (reads > 1) return Promise.reject(new Error('the disk went away'));
          return target.listBatchSessions(...args);
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  app = await buildApp({ store: failing, config: opened.config });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  // More sessions than one page of the read path (50), each with a click: rows stream from the first page.
  for (let i = 0; i < 120; i++) {
    const session = makeSession();
    await app.inject({ method: 'POST', url: '/api/v1/clickstream/session', payload: session });
    await app.inject({
      method: 'POST',
      url: '/api/v1/clickstream/session/events',
      payload: {
        session_id: session.session_id,
        events: [{ event_id: id('e'), object_id: session.search_results[1]?.object_id }],
      },
    });
  }
  const released = await app.inject({
    method: 'POST',
    url: '/api/v1/clickstream/internal/batch/release',
    payload: { release_id: id('r') },
  });
  batchId = (JSON.parse(released.body) as { batch_id: string }).batch_id;
});
after(async () => {
  await app.close();
  await cleanup();
});

it('cuts the response when the store fails after the first rows were sent', async () => {
  const url = `${base}/api/v1/clickstream/internal/batch/training-data?batch_id=${batchId}&method=clicks`;
  const whole = await fetch(url);
  assert.equal(whole.status, 200);
  assert.equal((await whole.text()).trim().split('\n').length, 120, 'without the failure, every row arrives');
  failReads = true;
  // The failure comes after the first rows were written: the headers (200) may or may not have reached the
  // socket by then, but the body never ends as if complete.
  await assert.rejects(async () => {
    const cut = await fetch(url);
    assert.equal(cut.status, 200);
    await cut.text();
  }, /fetch failed|terminated|other side closed/);
});
