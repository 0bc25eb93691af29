/**
 * PostgreSQL going away under a running service: requests get 503 with Retry-After, a transaction cut in
 * the middle leaves nothing behind, and the service recovers by itself when the database is back.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { SessionWithEvents } from '../../src/schemas/records.js';
import { testBackends, waitForLockWaiters, withDatabase } from '../support/backends.js';
import { makeEvent, makeSession } from '../support/factories.js';
import { assertProblem, json, startTestApp, type TestApp } from '../support/test-app.js';

const BASE = '/api/v1/clickstream';

if (testBackends().includes('postgres')) {
  describe('PostgreSQL outages', () => {
    let t: TestApp;
    let url: string;
    before(async () => {
      t = await startTestApp('postgres');
      url = t.config.databaseUrl;
    });
    after(async () => {
      await withDatabase(adminUrl(url), (client) =>
        client.query(`ALTER DATABASE ${databaseOf(url)} ALLOW_CONNECTIONS true`),
      );
      await t.close();
    });

    const post = (path: string, payload: object) => t.app.inject({ method: 'POST', url: `${BASE}${path}`, payload });
    const ready = () => t.app.inject({ method: 'GET', url: '/ready' });

    it('answers 503 with Retry-After while the database refuses connections, then recovers', async () => {
      assert.equal((await ready()).statusCode, 200);
      await withDatabase(adminUrl(url), async (client) => {
        await client.query(`ALTER DATABASE ${databaseOf(url)} ALLOW_CONNECTIONS false`);
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
          databaseOf(url),
        ]);
      });
      // Let the pool notice that its idle connections were closed.
      await sleep(200);
      const session = makeSession();
      const refused = await post('/session', session);
      assertProblem(refused, 503, 'service_unavailable');
      assert.equal(refused.headers['retry-after'], '1');
      assertProblem(await ready(), 503, 'service_unavailable');

      await withDatabase(adminUrl(url), (client) =>
        client.query(`ALTER DATABASE ${databaseOf(url)} ALLOW_CONNECTIONS true`),
      );
      assert.equal((await ready()).statusCode, 200);
      const accepted = await post('/session', session);
      assert.equal(accepted.statusCode, 200, accepted.body);
    });

    it('leaves nothing of a transaction whose connection is killed half-way', async () => {
      const session = makeSession();
      assert.equal((await post('/session', session)).statusCode, 200);
      const objectId = session.search_results[0]?.object_id ?? '';
      const fresh = makeEvent({ object_id: objectId });
      const contested = makeEvent({ object_id: objectId });

      await withDatabase(url, async (blocker) => {
        // An uncommitted row with the contested key: the service's insert writes `fresh`, then waits on it.
        await blocker.query('BEGIN');
        await blocker.query(
          `INSERT INTO events (session_id, event_id, object_id, event_type, created_at, created_at_given, received_at)
           VALUES ($1, $2, $3, 'click', 0, false, 0)`,
          [session.session_id, contested.event_id, objectId],
        );
        const pending = post('/session/events', { session_id: session.session_id, events: [fresh, contested] });
        const [pid] = await waitForLockWaiters(blocker);
        await blocker.query('SELECT pg_terminate_backend($1)', [pid]);
        const cut = await pending;
        assertProblem(cut, 503, 'service_unavailable');
        assert.equal(cut.headers['retry-after'], '1');
        await blocker.query('ROLLBACK');
      });

      const stored = json<SessionWithEvents>(
        await t.app.inject({ method: 'GET', url: `${BASE}/session`, query: { session_id: session.session_id } }),
      );
      assert.deepEqual(stored.events, [], 'the event written before the cut must not be stored');
      // The client's retry (idempotent) now stores both.
      const retry = await post('/session/events', { session_id: session.session_id, events: [fresh, contested] });
      assert.deepEqual(json(retry), { session_id: session.session_id, stored: 2, duplicates: 0 });
    });
  });
}

function databaseOf(url: string): string {
  return new URL(url).pathname.slice(1);
}

function adminUrl(url: string): string {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  return admin.toString();
}
