import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import type { Batch, BatchSessionsPage, Problem, ReleaseResponse } from '../../src/schemas/records.js';
import { id, makeEvents, makeSession } from '../support/factories.js';
import { testBackends } from '../support/backends.js';
import { assertProblem, json, startTestApp, type TestApp } from '../support/test-app.js';

const BASE = '/api/v1/clickstream';
const INTERNAL = `${BASE}/internal`;

for (const backend of testBackends()) {
  describe(`internal batch routes [${backend}]`, () => {
    // A fresh store per case: releases act on the one collecting batch, so cases must not share it.
    let t: TestApp | undefined;
    const app = () => {
      assert.ok(t);
      return t;
    };
    beforeEach(async () => {
      await t?.close();
      t = await startTestApp(backend);
    });
    after(async () => {
      await t?.close();
    });

    const post = (url: string, payload: object) => app().app.inject({ method: 'POST', url, payload });
    const get = (url: string, query: Record<string, string> = {}) => app().app.inject({ method: 'GET', url, query });
    const release = (releaseId: string) => post(`${INTERNAL}/batch/release`, { release_id: releaseId });
    async function register(count: number) {
      const sessions = Array.from({ length: count }, () => makeSession());
      for (const session of sessions) assert.equal((await post(`${BASE}/session`, session)).statusCode, 200);
      return sessions;
    }
    const page = async (query: Record<string, string>) => {
      const response = await get(`${INTERNAL}/batch/sessions`, query);
      assert.equal(response.statusCode, 200, response.body);
      return json<BatchSessionsPage>(response);
    };

    it('releases the collecting batch and answers retries with the same batch', async () => {
      await register(3);
      const releaseId = id('release');
      const first = await release(releaseId);
      assert.equal(first.statusCode, 200, first.body);
      const body = json<ReleaseResponse>(first);
      assert.equal(body.release_id, releaseId);
      assert.equal(body.session_count, 3);
      assert.equal(body.released_at, app().clock.now);
      assert.equal(body.sealed_at, app().clock.now + app().config.lateEventGraceSeconds);
      app().clock.advance(5);
      await register(1);
      assert.deepEqual(json(await release(releaseId)), body);
    });

    it('gives concurrent retries of one release_id the same batch', async () => {
      await register(2);
      const releaseId = id('release');
      const answers = await Promise.all(Array.from({ length: 10 }, () => release(releaseId)));
      assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([200]));
      assert.equal(new Set(answers.map((a) => json<ReleaseResponse>(a).batch_id)).size, 1);
      const batches = json<{ batches: Batch[] }>(await get(`${INTERNAL}/batches`)).batches;
      assert.equal(batches.filter((b) => b.status !== 'collecting').length, 1);
    });

    it('answers 404 no_sessions_to_release when nothing was collected, creating nothing', async () => {
      const empty = await release(id('release'));
      assert.equal(empty.statusCode, 404);
      assert.equal(json<Problem>(empty).code, 'no_sessions_to_release');
      await register(1);
      await release(id('release'));
      const before = (await get(`${INTERNAL}/batches`)).body;
      const again = await release(id('release'));
      assert.equal(json<Problem>(again).code, 'no_sessions_to_release');
      assert.equal((await get(`${INTERNAL}/batches`)).body, before);
    });

    it('puts sessions registered after a release into the next batch', async () => {
      const [early] = await register(1);
      const released = json<ReleaseResponse>(await release(id('release')));
      const [late] = await register(1);
      assert.ok(early && late);
      const earlyPage = await page({ batch_id: released.batch_id });
      assert.deepEqual(
        earlyPage.sessions.map((s) => s.session_id),
        [early.session_id],
      );
      const lateSession = json<{ batch_id: string; session_number: number }>(
        await get(`${BASE}/session`, { session_id: late.session_id }),
      );
      assert.notEqual(lateSession.batch_id, released.batch_id);
      assert.equal(lateSession.session_number, 1);
    });

    it('pages sessions by session_number with after_number, limit and events_limit', async () => {
      const sessions = await register(5);
      const first = sessions[0];
      assert.ok(first);
      await post(`${BASE}/session/events`, makeEvents(first, [0, 1, 2]));
      const { batch_id } = json<ReleaseResponse>(await release(id('release')));

      const p1 = await page({ batch_id, limit: '2', events_limit: '2' });
      assert.equal(p1.batch_id, batch_id);
      assert.equal(p1.sealed, false);
      assert.deepEqual(
        p1.sessions.map((s) => s.session_id),
        sessions.slice(0, 2).map((s) => s.session_id),
      );
      assert.equal(p1.sessions[0]?.events.length, 2);
      assert.equal(p1.sessions[0].events_truncated, true);
      assert.equal(p1.last_number, p1.sessions[1]?.session_number);

      const p2 = await page({ batch_id, after_number: String(p1.last_number), limit: '10' });
      assert.deepEqual(
        p2.sessions.map((s) => s.session_id),
        sessions.slice(2).map((s) => s.session_id),
      );
      const p3 = await page({ batch_id, after_number: String(p2.last_number) });
      assert.deepEqual(p3.sessions, []);
      assert.equal(p3.last_number, null);
    });

    it('reads a sealed batch the same, byte for byte, every time', async () => {
      const sessions = await register(3);
      const first = sessions[0];
      assert.ok(first);
      const { batch_id } = json<ReleaseResponse>(await release(id('release')));
      await post(`${BASE}/session/events`, makeEvents(first, [1]));
      app().clock.advance(app().config.lateEventGraceSeconds);
      const read = () => get(`${INTERNAL}/batch/sessions`, { batch_id });
      const once = await read();
      assert.equal(json<BatchSessionsPage>(once).sealed, true);
      const refused = await post(`${BASE}/session/events`, makeEvents(first, [2]));
      assert.equal(json<Problem>(refused).code, 'session_closed');
      await register(2);
      app().clock.advance(3600);
      const twice = await read();
      assert.equal(twice.body, once.body);
      const batch = json<Batch>(await get(`${INTERNAL}/batch`, { batch_id }));
      assert.equal(batch.status, 'sealed');
    });

    it('shows batches with status, counts and timestamps, newest first', async () => {
      await register(2);
      const released = json<ReleaseResponse>(await release(id('release')));
      app().clock.advance(10);
      await register(1);
      const { batches } = json<{ batches: Batch[] }>(await get(`${INTERNAL}/batches`));
      assert.deepEqual(
        batches.map((b) => [b.status, b.session_count]),
        [
          ['collecting', 1],
          ['released', 2],
        ],
      );
      const one = json<Batch>(await get(`${INTERNAL}/batch`, { batch_id: released.batch_id }));
      assert.deepEqual(one, {
        batch_id: released.batch_id,
        status: 'released',
        release_id: released.release_id,
        created_at: released.released_at,
        released_at: released.released_at,
        sealed_at: released.sealed_at,
        session_count: 2,
      });
      const limited = json<{ batches: Batch[] }>(await get(`${INTERNAL}/batches`, { limit: '1' }));
      assert.equal(limited.batches.length, 1);
    });

    it('answers 404 batch_not_found for an unknown batch and 400 for bad paging parameters', async () => {
      const unknown = id('batch');
      for (const url of [`${INTERNAL}/batch`, `${INTERNAL}/batch/sessions`]) {
        const response = await get(url, { batch_id: unknown });
        assert.equal(response.statusCode, 404);
        assert.equal(json<Problem>(response).code, 'batch_not_found');
      }
      const bad = await get(`${INTERNAL}/batch/sessions`, {
        batch_id: unknown,
        limit: '0',
        after_number: 'x',
        page: '2',
      });
      assert.equal(bad.statusCode, 400);
      const problem = json<Problem>(bad);
      assert.deepEqual((problem.errors ?? []).map((e) => e.path).sort(), ['after_number', 'limit', 'page']);

      // Query numbers that coerce to Infinity or past 2^53 are refused, not passed to the store.
      const unsafe: Record<string, string>[] = [
        { limit: 'Infinity' },
        { limit: '1e400' },
        { events_limit: '-Infinity' },
        { after_number: '99999999999999999999' },
      ];
      for (const query of unsafe) {
        const response = await get(`${INTERNAL}/batch/sessions`, { batch_id: unknown, ...query });
        const refused = assertProblem(response, 400, 'validation_failed');
        assert.deepEqual(
          (refused.errors ?? []).map((e) => e.path),
          Object.keys(query),
          JSON.stringify(query),
        );
      }
      assertProblem(await get(`${INTERNAL}/batches`, { limit: 'Infinity' }), 400, 'validation_failed');
      // Ids in query strings: no control characters (PostgreSQL cannot even compare a NUL).
      for (const url of [`${INTERNAL}/batch`, `${INTERNAL}/batch/sessions`]) {
        assertProblem(await get(url, { batch_id: 'a\u0000b' }), 400, 'validation_failed');
      }
      assertProblem(await get(`${BASE}/session`, { session_id: '\u0000' }), 400, 'validation_failed');
    });

    it('refuses an invalid release_id', async () => {
      await register(1);
      const response = await release('');
      assert.equal(response.statusCode, 400);
      assert.deepEqual(json<Problem>(response).errors, [{ path: 'release_id', message: 'must not be empty' }]);
    });
  });
}
