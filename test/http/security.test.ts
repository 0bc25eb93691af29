import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { makeEvents, makeSession } from '../support/factories.js';
import { testBackends } from '../support/backends.js';
import { assertProblem, json, startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = 'admin-key-0123456789abcdef';
const INGEST = 'ingest-key-0123456789abcdef';
const OTHER_INGEST = 'ingest-key-second-0123456789';
const KEYS = { CLICKSTREAM_ADMIN_KEY: ADMIN, CLICKSTREAM_INGEST_KEYS: `${INGEST},${OTHER_INGEST}` };

const CLIENT = '/api/v1/clickstream';
const INTERNAL = `${CLIENT}/internal`;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

for (const backend of testBackends()) {
  describe(`API keys [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend, KEYS);
    });
    after(() => t.close());

    const register = (headers: Record<string, string>, url = `${CLIENT}/session`, session = makeSession()) =>
      t.app.inject({ method: 'POST', url, headers, payload: session });
    const release = (headers: Record<string, string>, releaseId = 'r-1') =>
      t.app.inject({ method: 'POST', url: `${INTERNAL}/batch/release`, headers, payload: { release_id: releaseId } });
    const releasedCount = async () => (await t.store.listBatches(100)).filter((b) => b.release_id !== null).length;

    function assertUnauthorized(response: LightMyRequestResponse, detail: RegExp): void {
      const problem = assertProblem(response, 401, 'unauthorized');
      assert.match(problem.detail, detail);
      assert.equal(response.headers['www-authenticate'], 'Bearer realm="clickstream"');
    }

    it('leaves the root, health, readiness, the API document and the docs open', async () => {
      for (const url of ['/', '/health', '/ready', '/openapi.json', '/docs']) {
        const response = await t.app.inject({ method: 'GET', url });
        assert.ok(response.statusCode < 400, `${url}: ${response.statusCode}`);
      }
    });

    it('answers 401 without a key or with a wrong one, and stores nothing', async () => {
      const session = makeSession();
      assertUnauthorized(await register({}, undefined, session), /needs an API key/);
      assertUnauthorized(await register(bearer('not-a-key-0123456789'), undefined, session), /not valid/);
      assertUnauthorized(await register({ 'x-api-key': `${INGEST}x` }, undefined, session), /not valid/);
      assertUnauthorized(await register({ authorization: INGEST }, undefined, session), /must be "Bearer <key>"/);
      assertUnauthorized(await register({ authorization: `Basic ${INGEST}` }, undefined, session), /Bearer/);
      assert.equal(await t.store.findSession(session.session_id), null);
      assertUnauthorized(await release({}), /needs an API key/);
      assertUnauthorized(await release(bearer('not-a-key-0123456789')), /not valid/);
      assert.equal(await releasedCount(), 0);
    });

    it('takes an ingest key as Bearer, as X-API-Key and as ?key= on the client routes', async () => {
      assert.equal((await register(bearer(INGEST))).statusCode, 200);
      assert.equal((await register({ 'x-api-key': OTHER_INGEST })).statusCode, 200);
      const session = makeSession();
      assert.equal((await register({}, `${CLIENT}/session?key=${INGEST}`, session)).statusCode, 200);
      const events = await t.app.inject({
        method: 'POST',
        url: `${CLIENT}/session/events?key=${encodeURIComponent(INGEST)}`,
        payload: makeEvents(session, [0, 1]),
      });
      assert.equal(events.statusCode, 200, events.body);
      const read = await t.app.inject({
        method: 'GET',
        url: `${CLIENT}/session?session_id=${session.session_id}&key=${INGEST}`,
      });
      assert.equal(read.statusCode, 200, read.body);
      assert.equal(json<{ events: unknown[] }>(read).events.length, 2);
    });

    it('answers 403 for an ingest key on an internal route, however the path is spelled', async () => {
      const forbidden = assertProblem(await release(bearer(INGEST)), 403, 'forbidden');
      assert.match(forbidden.detail, /admin key/);
      assertProblem(await release({ 'x-api-key': OTHER_INGEST }), 403, 'forbidden');
      for (const url of [
        `${CLIENT}/%69nternal/batch/release`,
        `${CLIENT}/internal/batch/releas%65`,
        `${CLIENT}/internal//batch/release`,
        `${CLIENT}/./internal/batch/release`,
      ]) {
        const response = await t.app.inject({
          method: 'POST',
          url,
          headers: bearer(INGEST),
          payload: { release_id: 'x' },
        });
        assert.ok([403, 404].includes(response.statusCode), `${url}: ${response.statusCode} ${response.body}`);
        assertProblem(response, response.statusCode, response.statusCode === 403 ? 'forbidden' : 'not_found');
      }
      const batches = await t.app.inject({ method: 'GET', url: `${INTERNAL}/batches`, headers: bearer(INGEST) });
      assertProblem(batches, 403, 'forbidden');
      assert.equal(await releasedCount(), 0);
    });

    it('refuses a key in the URL on internal routes, and the admin key in the URL anywhere', async () => {
      assertUnauthorized(
        await t.app.inject({ method: 'GET', url: `${INTERNAL}/batches?key=${ADMIN}` }),
        /client routes only/,
      );
      assertUnauthorized(await register({}, `${CLIENT}/session?key=${ADMIN}`), /never accepted in the URL/);
    });

    it('lets the admin key call every route', async () => {
      assert.equal((await register(bearer(ADMIN))).statusCode, 200);
      assert.equal((await register({ 'x-api-key': ADMIN })).statusCode, 200);
      const released = await release(bearer(ADMIN), 'admin-release');
      assert.equal(released.statusCode, 200, released.body);
      const listed = await t.app.inject({ method: 'GET', url: `${INTERNAL}/batches`, headers: { 'x-api-key': ADMIN } });
      assert.equal(listed.statusCode, 200);
    });

    it('needs a key before telling whether a route exists, and reads no body for an unknown route', async () => {
      assertUnauthorized(await t.app.inject({ method: 'GET', url: '/no/such/route' }), /needs an API key/);
      assertProblem(
        await t.app.inject({ method: 'GET', url: '/no/such/route', headers: bearer(INGEST) }),
        404,
        'not_found',
      );
      // An unparsable body would be a 400 if it were read.
      const unread = await t.app.inject({
        method: 'POST',
        url: '/no/such/route',
        headers: { ...bearer(INGEST), 'content-type': 'application/json' },
        payload: '{"broken',
      });
      assertProblem(unread, 404, 'not_found');
    });

    it('refuses OPTIONS and HEAD without a key when CORS is off, before reading a body', async () => {
      const options = await t.app.inject({
        method: 'OPTIONS',
        url: `${CLIENT}/session`,
        headers: { 'content-type': 'application/json' },
        payload: '{"broken',
      });
      assertUnauthorized(options, /needs an API key/);
      const head = await t.app.inject({ method: 'HEAD', url: `${INTERNAL}/batches`, headers: bearer(INGEST) });
      assert.equal(head.statusCode, 403);
    });

    it('never echoes a key from a malformed URL', async () => {
      const response = await t.app.inject({ method: 'GET', url: `${CLIENT}/session%zz?key=${ADMIN}` });
      const problem = assertProblem(response, 400, 'bad_request');
      assert.ok(!response.body.includes(ADMIN), problem.detail);
    });

    it('limits bodies sent with the key in the URL to 64 KiB', async () => {
      const results = Array.from({ length: 5 }, (_, i) => ({
        object_id: `o${i}`,
        item_info: { pad: 'x'.repeat(15_000) },
      }));
      const big = makeSession({ search_results: results });
      const problem = assertProblem(
        await register({}, `${CLIENT}/session?key=${INGEST}`, big),
        413,
        'payload_too_large',
      );
      assert.match(problem.detail, /key in the URL/);
      assert.equal(await t.store.findSession(big.session_id), null);
      assert.equal((await register(bearer(INGEST), undefined, big)).statusCode, 200);
    });

    it('declares the security schemes in the OpenAPI document', async () => {
      const doc = json<{
        components: { securitySchemes: Record<string, { type: string; in?: string; name?: string }> };
        paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
      }>(await t.app.inject({ method: 'GET', url: '/openapi.json' }));
      const schemes = doc.components.securitySchemes;
      assert.equal(schemes.bearer?.type, 'http');
      assert.deepEqual([schemes.apiKeyHeader?.in, schemes.apiKeyHeader?.name], ['header', 'X-API-Key']);
      assert.deepEqual([schemes.apiKeyQuery?.in, schemes.apiKeyQuery?.name], ['query', 'key']);
      const names = (security: Record<string, string[]>[] | undefined) => (security ?? []).flatMap(Object.keys);
      assert.deepEqual(names(doc.paths[`${CLIENT}/session/events`]?.post?.security), [
        'bearer',
        'apiKeyHeader',
        'apiKeyQuery',
      ]);
      assert.deepEqual(names(doc.paths[`${INTERNAL}/batch/release`]?.post?.security), ['bearer', 'apiKeyHeader']);
      assert.deepEqual(doc.paths['/health']?.get?.security, []);
    });
  });
}

