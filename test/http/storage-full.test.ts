/**
 * A full disk, as a client and an operator see it: writes answer 507 `storage_full` with Retry-After,
 * /ready answers 503 with the same code while it lasts, every acknowledged write stays readable, and
 * writes succeed again once there is space, without a restart. The disk is a SQLite file with a cap on its
 * size (`PRAGMA max_page_count`), raised while the service runs as freeing space would. PostgreSQL's
 * disk_full maps to the same code (test/storage/storage-full.test.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import type { App } from '../../src/http/app-types.js';
import type { RegisterSessionBody } from '../../src/schemas/payloads.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { makeEvent, makeSession, scratchDir, testConfig } from '../support/factories.js';
import { assertProblem } from '../support/test-app.js';

const SESSION_URL = '/api/v1/clickstream/session';
const EVENTS_URL = '/api/v1/clickstream/session/events';

/** A session whose search_meta holds `bytes` of filler. */
function sessionOf(bytes: number): RegisterSessionBody {
  return makeSession({ search_meta: { filler: 'x'.repeat(bytes) } });
}

function assertStorageFull(response: Awaited<ReturnType<App['inject']>>, status: number): void {
  const problem = assertProblem(response, status, 'storage_full');
  assert.match(problem.detail, /no space left/);
  assert.equal(response.headers['retry-after'], '30', 'a full disk is not freed in a second');
}

describe('a full disk over HTTP [sqlite]', () => {
  let app: App;
  let store: SqliteStore;
  let cleanup: () => void;
  const acknowledged: RegisterSessionBody[] = [];

  before(async () => {
    const scratch = scratchDir();
    cleanup = scratch.cleanup;
    const config = testConfig(scratch.dir);
    ({ store } = SqliteStore.open(join(scratch.dir, 'capped.db'), { durability: 'process', maxPageCount: 80 }));
    app = await buildApp({ store, config });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await store.close();
    cleanup();
  });

  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });

  it('answers writes with 507 storage_full, and /ready with 503 storage_full while it lasts', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200);
    // Sessions of about 1.5 KB until one does not fit; the pages left may still hold /ready's probe, so
    // small ones fill on until /ready finds no space either.
    let firstRefusal: Awaited<ReturnType<App['inject']>> | undefined;
    let notReady: Awaited<ReturnType<App['inject']>> | undefined;
    for (let i = 0; i < 2000 && notReady === undefined; i++) {
      const session = sessionOf(firstRefusal === undefined ? 1500 : 10);
      const response = await post(SESSION_URL, session);
      if (response.statusCode === 200) {
        acknowledged.push(session);
        continue;
      }
      assertStorageFull(response, 507);
      firstRefusal ??= response;
      const ready = await app.inject({ method: 'GET', url: '/ready' });
      if (ready.statusCode !== 200) notReady = ready;
    }
    assert.ok(firstRefusal, 'the capped file never filled');
    assert.ok(acknowledged.length > 10, `only ${acknowledged.length} sessions fitted`);
    assert.ok(notReady, '/ready never said the store was full');
    assertStorageFull(notReady, 503);
    // Still full on the next look, and for events too.
    assertStorageFull(await app.inject({ method: 'GET', url: '/ready' }), 503);
    const target = acknowledged[0];
    assert.ok(target);
    const events = { session_id: target.session_id, events: [makeEvent({ meta: { filler: 'y'.repeat(12_000) } })] };
    assertStorageFull(await post(EVENTS_URL, events), 507);
    // /health is about the process, not the store.
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
  });

  it('loses nothing it acknowledged', async () => {
    assert.ok(acknowledged.length > 0);
    for (const session of acknowledged) {
      const response = await app.inject({ method: 'GET', url: `${SESSION_URL}?session_id=${session.session_id}` });
      assert.equal(response.statusCode, 200, response.body);
      const read = JSON.parse(response.body) as { session_id: string; search_meta: unknown; events: unknown[] };
      assert.equal(read.session_id, session.session_id);
      assert.deepEqual(read.search_meta, session.search_meta);
      assert.deepEqual(read.events, []);
    }
    assert.deepEqual(await store.checkIntegrity(), []);
  });

  it('takes writes again once there is space, with no restart', async () => {
    store.setMaxPageCount(10_000);
    assert.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200);
    const session = sessionOf(6000);
    assert.equal((await post(SESSION_URL, session)).statusCode, 200);
    const events = { session_id: session.session_id, events: [makeEvent({ meta: { filler: 'y'.repeat(12_000) } })] };
    const added = await post(EVENTS_URL, events);
    assert.equal(added.statusCode, 200, added.body);
    const read = await app.inject({ method: 'GET', url: `${SESSION_URL}?session_id=${session.session_id}` });
    assert.equal((JSON.parse(read.body) as { events: unknown[] }).events.length, 1);
  });
});
