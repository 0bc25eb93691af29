/**
 * The events debugger end to end, on every backend: a rejected request shows in
 * GET /internal/debug/events with its code, error paths and session, and the filters and pages work; a
 * flood of rejected requests cannot grow the table past its count cap, and rows past the age cap go; no
 * key, Authorization header, token, secret or cookie is stored anywhere (every column of every row is
 * searched, and on SQLite the database files' bytes too); accepted requests are sampled at rate 1 and
 * not at rate 0; CLICKSTREAM_DEBUG_EVENTS=0 records nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { DebugEventsPage } from '../../src/schemas/debug-events.js';
import { testBackends, withDatabase, type Backend } from '../support/backends.js';
import { id, makeEvent, makeSession } from '../support/factories.js';
import { assertProblem, json, startTestApp, type TestApp } from '../support/test-app.js';

const API = '/api/v1/clickstream';
const DEBUG = `${API}/internal/debug/events`;
const ADMIN = 'admin-key-debugger-0123456789abcdef';
const INGEST = 'ingest-key-debugger-0123456789abcdef';
const WRONG = 'wrong-key-debugger-0123456789abcdef';
const COOKIE = 'cookie-value-debugger-0123456789';
const TOKEN = 'token-value-debugger-0123456789';
const SECRET = 'secret-value-debugger-0123456789';
const SECRETS = [ADMIN, INGEST, WRONG, COOKIE, TOKEN, SECRET];

/** Every row of the debugger's table as the database holds it, each column as text. */
async function rawRows(backend: Backend, url: string): Promise<string[]> {
  if (backend === 'sqlite') {
    const db = new Database(url.replace(/^sqlite:/, ''), { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare('SELECT * FROM debug_events')
        .all()
        .map((row) => JSON.stringify(row));
    } finally {
      db.close();
    }
  }
  return withDatabase(url, async (client) =>
    (await client.query('SELECT * FROM debug_events')).rows.map((row) => JSON.stringify(row)),
  );
}

async function page(t: TestApp, query = '', key?: string): Promise<DebugEventsPage> {
  await t.app.debugEvents.flush();
  const response = await t.app.inject({
    method: 'GET',
    url: `${DEBUG}${query}`,
    ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}),
  });
  assert.equal(response.statusCode, 200, response.body);
  return json<DebugEventsPage>(response);
}