describe('CORS', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite', {
      ...KEYS,
      CLICKSTREAM_CORS_ORIGINS: 'https://shop.example,http://localhost:3000',
    });
  });
  after(() => t.close());

  const preflight = (origin: string, headers = 'content-type,authorization') =>
    t.app.inject({
      method: 'OPTIONS',
      url: `${CLIENT}/session/events`,
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers },
    });

  it('answers a preflight from an allowed origin, without a key', async () => {
    const response = await preflight('https://shop.example');
    assert.equal(response.statusCode, 204);
    assert.equal(response.headers['access-control-allow-origin'], 'https://shop.example');
    assert.match(String(response.headers['access-control-allow-methods']), /POST/);
    const allowed = String(response.headers['access-control-allow-headers']).toLowerCase();
    for (const header of ['content-type', 'authorization', 'x-api-key']) assert.ok(allowed.includes(header), allowed);
    assert.equal(response.headers['access-control-allow-credentials'], undefined);
  });

  it('gives no CORS headers to other origins', async () => {
    const response = await preflight('https://evil.example');
    assert.equal(response.headers['access-control-allow-origin'], undefined);
    const post = await t.app.inject({
      method: 'POST',
      url: `${CLIENT}/session`,
      headers: { origin: 'https://evil.example', ...bearer(INGEST) },
      payload: makeSession(),
    });
    assert.equal(post.headers['access-control-allow-origin'], undefined);
  });

  it('marks answers to an allowed origin, errors included, and exposes the request id', async () => {
    const ok = await t.app.inject({
      method: 'POST',
      url: `${CLIENT}/session`,
      headers: { origin: 'http://localhost:3000', ...bearer(INGEST) },
      payload: makeSession(),
    });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['access-control-allow-origin'], 'http://localhost:3000');
    assert.match(String(ok.headers['access-control-expose-headers']).toLowerCase(), /x-request-id/);
    const denied = await t.app.inject({
      method: 'POST',
      url: `${CLIENT}/session`,
      headers: { origin: 'http://localhost:3000' },
      payload: makeSession(),
    });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.headers['access-control-allow-origin'], 'http://localhost:3000');
  });
});

