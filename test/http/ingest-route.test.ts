/**
 * The batched client route, POST /api/v1/clickstream/ingest, over the real app and store on every backend:
 * a session and its events in one body, items refused alone with their paths while the others are
 * stored, answers in order, idempotent retries, the body's own limits, and the beacon form.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IngestResults } from '../../src/schemas/ingest-payloads.js';
import type { SessionWithEvents } from '../../src/schemas/records.js';
import { testBackends } from '../support/backends.js';
import { id, makeEvent, makeSession } from '../support/factories.js';
import { assertProblem, json, startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = 'admin-key-0123456789abcdef';
const INGEST = 'ingest-key-0123456789abcdef';
const API = '/api/v1/clickstream';

for (const backend of testBackends()) {
  describe(`POST /ingest [${backend}]`, () => {
    let t: TestApp;
    const ingest = (payload: object | string, headers: Record<string, string> = {}, query = '') =>
      t.app.inject({
        method: 'POST',
        url: `${API}/ingest${query}`,
        headers: { authorization: `Bearer ${INGEST}`, ...headers },
        payload,
      });
    const results = (response: { statusCode: number; body: string }): IngestResults => {
      assert.equal(response.statusCode, 200, response.body);
      return json<{ results: IngestResults }>(response).results;
    };
    const stored = async (sessionId: string): Promise<SessionWithEvents | null> => {
      const response = await t.app.inject({
        method: 'GET',
        url: `${API}/session?session_id=${encodeURIComponent(sessionId)}`,
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      return response.statusCode === 200 ? json<SessionWithEvents>(response) : null;
    };

    before(async () => {
      t = await startTestApp(backend, { CLICKSTREAM_ADMIN_KEY: ADMIN, CLICKSTREAM_INGEST_KEYS: INGEST });
    });
    after(async () => {
      await t.close();
    });

    it('stores a session, its events and its flag from one body, answering each item in order', async () => {
      const session = makeSession();
      const [first, second] = session.search_results;
      assert.ok(first && second);
      const events = [makeEvent({ object_id: second.object_id }), makeEvent({ object_id: first.object_id })];
      const body = {
        sessions: [session],
        events: [{ session_id: session.session_id, events }],
        irrelevant: [session.session_id],
      };
      const answer = results(await ingest(body));
      assert.equal(answer.sessions.length, 1);
      const registered = answer.sessions[0];
      assert.ok(registered && registered.status === 200 && 'batch_id' in registered, JSON.stringify(registered));
      assert.equal(registered.session_id, session.session_id);
      assert.equal(registered.session_number > 0 && registered.batch_id.length > 0, true);
      assert.deepEqual(answer.events, [{ status: 200, session_id: session.session_id, stored: 2, duplicates: 0 }]);
      assert.deepEqual(answer.irrelevant, [{ status: 200, session_id: session.session_id, is_irrelevant: true }]);
      const read = await stored(session.session_id);
      assert.ok(read);
      assert.equal(read.is_irrelevant, true);
      assert.deepEqual(
        read.events.map((event) => [event.event_id, event.position]),
        [
          [events[0]?.event_id, 1],
          [events[1]?.event_id, 0],
        ],
      );

      // The same body again (a client that never saw the answer): every item answers as before.
      const again = results(await ingest(body));
      assert.deepEqual(again.sessions, answer.sessions);
      assert.deepEqual(again.events, [{ status: 200, session_id: session.session_id, stored: 0, duplicates: 2 }]);
    });

    it('reads a null section as an absent one, as every optional field of the API', async () => {
      const session = makeSession();
      const answer = results(await ingest({ sessions: [session], events: null, irrelevant: null }));
      assert.deepEqual([answer.sessions[0]?.status, answer.events, answer.irrelevant], [200, [], []]);
    });

    it('refuses a bad item alone, with its path from the body root, and stores the others', async () => {
      const good = makeSession();
      const bad = { ...makeSession(), search_query: 42, created_at: 1_700_000_000_000 };
      const unknown = id('missing');
      const conflict = { ...good, search_query: 'another query' };
      const goodEvent = makeEvent({ object_id: good.search_results[0]?.object_id ?? '' });
      const answer = results(
        await ingest({
          sessions: [good, bad],
          events: [
            { session_id: unknown, events: [makeEvent()] },
            { session_id: good.session_id, events: [goodEvent] },
            { session_id: good.session_id, events: [{ event_id: '', object_id: 'x' }] },
          ],
          irrelevant: ['', unknown],
        }),
      );
      assert.equal(answer.sessions[0]?.status, 200);
      const refused = answer.sessions[1];
      assert.ok(refused && refused.status === 400 && 'code' in refused, JSON.stringify(refused));
      assert.equal(refused.code, 'validation_failed');
      const paths = refused.errors.map((error) => error.path).sort();
      assert.deepEqual(paths, ['sessions[1].created_at', 'sessions[1].search_query']);
      assert.match(refused.errors.find((e) => e.path === 'sessions[1].created_at')?.message ?? '', /millisecond/);

      assert.deepEqual(
        answer.events.map((entry) => [entry.status, 'code' in entry ? entry.code : null]),
        [
          [404, 'session_not_found'],
          [200, null],
          [400, 'validation_failed'],
        ],
      );
      const badEvent = answer.events[2];
      assert.ok(badEvent && 'errors' in badEvent);
      assert.deepEqual(
        badEvent.errors.map((error) => error.path),
        ['events[2].events[0].event_id'],
      );
      assert.deepEqual(
        answer.irrelevant.map((entry) => [entry.status, 'errors' in entry ? entry.errors.map((e) => e.path) : []]),
        [
          [400, ['irrelevant[0]']],
          [404, ['irrelevant[1]']],
        ],
      );
      assert.ok(await stored(good.session_id));
      assert.equal(await stored(bad.session_id), null);
      assert.deepEqual(
        (await stored(good.session_id))?.events.map((event) => event.event_id),
        [goodEvent.event_id],
      );

      const conflicting = results(await ingest({ sessions: [conflict] }));
      const entry = conflicting.sessions[0];
      assert.ok(entry && 'code' in entry, JSON.stringify(entry));
      assert.deepEqual([entry.status, entry.code], [409, 'session_conflict']);
      assert.equal((await stored(good.session_id))?.search_query, good.search_query);
    });

    it('refuses a malformed, empty or oversized body whole, storing nothing', async () => {
      const session = makeSession();
      assertProblem(await ingest({ sessions: [session], extra: 1 }), 400, 'validation_failed');
      assertProblem(await ingest({ sessions: session }), 400, 'validation_failed');
      const empty = assertProblem(await ingest({ sessions: [], events: null }), 400, 'validation_failed');
      assert.match(empty.detail, /holds no item/);
      assertProblem(await ingest('{"sessions": [}', { 'content-type': 'application/json' }), 400, 'invalid_json');
      assert.equal(await stored(session.session_id), null);

      const limited = await startTestApp(backend, { CLICKSTREAM_MAX_INGEST_ITEMS: '2' });
      try {
        const many = [makeSession(), makeSession(), makeSession()] as const;
        const response = await limited.app.inject({
          method: 'POST',
          url: `${API}/ingest`,
          payload: { sessions: many },
        });
        const problem = assertProblem(response, 400, 'validation_failed');
        assert.deepEqual(problem.errors, [
          { path: 'sessions', message: 'has 3 items; the limit is 2 (CLICKSTREAM_MAX_INGEST_ITEMS)' },
        ]);
        assert.equal(await limited.store.findSession(many[0].session_id), null);
      } finally {
        await limited.close();
      }
    });

    it('takes the beacon form: text/plain with the key in the URL, up to 64 KiB', async () => {
      const session = makeSession();
      const body = JSON.stringify({ sessions: [session] });
      const answer = results(
        await t.app.inject({
          method: 'POST',
          url: `${API}/ingest?key=${INGEST}`,
          headers: { 'content-type': 'text/plain;charset=UTF-8' },
          payload: body,
        }),
      );
      assert.equal(answer.sessions[0]?.status, 200);
      const big = JSON.stringify({
        sessions: [makeSession({ search_meta: { padding: 'x'.repeat(70 * 1024) } })],
      });
      assertProblem(
        await t.app.inject({
          method: 'POST',
          url: `${API}/ingest?key=${INGEST}`,
          headers: { 'content-type': 'text/plain' },
          payload: big,
        }),
        413,
        'payload_too_large',
      );
    });
  });
}
