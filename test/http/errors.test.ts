import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeSession } from '../support/factories.js';
import { testBackends } from '../support/backends.js';
import { assertProblem, json, startTestApp, type TestApp } from '../support/test-app.js';

const SESSION_URL = '/api/v1/clickstream/session';

for (const backend of testBackends()) {
  describe(`error envelope and transport limits [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend);
    });
    after(async () => {
      await t.close();
    });

    const raw = (payload: string, contentType = 'application/json') =>
      t.app.inject({ method: 'POST', url: SESSION_URL, payload, headers: { 'content-type': contentType } });

    it('answers unknown routes with 404 not_found as problem+json', async () => {
      const problem = assertProblem(
        await t.app.inject({ method: 'GET', url: '/api/v1/nothing?x=1' }),
        404,
        'not_found',
      );
      assert.match(problem.detail, /GET \/api\/v1\/nothing$/);
    });

    it('answers a malformed URL in the same envelope, with a request id', async () => {
      const problem = assertProblem(await t.app.inject({ method: 'GET', url: '/%zz' }), 400, 'bad_request');
      assert.match(problem.detail, /URL is not valid/);
    });

    it('keeps a plain client request id and replaces a hostile one', async () => {
      const kept = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-123.abc' } });
      assert.equal(kept.headers['x-request-id'], 'trace-123.abc');
      const replaced = await t.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'a b\u00e9' } });
      assert.match(String(replaced.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    });

    it('points at the syntax error of malformed JSON by line and column', async () => {
      const problem = assertProblem(
        await raw('{\n  "session_id": "abc",\n  "search_query": "q"\n  "search_results": []\n}'),
        400,
        'invalid_json',
      );
      assert.match(problem.detail, /line 4, column 3/);
      const trailing = assertProblem(await raw('{"session_id": "a", "search_results": [1,],}'), 400, 'invalid_json');
      assert.match(trailing.detail, /Unexpected token '\]' \(at line 1, column 42 \(offset 41\)\)$/);
    });

    it('refuses an empty body', async () => {
      assertProblem(await raw(''), 400, 'invalid_json');
    });

    it('refuses bodies over the size limit with 413 naming the limit', async () => {
      const big = JSON.stringify(makeSession({ search_meta: { blob: 'x'.repeat(t.config.limits.maxBodyBytes) } }));
      const problem = assertProblem(await raw(big), 413, 'payload_too_large');
      assert.match(problem.detail, /CLICKSTREAM_MAX_BODY_BYTES/);
    });

    it('takes JSON sent as text/plain on client routes (sendBeacon), and 415 on internal routes', async () => {
      const session = makeSession();
      const stored = await raw(JSON.stringify(session), 'text/plain;charset=UTF-8');
      assert.equal(stored.statusCode, 200, stored.body);
      assert.equal(json<{ session_id: string }>(stored).session_id, session.session_id);
      const release = await t.app.inject({
        method: 'POST',
        url: '/api/v1/clickstream/internal/batch/release',
        headers: { 'content-type': 'text/plain' },
        payload: JSON.stringify({ release_id: 'as-text' }),
      });
      assertProblem(release, 415, 'unsupported_media_type');
      assert.equal((await t.store.listBatches(10)).filter((b) => b.release_id !== null).length, 0);
    });

    it('limits text/plain bodies to 64 KiB, declared or not', async () => {
      const results = Array.from({ length: 5 }, (_, i) => ({
        object_id: `o${i}`,
        item_info: { pad: 'x'.repeat(15_000) },
      }));
      const big = JSON.stringify(makeSession({ search_results: results }));
      const problem = assertProblem(await raw(big, 'text/plain'), 413, 'payload_too_large');
      assert.match(problem.detail, /65536 bytes/);
      const chunked = await t.app.inject({
        method: 'POST',
        url: '/api/v1/clickstream/session',
        headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' },
        payload: big,
      });
      assertProblem(chunked, 413, 'payload_too_large');
      assert.equal((await raw(big)).statusCode, 200, 'the same body is fine as application/json');
    });

    it('refuses other content types with 415', async () => {
      assertProblem(
        await raw(JSON.stringify(makeSession()), 'application/x-www-form-urlencoded'),
        415,
        'unsupported_media_type',
      );
    });

    it('refuses nesting deeper than the limit before parsing it', async () => {
      const deep = `{"session_id":"s","search_query":${'['.repeat(100_000)}${']'.repeat(100_000)},"search_results":[]}`;
      const problem = assertProblem(await raw(deep), 400, 'validation_failed');
      assert.match(problem.detail, /CLICKSTREAM_MAX_JSON_DEPTH/);
      const atLimit = makeSession({
        search_meta: JSON.parse(`${'{"a":'.repeat(30)}1${'}'.repeat(30)}`) as Record<string, unknown>,
      });
      assert.equal((await raw(JSON.stringify(atLimit))).statusCode, 200);
    });

    it('refuses prototype-pollution keys', async () => {
      const body = JSON.stringify(makeSession()).replace(
        '"search_meta":{',
        '"search_meta":{"__proto__":{"polluted":true},',
      );
      assertProblem(await raw(body), 400, 'validation_failed');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('answers /, /health and /ready', async () => {
      // The root sends a person to the dashboard (it used to be a 404 problem, then JSON naming the docs).
      const root = await t.app.inject({ method: 'GET', url: '/' });
      assert.equal(root.statusCode, 302);
      assert.equal(root.headers.location, '/ui');
      assert.equal((await t.app.inject({ method: 'GET', url: '/docs' })).statusCode < 400, true);
      assert.deepEqual(json(await t.app.inject({ method: 'GET', url: '/health' })), { status: 'ok' });
      assert.deepEqual(json(await t.app.inject({ method: 'GET', url: '/ready' })), { status: 'ready' });
    });
  });

  describe(`internal errors [${backend}]`, () => {
    it('hide their details and /ready reports the store as unavailable', async () => {
      const t = await startTestApp(backend);
      try {
        await t.store.close();
        const failed = await t.app.inject({ method: 'POST', url: SESSION_URL, payload: makeSession() });
        // SQLite reports a closed handle (500); the PostgreSQL pool cannot connect (503, retryable).
        const problem =
          failed.statusCode === 503
            ? assertProblem(failed, 503, 'service_unavailable')
            : assertProblem(failed, 500, 'internal_error');
        // The driver's own message never reaches the client.
        assert.doesNotMatch(failed.body, /sqlite|pool|not open|connection|stack|\.ts:/i);
        if (problem.status === 500) assert.match(problem.detail, new RegExp(problem.request_id));
        const notReady = await t.app.inject({ method: 'GET', url: '/ready' });
        assertProblem(notReady, 503, 'service_unavailable');
        assert.equal(notReady.headers['retry-after'], '1');
      } finally {
        await t.close();
      }
    });
  });
}