describe('rate limiting', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite', { ...KEYS, CLICKSTREAM_RATE_LIMIT_PER_MINUTE: '3' });
  });
  after(() => t.close());

  const register = (headers: Record<string, string>) =>
    t.app.inject({ method: 'POST', url: `${CLIENT}/session`, headers, payload: makeSession() });

  it('answers 429 with Retry-After past the limit of a key, and counts each key apart', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await register(bearer(INGEST))).statusCode, 200);
    const session = makeSession();
    const limited = await t.app.inject({
      method: 'POST',
      url: `${CLIENT}/session`,
      headers: bearer(INGEST),
      payload: session,
    });
    const problem = assertProblem(limited, 429, 'rate_limited');
    assert.match(problem.detail, /CLICKSTREAM_RATE_LIMIT_PER_MINUTE/);
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 60, `retry-after ${String(limited.headers['retry-after'])}`);
    assert.equal(await t.store.findSession(session.session_id), null);
    // The same key in another header is the same key; another key has its own budget, and so has the same
    // (public) ingest key used from another address: one client cannot use up everyone's budget.
    assertProblem(await register({ 'x-api-key': INGEST }), 429, 'rate_limited');
    assert.equal((await register(bearer(OTHER_INGEST))).statusCode, 200);
    const elsewhere = await t.app.inject({
      method: 'POST',
      url: `${CLIENT}/session`,
      remoteAddress: '10.9.9.9',
      headers: bearer(INGEST),
      payload: makeSession(),
    });
    assert.equal(elsewhere.statusCode, 200);
    // Health checks are never limited.
    for (let i = 0; i < 5; i++) assert.equal((await t.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
  });
});

