import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SessionWithEvents } from '../../src/schemas/records.js';
import { id, makeEvent, makeEvents, makeSession } from '../support/factories.js';
import { testBackends } from '../support/backends.js';
import { assertProblem, json, startTestApp, type TestApp } from '../support/test-app.js';

const BASE = '/api/v1/clickstream';

for (const backend of testBackends()) {
  describe(`client routes [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend);
    });
    after(async () => {
      await t.close();
    });

    const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url: `${BASE}${url}`, payload: payload as object, headers });
    const getSession = (sessionId: string) =>
      t.app.inject({ method: 'GET', url: `${BASE}/session`, query: { session_id: sessionId } });

    describe('POST /session', () => {
      it('registers a session and answers with its batch and number', async () => {
        const session = makeSession();
        const response = await post('/session', session);
        assert.equal(response.statusCode, 200, response.body);
        assert.ok(response.headers['x-request-id']);
        const body = json<{ session_id: string; batch_id: string; session_number: number; created_at: number }>(
          response,
        );
        assert.equal(body.session_id, session.session_id);
        assert.match(body.batch_id, /^[0-9a-f]{24}$/);
        assert.ok(body.session_number >= 1);
        assert.equal(body.created_at, t.clock.now);
      });

      it('answers a re-registration with the same content exactly as the first time', async () => {
        const session = makeSession();
        const first = await post('/session', session);
        t.clock.advance(3);
        const second = await post('/session', session);
        assert.equal(second.statusCode, 200);
        assert.equal(second.body, first.body);
      });

      it('refuses a re-registration with different content with 409 session_conflict', async () => {
        const session = makeSession();
        await post('/session', session);
        const problem = assertProblem(
          await post('/session', { ...session, search_query: 'another query' }),
          409,
          'session_conflict',
        );
        assert.match(problem.detail, new RegExp(session.session_id));
        const stored = json<SessionWithEvents>(await getSession(session.session_id));
        assert.equal(stored.search_query, session.search_query);
      });

      it('compares created_at only where both requests gave one', async () => {
        const session = makeSession({ created_at: t.clock.now - 60 });
        await post('/session', session);
        const { created_at: _omitted, ...withoutTime } = session;
        assert.equal((await post('/session', withoutTime)).statusCode, 200);
        assertProblem(await post('/session', { ...session, created_at: t.clock.now - 61 }), 409, 'session_conflict');
      });

      it('accepts structured queries, zero-result searches and the EmbeddingStudio context fields', async () => {
        const session = makeSession({
          search_query: { text: 'shoes', filters: { size: [41, 42] } },
          search_results: [],
          payload_filter: { brand: 'acme' },
          sort_by: { field: 'price', order: 'desc' },
        });
        assert.equal((await post('/session', session)).statusCode, 200);
        const arrayQuery = makeSession({ search_query: ['shoes', { color: 'red' }] });
        assert.equal((await post('/session', arrayQuery)).statusCode, 200);
        const emptyQuery = makeSession({ search_query: '' });
        assert.equal((await post('/session', emptyQuery)).statusCode, 200);
        const stored = json<SessionWithEvents>(await getSession(session.session_id));
        assert.deepEqual(stored.search_query, { text: 'shoes', filters: { size: [41, 42] } });
        assert.deepEqual(stored.search_results, []);
        assert.deepEqual(stored.payload_filter, { brand: 'acme' });
        assert.deepEqual(stored.sort_by, { field: 'price', order: 'desc' });
        assert.deepEqual(json<SessionWithEvents>(await getSession(arrayQuery.session_id)).search_query, [
          'shoes',
          { color: 'red' },
        ]);
      });

      it('stores item_info as meta and positions by index', async () => {
        const session = makeSession();
        await post('/session', session);
        const stored = json<SessionWithEvents>(await getSession(session.session_id));
        assert.deepEqual(
          stored.search_results.map((r) => [r.object_id, r.position, r.rank, r.meta]),
          [
            [session.search_results[0]?.object_id, 0, 0.3, { title: 'first' }],
            [session.search_results[1]?.object_id, 1, null, null],
            [session.search_results[2]?.object_id, 2, null, null],
          ],
        );
      });

      it('lists every offending item by path and stores nothing', async () => {
        const session = makeSession();
        const payload = {
          ...session,
          user_id: 42,
          colour: 'blue',
          search_results: [{ object_id: 'a', rank: 'high' }, { rank: 1 }, { object_id: 'c', extra: true }],
        };
        const problem = assertProblem(await post('/session', payload), 400, 'validation_failed');
        const paths = (problem.errors ?? []).map((e) => e.path).sort();
        assert.deepEqual(paths, [
          'colour',
          'search_results[0].rank',
          'search_results[1].object_id',
          'search_results[2].extra',
          'user_id',
        ]);
        assert.equal(problem.errors?.find((e) => e.path === 'colour')?.message, 'is not a known field');
        assertProblem(await getSession(session.session_id), 404, 'session_not_found');
      });

      it('lists every rule broken by otherwise well-formed items', async () => {
        const session = makeSession();
        const shared = session.search_results[0]?.object_id ?? '';
        const problem = assertProblem(
          await post('/session', {
            ...session,
            session_id: 'x'.repeat(257),
            created_at: (t.clock.now - 10) * 1000,
            search_results: [{ object_id: shared }, { object_id: 'tab\there' }, { object_id: shared }],
          }),
          400,
          'validation_failed',
        );
        const byPath = new Map((problem.errors ?? []).map((e) => [e.path, e.message]));
        assert.match(byPath.get('session_id') ?? '', /CLICKSTREAM_MAX_ID_LENGTH/);
        assert.match(byPath.get('created_at') ?? '', /looks like milliseconds/);
        assert.match(byPath.get('search_results[1].object_id') ?? '', /control characters/);
        assert.match(byPath.get('search_results[2].object_id') ?? '', /repeats search_results\[0\]/);
      });

      it('says that timestamps are integer UTC seconds, and converts a date string sent instead', async () => {
        const session = makeSession();
        const problem = assertProblem(
          await post('/session', { ...session, created_at: '2026-12-01T10:00:00Z' }),
          400,
          'validation_failed',
        );
        assert.deepEqual(problem.errors, [
          {
            path: 'created_at',
            message: 'must be integer UTC seconds or null, not a date string ("2026-12-01T10:00:00Z" is 1796119200)',
          },
        ]);
        const events = assertProblem(
          await post('/session/events', { session_id: session.session_id, events: [makeEvent({ created_at: 1.5 })] }),
          400,
          'validation_failed',
        );
        assert.deepEqual(events.errors, [
          { path: 'events[0].created_at', message: 'must be integer UTC seconds or null' },
        ]);
      });

      it('answers a retry as the first time even after its created_at has left the window', async () => {
        const past = t.config.timeWindowPastSeconds;
        const session = makeSession({ created_at: t.clock.now - past + 10 });
        const first = await post('/session', session);
        const objectId = session.search_results[0]?.object_id ?? '';
        const events = {
          session_id: session.session_id,
          events: [makeEvent({ object_id: objectId, created_at: t.clock.now - past + 10 })],
        };
        assert.deepEqual(json(await post('/session/events', events)), {
          session_id: session.session_id,
          stored: 1,
          duplicates: 0,
        });
        t.clock.advance(60);
        const retry = await post('/session', session);
        assert.equal(retry.statusCode, 200, retry.body);
        assert.equal(retry.body, first.body);
        assert.deepEqual(json(await post('/session/events', events)), {
          session_id: session.session_id,
          stored: 0,
          duplicates: 1,
        });
        // New data with such a timestamp is still refused, and so is a changed session.
        const late = { ...events, events: [{ ...events.events[0], event_id: id('event') }] };
        assertProblem(await post('/session/events', late), 400, 'validation_failed');
        const changed = { ...session, search_query: 'changed' };
        assertProblem(await post('/session', changed), 400, 'validation_failed');
        assertProblem(await post('/session', { ...session, session_id: id('session') }), 400, 'validation_failed');
        assert.equal(json<SessionWithEvents>(await getSession(session.session_id)).events.length, 1);
      });

      it('accepts the edges of the time window and refuses beyond them', async () => {
        const { timeWindowPastSeconds: past, timeWindowFutureSeconds: future } = t.config;
        for (const created_at of [t.clock.now - past, t.clock.now + future]) {
          assert.equal((await post('/session', makeSession({ created_at }))).statusCode, 200);
        }
        const old = assertProblem(
          await post('/session', makeSession({ created_at: t.clock.now - past - 1 })),
          400,
          'validation_failed',
        );
        assert.match(old.detail, /CLICKSTREAM_TIME_WINDOW_PAST_SECONDS/);
      });

      it('enforces the result count, meta size and search_meta size limits, naming each', async () => {
        const tooMany = makeSession({
          search_results: Array.from({ length: t.config.limits.maxResultsPerSession + 1 }, (_, i) => ({
            object_id: `o${i}`,
          })),
        });
        assert.match(
          assertProblem(await post('/session', tooMany), 400, 'validation_failed').detail,
          /CLICKSTREAM_MAX_RESULTS_PER_SESSION/,
        );
        const bigMeta = makeSession({
          search_results: [{ object_id: 'o', meta: { blob: 'x'.repeat(t.config.limits.maxMetaBytes) } }],
        });
        assert.match(
          assertProblem(await post('/session', bigMeta), 400, 'validation_failed').detail,
          /search_results\[0\]\.meta: .*CLICKSTREAM_MAX_META_BYTES/,
        );
        const bigSearchMeta = makeSession({ search_meta: { blob: 'x'.repeat(t.config.limits.maxSearchMetaBytes) } });
        assert.match(
          assertProblem(await post('/session', bigSearchMeta), 400, 'validation_failed').detail,
          /CLICKSTREAM_MAX_SEARCH_META_BYTES/,
        );
      });
    });

    describe('EmbeddingStudio clients and unusual JSON', () => {
      it('reads null in every optional field as absent', async () => {
        const session = makeSession();
        const objectId = session.search_results[0]?.object_id ?? '';
        const payload = {
          ...session,
          search_results: [{ object_id: objectId, rank: null, meta: null, item_info: null }],
          search_meta: null,
          payload_filter: null,
          sort_by: null,
          user_id: null,
          created_at: null,
        };
        assert.equal((await post('/session', payload)).statusCode, 200);
        assert.equal((await post('/session', payload)).statusCode, 200, 'a retry with nulls is the same session');
        const events = {
          session_id: session.session_id,
          events: [{ event_id: 'e1', object_id: objectId, event_type: null, created_at: null, meta: null }],
        };
        assert.deepEqual(json(await post('/session/events', events)), {
          session_id: session.session_id,
          stored: 1,
          duplicates: 0,
        });
        const stored = json<SessionWithEvents>(await getSession(session.session_id));
        assert.deepEqual(stored.search_results, [{ object_id: objectId, position: 0, rank: null, meta: null }]);
        assert.equal(stored.user_id, null);
        assert.equal(stored.created_at, t.clock.now);
        assert.deepEqual(
          stored.events.map((e) => [e.event_type, e.created_at, e.meta]),
          [['click', t.clock.now, null]],
        );
      });

      it('reads back keys with line breaks and non-ASCII text exactly as sent', async () => {
        const odd = { 'a\nb': 1, 'x\u2028y': { 'z\r': ['ü', '😀'] }, '': 'empty key' };
        const session = makeSession({
          search_query: { 'q\nq': 'multi\nline' },
          search_meta: odd,
          search_results: [{ object_id: 'o-1', meta: odd }],
        });
        assert.equal((await post('/session', session)).statusCode, 200);
        await post('/session/events', {
          session_id: session.session_id,
          events: [makeEvent({ object_id: 'o-1', meta: odd })],
        });
        const stored = json<SessionWithEvents>(await getSession(session.session_id));
        assert.deepEqual(stored.search_query, { 'q\nq': 'multi\nline' });
        assert.deepEqual(stored.search_meta, odd);
        assert.deepEqual(stored.search_results[0]?.meta, odd);
        assert.deepEqual(stored.events[0]?.meta, odd);
      });

      it('refuses numbers JSON cannot represent instead of storing them as null', async () => {
        // Overflowing by the exponent, by a long mantissa with a short exponent, and by digits alone; as a
        // member's value, and inside an array after white space.
        const huges = ['1e400', `1${'0'.repeat(300)}e9`, `-${'9'.repeat(309)}`, `0.5${'0'.repeat(400)}E+309`];
        for (const value of huges.flatMap((huge) => [huge, `[0,\n\t ${huge}]`])) {
          const session = makeSession();
          const body = JSON.stringify(session).replace('"page":1', `"page":${value}`);
          const response = await t.app.inject({
            method: 'POST',
            url: `${BASE}/session`,
            payload: body,
            headers: { 'content-type': 'application/json' },
          });
          const problem = assertProblem(response, 400, 'validation_failed');
          assert.match(problem.detail, /search_meta/, value.slice(0, 20));
          assert.equal(await t.store.findSession(session.session_id), null);
        }
      });
    });

    describe('POST /session/events', () => {
      it('stores events, counts re-sent ones as duplicates, and places clicks by position', async () => {
        const session = makeSession();
        await post('/session', session);
        const events = makeEvents(session, [2, 0]);
        events.events.push(makeEvent({ object_id: id('never-shown'), event_type: 'view', meta: { ms: 120 } }));
        const first = await post('/session/events', events);
        assert.equal(first.statusCode, 200, first.body);
        assert.deepEqual(json(first), { session_id: session.session_id, stored: 3, duplicates: 0 });
        assert.deepEqual(json(await post('/session/events', events)), {
          session_id: session.session_id,
          stored: 0,
          duplicates: 3,
        });
        const stored = json<SessionWithEvents>(await getSession(session.session_id));
        assert.deepEqual(
          stored.events.map((e) => [e.event_id, e.position, e.event_type]),
          [
            [events.events[0]?.event_id, 2, 'click'],
            [events.events[1]?.event_id, 0, 'click'],
            [events.events[2]?.event_id, null, 'view'],
          ],
        );
        assert.deepEqual(stored.events[2]?.meta, { ms: 120 });
      });

      it('defaults event_type to click and created_at to server time, and takes item_info as meta', async () => {
        const session = makeSession();
        await post('/session', session);
        const objectId = session.search_results[1]?.object_id ?? '';
        await post('/session/events', {
          session_id: session.session_id,
          events: [{ event_id: 'e1', object_id: objectId, item_info: { source: 'seed' } }],
        });
        const [event] = json<SessionWithEvents>(await getSession(session.session_id)).events;
        assert.deepEqual(event, {
          event_id: 'e1',
          object_id: objectId,
          event_type: 'click',
          created_at: t.clock.now,
          position: 1,
          meta: { source: 'seed' },
        });
      });

      it('refuses a re-sent event with different content and stores nothing of that request', async () => {
        const session = makeSession();
        await post('/session', session);
        const events = makeEvents(session, [0]);
        await post('/session/events', events);
        const first = events.events[0];
        assert.ok(first);
        const conflicting = {
          session_id: session.session_id,
          events: [makeEvent({ object_id: 'fresh' }), { ...first, event_type: 'purchase' }],
        };
        assertProblem(await post('/session/events', conflicting), 409, 'event_conflict');
        assert.equal(json<SessionWithEvents>(await getSession(session.session_id)).events.length, 1);
      });

      it('answers 404 session_not_found for an unknown session and stores nothing', async () => {
        const sessionId = id('unknown');
        assertProblem(
          await post('/session/events', { session_id: sessionId, events: [makeEvent()] }),
          404,
          'session_not_found',
        );
      });

      it('rejects the whole request when one event is invalid, naming each by path', async () => {
        const session = makeSession();
        await post('/session', session);
        const events = makeEvents(session, [0, 1, 2, 0]);
        const payload = {
          session_id: session.session_id,
          events: [
            events.events[0],
            { ...events.events[1], object_id: '' },
            { ...events.events[2], created_at: t.clock.now * 1000 },
            { ...events.events[3], meta: 'not an object' },
          ],
        };
        // A shape error (events[3].meta) and rule errors (empty id, milliseconds) are listed together.
        const problem = assertProblem(await post('/session/events', payload), 400, 'validation_failed');
        const byPath = new Map((problem.errors ?? []).map((e) => [e.path, e.message]));
        assert.deepEqual([...byPath.keys()].sort(), ['events[1].object_id', 'events[2].created_at', 'events[3].meta']);
        assert.equal(byPath.get('events[3].meta'), 'must be an object or a null');
        assert.equal(byPath.get('events[1].object_id'), 'must not be empty');
        assert.match(byPath.get('events[2].created_at') ?? '', /looks like milliseconds/);
        assert.equal(problem.detail, '3 problems in the request; nothing was stored');
        assert.equal(json<SessionWithEvents>(await getSession(session.session_id)).events.length, 0);
      });

      it('enforces the events-per-request limit', async () => {
        const session = makeSession();
        await post('/session', session);
        const objectId = session.search_results[0]?.object_id ?? '';
        const events = Array.from({ length: t.config.limits.maxEventsPerRequest + 1 }, () =>
          makeEvent({ object_id: objectId }),
        );
        const problem = assertProblem(
          await post('/session/events', { session_id: session.session_id, events }),
          400,
          'validation_failed',
        );
        assert.match(
          problem.detail,
          /events: has 1001 items; the limit is 1000 \(CLICKSTREAM_MAX_EVENTS_PER_REQUEST\)/,
        );
      });
    });

    describe('POST /session/irrelevant and GET /session', () => {
      it('flags a session idempotently; reads show is_irrelevant', async () => {
        const session = makeSession();
        await post('/session', session);
        for (let i = 0; i < 2; i++) {
          const response = await post('/session/irrelevant', { session_id: session.session_id });
          assert.deepEqual(json(response), { session_id: session.session_id, is_irrelevant: true });
        }
        assert.equal(json<SessionWithEvents>(await getSession(session.session_id)).is_irrelevant, true);
      });

      it('answers 404 for unknown sessions and 400 without session_id', async () => {
        assertProblem(await post('/session/irrelevant', { session_id: id('unknown') }), 404, 'session_not_found');
        assertProblem(await getSession(id('unknown')), 404, 'session_not_found');
        const missing = assertProblem(
          await t.app.inject({ method: 'GET', url: `${BASE}/session` }),
          400,
          'validation_failed',
        );
        assert.deepEqual(missing.errors, [{ path: 'session_id', message: 'is required' }]);
      });
    });

    describe('late events and sealing', () => {
      it('takes events during the grace period after release and answers 409 session_closed after sealed_at', async () => {
        const session = makeSession();
        await post('/session', session);
        const release = await post('/internal/batch/release', { release_id: id('release') });
        assert.equal(release.statusCode, 200, release.body);
        const { sealed_at } = json<{ sealed_at: number }>(release);
        assert.equal(sealed_at, t.clock.now + t.config.lateEventGraceSeconds);

        t.clock.advance(t.config.lateEventGraceSeconds - 1);
        const late = await post('/session/events', makeEvents(session, [0]));
        assert.deepEqual(json(late), { session_id: session.session_id, stored: 1, duplicates: 0 });

        t.clock.advance(1);
        const closed = assertProblem(await post('/session/events', makeEvents(session, [1])), 409, 'session_closed');
        assert.match(closed.detail, /sealed/);
        assertProblem(await post('/session/irrelevant', { session_id: session.session_id }), 409, 'session_closed');
        const stored = json<SessionWithEvents>(await getSession(session.session_id));
        assert.equal(stored.events.length, 1);
        assert.equal(stored.is_irrelevant, false);
      });
    });
  });
}