for (const backend of testBackends()) {
  describe(`events debugger (${backend})`, () => {
    describe('rejected requests', () => {
      let t: TestApp;
      before(async () => {
        t = await startTestApp(backend, { CLICKSTREAM_DEBUG_SAMPLE_RATE: '0' });
      });
      after(async () => {
        await t.close();
      });

      it('shows a rejected request with its code, error paths and session, newest first', async () => {
        const session = makeSession();
        assert.equal((await t.app.inject({ method: 'POST', url: `${API}/session`, payload: session })).statusCode, 200);
        const bad = { session_id: session.session_id, events: [{ event_id: 'e-1' }] };
        const response = await t.app.inject({
          method: 'POST',
          url: `${API}/session/events?trace=1`,
          payload: bad,
          headers: { 'user-agent': 'debugger test' },
        });
        const problem = assertProblem(response, 400, 'validation_failed');
        const { events } = await page(t, `?session_id=${encodeURIComponent(session.session_id)}`);
        assert.equal(events.length, 1, 'the accepted registration is not sampled at rate 0');
        const [event] = events;
        assert.ok(event);
        assert.equal(event.method, 'POST');
        assert.equal(event.route, `${API}/session/events`);
        assert.equal(event.url, `${API}/session/events?trace=1`);
        assert.equal(event.status, 400);
        assert.equal(event.code, 'validation_failed');
        assert.equal(event.detail, problem.detail);
        assert.deepEqual(event.errors, problem.errors);
        assert.ok(
          event.errors.some((e) => e.path === 'events[0].object_id'),
          JSON.stringify(event.errors),
        );
        assert.equal(event.session_id, session.session_id);
        assert.equal(event.request_id, response.headers['x-request-id']);
        assert.equal(event.body, JSON.stringify(bad));
        assert.equal(event.body_bytes, JSON.stringify(bad).length);
        assert.equal(event.body_truncated, false);
        assert.equal(event.headers['user-agent'], 'debugger test');
        assert.equal(event.time, t.clock.now);
        assert.ok(event.duration_ms >= 0);
      });

      it('records refusals before the handler and unmatched paths, and filters by code and session', async () => {
        const sessionId = id('debug-session');
        // Unknown session (the handler), JSON that does not parse (the body parser), a path no route serves.
        await t.app.inject({
          method: 'POST',
          url: `${API}/session/events`,
          payload: { session_id: sessionId, events: [makeEvent()] },
        });
        await t.app.inject({
          method: 'POST',
          url: `${API}/session/events`,
          headers: { 'content-type': 'application/json' },
          payload: `{"session_id": "${sessionId}", "events": [}`,
        });
        await t.app.inject({ method: 'GET', url: `${API}/no/such/route?session_id=${sessionId}` });
        await t.app.inject({ method: 'GET', url: `${API}/session?session_id=${sessionId}` });
        const bySession = await page(t, `?session_id=${sessionId}`);
        assert.deepEqual(
          bySession.events.map((e) => [e.status, e.code, e.route]),
          [
            [404, 'session_not_found', `${API}/session`],
            [404, 'not_found', `${API}/no/such/route`],
            [400, 'invalid_json', `${API}/session/events`],
            [404, 'session_not_found', `${API}/session/events`],
          ],
        );
        const invalid = bySession.events[2];
        assert.equal(invalid?.body, `{"session_id": "${sessionId}", "events": [}`);
        const byCode = await page(t, `?code=invalid_json`);
        assert.ok(byCode.events.length >= 1);
        assert.ok(byCode.events.every((e) => e.code === 'invalid_json'));
        const both = await page(t, `?code=session_not_found&session_id=${sessionId}`);
        assert.equal(both.events.length, 2);
      });

      it('stores what neither store could hold as text (NUL, a lone surrogate) as U+FFFD', async () => {
        const marker = id('odd');
        // Escapes in valid JSON (refused by validation), then a raw NUL (refused by the parser).
        for (const [payload, code] of [
          [`{"session_id": "${marker}\\ud800\\u0000", "events": [{"x": "\\u0000"}]}`, 'validation_failed'],
          [`{"session_id": "${marker}\\ud800\\u0000", "events": [{"x": "\u0000"}]}`, 'invalid_json'],
        ] as const) {
          const response = await t.app.inject({
            method: 'POST',
            url: `${API}/session/events`,
            headers: { 'content-type': 'application/json' },
            payload,
          });
          assertProblem(response, 400, code);
        }
        const { events } = await page(t, `?session_id=${encodeURIComponent(`${marker}\uFFFD\uFFFD`)}`);
        assert.deepEqual(
          events.map((e) => e.code),
          ['invalid_json', 'validation_failed'],
        );
        assert.ok(events.every((e) => !(e.body ?? '').includes('\u0000')));
        assert.equal(t.app.debugEvents.dropped, 0);
      });

      it('pages by before, newest first, and refuses a limit over 200', async () => {
        for (let i = 0; i < 5; i++) await t.app.inject({ method: 'GET', url: `${API}/session?session_id=p-${i}` });
        const first = await page(t, '?limit=2');
        assert.equal(first.events.length, 2);
        assert.ok(first.next_before !== null);
        const second = await page(t, `?limit=2&before=${first.next_before}`);
        assert.equal(second.events.length, 2);
        assert.ok((second.events[0]?.seq ?? Infinity) < (first.events[1]?.seq ?? 0));
        assert.deepEqual(
          [...first.events, ...second.events].map((e) => e.session_id),
          ['p-4', 'p-3', 'p-2', 'p-1'],
        );
        assertProblem(await t.app.inject({ method: 'GET', url: `${DEBUG}?limit=201` }), 400, 'validation_failed');
        assertProblem(await t.app.inject({ method: 'GET', url: `${DEBUG}?code=nope` }), 400, 'validation_failed');
      });

      it('counts dropped records in /metrics', async () => {
        const response = await t.app.inject({ method: 'GET', url: '/metrics' });
        const family = parsePrometheusTextFormat(response.body).find(
          (f) => f.name === 'clickstream_debug_events_dropped_total',
        );
        assert.ok(family);
        assert.equal(family.type, 'COUNTER');
        assert.deepEqual(
          family.metrics.map((m) => Number(m.value)),
          [0],
        );
      });
    });

    it('cannot grow the table past its count cap under a flood, and trims rows past the age cap', async () => {
      const t = await startTestApp(backend, {
        CLICKSTREAM_DEBUG_SAMPLE_RATE: '0',
        CLICKSTREAM_DEBUG_EVENTS_MAX_ROWS: '20',
        CLICKSTREAM_DEBUG_EVENTS_MAX_AGE_SECONDS: '3600',
      });
      try {
        const sent: string[] = [];
        for (let round = 0; round < 4; round++) {
          await Promise.all(
            Array.from({ length: 15 }, async () => {
              const response = await t.app.inject({ method: 'POST', url: `${API}/session`, payload: { x: 1 } });
              assert.equal(response.statusCode, 400);
              sent.push(String(response.headers['x-request-id']));
            }),
          );
          await t.app.debugEvents.flush();
          const rows = await rawRows(backend, t.config.databaseUrl);
          assert.equal(rows.length, Math.min(20, sent.length), `after ${sent.length} rejected requests`);
        }
        const kept = (await page(t, '?limit=200')).events.map((e) => e.request_id);
        assert.deepEqual(new Set(kept), new Set(sent.slice(-20)), 'the newest 20 are kept');
        t.clock.advance(3601);
        await t.app.inject({ method: 'POST', url: `${API}/session`, payload: { x: 2 } });
        const { events } = await page(t, '?limit=200');
        assert.equal(events.length, 1, 'rows older than the age cap were removed');
        assert.equal(events[0]?.time, t.clock.now);
        assert.equal((await rawRows(backend, t.config.databaseUrl)).length, 1);
      } finally {
        await t.close();
      }
    });

    describe('with keys', () => {
      let t: TestApp;
      before(async () => {
        t = await startTestApp(backend, {
          CLICKSTREAM_ADMIN_KEY: ADMIN,
          CLICKSTREAM_INGEST_KEYS: INGEST,
          CLICKSTREAM_DEBUG_SAMPLE_RATE: '1',
        });
      });
      after(async () => {
        await t.close();
      });

      it('stores no key, Authorization header, token, secret or cookie in any column', async () => {
        const session = makeSession();
        const sends = [
          // A rejected body, with the key as Bearer (and, pasted by mistake, in the body).
          t.app.inject({
            method: 'POST',
            url: `${API}/session`,
            headers: { authorization: `Bearer ${INGEST}` },
            payload: { ...session, search_meta: { pasted: INGEST }, search_query: 42 },
          }),
          // An unknown session, with the key as X-API-Key.
          t.app.inject({
            method: 'POST',
            url: `${API}/session/events`,
            headers: { 'x-api-key': INGEST },
            payload: { session_id: id('missing'), events: [makeEvent()] },
          }),
          // sendBeacon's form: the key in the URL, the body as text/plain.
          t.app.inject({
            method: 'POST',
            url: `${API}/session/events?key=${INGEST}&session_id=beacon`,
            headers: { 'content-type': 'text/plain' },
            payload: '{"session_id": "beacon", "events": [}',
          }),
          // A wrong key (refused before the body is read) and an admin key in the URL (never accepted).
          t.app.inject({
            method: 'POST',
            url: `${API}/session`,
            headers: { authorization: `Bearer ${WRONG}` },
            payload: session,
          }),
          t.app.inject({ method: 'GET', url: `${API}/internal/batches?key=${ADMIN}` }),
          t.app.inject({
            method: 'GET',
            url: `${DEBUG}?limit=1000`,
            headers: { authorization: `Bearer ${ADMIN}`, cookie: `sid=${COOKIE}` },
          }),
          // Accepted (sampled at rate 1), with secrets in headers of every kind.
          t.app.inject({
            method: 'POST',
            url: `${API}/session?access_token=${TOKEN}`,
            headers: {
              'x-api-key': INGEST,
              cookie: `sid=${COOKIE}`,
              'x-session-token': TOKEN,
              'x-client-secret': SECRET,
              'user-agent': 'secrets test',
            },
            payload: session,
          }),
          t.app.inject({
            method: 'GET',
            url: `${API}/session?session_id=${session.session_id}&key=${INGEST}&api_key=${SECRET}`,
            headers: { 'proxy-authorization': `Basic ${SECRET}` },
          }),
          t.app.inject({ method: 'GET', url: `${API}/no/such/path?key=${INGEST}&secret=${SECRET}` }),
        ];
        const statuses = (await Promise.all(sends)).map((r) => r.statusCode);
        assert.deepEqual(statuses, [400, 404, 400, 401, 401, 400, 200, 400, 404]);
        await t.app.debugEvents.flush();
        const rows = await rawRows(backend, t.config.databaseUrl);
        assert.equal(rows.length, sends.length, 'every request was recorded');
        for (const row of rows) {
          for (const secret of SECRETS) assert.equal(row.includes(secret), false, `${secret} stored in ${row}`);
        }
        if (backend === 'sqlite') {
          // Nowhere in the files either: not in a free page, not in the write-ahead log.
          const path = t.config.databaseUrl.replace(/^sqlite:/, '');
          for (const file of [path, `${path}-wal`].filter((f) => existsSync(f))) {
            const bytes = readFileSync(file);
            for (const secret of SECRETS) assert.equal(bytes.includes(secret), false, `${secret} in ${file}`);
          }
        }
        // What is kept is still useful: the route, the code, the allowed headers, the session named.
        const { events } = await page(t, '?limit=200', ADMIN);
        const allowed = ['content-type', 'content-length', 'user-agent', 'origin', 'accept'];
        for (const event of events) {
          assert.deepEqual(
            Object.keys(event.headers).filter((name) => !allowed.includes(name)),
            [],
            JSON.stringify(event),
          );
        }
        const sampled = events.find((e) => e.status === 200 && e.method === 'POST');
        assert.equal(sampled?.url, `${API}/session`);
        assert.deepEqual(sampled.headers, {
          'user-agent': 'secrets test',
          'content-type': 'application/json',
          'content-length': String(JSON.stringify(session).length),
        });
        const beacon = events.find((e) => e.code === 'invalid_json');
        assert.equal(beacon?.url, `${API}/session/events?session_id=beacon`);
        assert.equal(beacon.session_id, 'beacon');
        assert.ok(events.some((e) => e.code === 'unauthorized' && e.route === `${API}/internal/batches`));
      });

      it('samples accepted requests at rate 1, but not its own page reads', async () => {
        const session = makeSession();
        const response = await t.app.inject({
          method: 'POST',
          url: `${API}/session`,
          headers: { authorization: `Bearer ${INGEST}` },
          payload: session,
        });
        assert.equal(response.statusCode, 200);
        const { events } = await page(t, `?session_id=${session.session_id}`, ADMIN);
        assert.deepEqual(
          events.map((e) => [e.status, e.code, e.request_id]),
          [[200, null, response.headers['x-request-id']]],
        );
        await page(t, '', ADMIN);
        const latest = (await page(t, '?limit=1', ADMIN)).events[0];
        assert.notEqual(latest?.route, DEBUG, 'reads of the debugger are not sampled');
      });

      it('answers its route to the admin key only', async () => {
        assertProblem(await t.app.inject({ method: 'GET', url: DEBUG }), 401, 'unauthorized');
        assertProblem(
          await t.app.inject({ method: 'GET', url: DEBUG, headers: { authorization: `Bearer ${INGEST}` } }),
          403,
          'forbidden',
        );
      });
    });

    it('answers requests whose records cannot be written, and counts those records as dropped', async () => {
      const t = await startTestApp(backend, { CLICKSTREAM_DEBUG_SAMPLE_RATE: '1' });
      try {
        // The store is gone: every write of the debugger fails, off the request path.
        await t.store.close();
        assertProblem(
          await t.app.inject({ method: 'POST', url: `${API}/session`, payload: { x: 1 } }),
          400,
          'validation_failed',
        );
        assert.equal((await t.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
        await t.app.debugEvents.flush();
        assert.equal(t.app.debugEvents.dropped, 1);
        const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        assert.match(metrics, /^clickstream_debug_events_dropped_total 1$/m);
      } finally {
        await t.close();
      }
    });

    it('records nothing and answers 404 with CLICKSTREAM_DEBUG_EVENTS=0', async () => {
      const t = await startTestApp(backend, { CLICKSTREAM_DEBUG_EVENTS: '0', CLICKSTREAM_DEBUG_SAMPLE_RATE: '1' });
      try {
        await t.app.inject({ method: 'POST', url: `${API}/session`, payload: { x: 1 } });
        await t.app.inject({ method: 'POST', url: `${API}/session`, payload: makeSession() });
        await t.app.debugEvents.flush();
        assert.deepEqual(await rawRows(backend, t.config.databaseUrl), []);
        assertProblem(await t.app.inject({ method: 'GET', url: DEBUG }), 404, 'not_found');
      } finally {
        await t.close();
      }
    });
  });
}