describe('rate limiting of refused requests', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite', { ...KEYS, CLICKSTREAM_RATE_LIMIT_PER_MINUTE: '3' });
  });
  after(() => t.close());

  it('counts wrong keys by client address, so keys cannot be guessed at full speed', async () => {
    const guess = (remoteAddress: string, key: string) =>
      t.app.inject({ method: 'POST', url: `${CLIENT}/session`, remoteAddress, headers: bearer(key), payload: {} });
    for (let i = 0; i < 3; i++) assert.equal((await guess('10.7.7.7', `guess-${i}-0123456789abcdef`)).statusCode, 401);
    assertProblem(await guess('10.7.7.7', 'guess-3-0123456789abcdef'), 429, 'rate_limited');
    assert.equal((await guess('10.7.7.8', 'guess-4-0123456789abcdef')).statusCode, 401);
  });
});

describe('without keys', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite', { CLICKSTREAM_CORS_ORIGINS: 'http://localhost:3000' });
  });
  after(() => t.close());

  const register = (headers: Record<string, string>, session = makeSession()) =>
    t.app.inject({ method: 'POST', url: `${CLIENT}/session`, headers, payload: session });

  it('answers requests addressed to this machine, from no page or a local one', async () => {
    for (const host of ['localhost:5000', '127.0.0.1:5000', '[::1]:5000', 'localhost']) {
      assert.equal((await register({ host })).statusCode, 200, host);
    }
    const local = await register({ origin: 'http://localhost:3000' });
    assert.equal(local.statusCode, 200);
    assert.equal(local.headers['access-control-allow-origin'], 'http://localhost:3000');
  });

  it('refuses other Host names (DNS rebinding) and pages of other origins, storing nothing', async () => {
    const rebound = makeSession();
    const problem = assertProblem(await register({ host: 'attacker.example:5000' }, rebound), 403, 'forbidden');
    assert.match(problem.detail, /addressed to this machine/);
    const beacon = makeSession();
    const fromPage = await t.app.inject({
      method: 'POST',
      url: `${CLIENT}/session`,
      headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
      payload: JSON.stringify(beacon),
    });
    assert.match(assertProblem(fromPage, 403, 'forbidden').detail, /only pages served from this machine/);
    assertProblem(await register({ origin: 'null' }), 403, 'forbidden');
    // Host names are remembered once parsed: the same answers on repeat, also after a flood of new names.
    for (let i = 0; i < 300; i++) assertProblem(await register({ host: `rebind-${i}.example` }), 403, 'forbidden');
    assertProblem(await register({ host: 'attacker.example:5000' }), 403, 'forbidden');
    assert.equal((await register({ host: '127.0.0.1:5000' })).statusCode, 200);
    assert.equal(await t.store.findSession(rebound.session_id), null);
    assert.equal(await t.store.findSession(beacon.session_id), null);
  });
});

describe('rate limiting without keys', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite', { CLICKSTREAM_RATE_LIMIT_PER_MINUTE: '2' });
  });
  after(() => t.close());

  it('counts per client address', async () => {
    const from = (remoteAddress: string) =>
      t.app.inject({ method: 'POST', url: `${CLIENT}/session`, remoteAddress, payload: makeSession() });
    assert.equal((await from('10.0.0.1')).statusCode, 200);
    assert.equal((await from('10.0.0.1')).statusCode, 200);
    assertProblem(await from('10.0.0.1'), 429, 'rate_limited');
    assert.equal((await from('10.0.0.2')).statusCode, 200);
  });
});

describe('rate limiting behind a trusted proxy', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite', { CLICKSTREAM_RATE_LIMIT_PER_MINUTE: '1', CLICKSTREAM_TRUST_PROXY: '10.0.0.9' });
  });
  after(() => t.close());

  const via = (remoteAddress: string, client: string) =>
    t.app.inject({
      method: 'POST',
      url: `${CLIENT}/session`,
      remoteAddress,
      headers: { 'x-forwarded-for': client },
      payload: makeSession(),
    });

  it('counts the address the trusted proxy names, and ignores the header from anyone else', async () => {
    assert.equal((await via('10.0.0.9', '203.0.113.1')).statusCode, 200);
    assert.equal((await via('10.0.0.9', '203.0.113.2')).statusCode, 200);
    assertProblem(await via('10.0.0.9', '203.0.113.1'), 429, 'rate_limited');
    // Not the proxy: its X-Forwarded-For is not believed, so both requests count for 10.0.0.50.
    assert.equal((await via('10.0.0.50', '203.0.113.3')).statusCode, 200);
    assertProblem(await via('10.0.0.50', '203.0.113.4'), 429, 'rate_limited');
  });
});
