/**
 * Every route declares who may call it, and the app fails closed: a route without a valid declaration
 * does not start, and an ingest key (public by design) opens no route beyond the client ones.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import { ACCESS_LEVELS } from '../../src/http/routes/route-definition.js';
import { ROUTES } from '../../src/http/routes/route-list.js';
import { REPO_ROOT } from '../support/service-process.js';
import { assertProblem, openTestStore, startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = 'admin-key-0123456789abcdef';
const INGEST = 'ingest-key-0123456789abcdef';
const KEYS = { CLICKSTREAM_ADMIN_KEY: ADMIN, CLICKSTREAM_INGEST_KEYS: INGEST };

describe('route declarations', () => {
  it('refuse to start an app with a route that declares no access, or an access that does not exist', async () => {
    const opened = await openTestStore('sqlite');
    try {
      for (const config of [{}, { access: 'worker-of-the-future' }]) {
        const app = await buildApp({ store: opened.store, config: opened.config });
        // As a plugin or a careless route file would: no access, or one the service does not know.
        app.get('/api/v1/clickstream/undeclared', { config: config as object }, () => ({ ok: true }));
        await assert.rejects(
          async () => app.ready(),
          /every route must declare its access .*GET \/api\/v1\/clickstream\/undeclared/,
        );
        await app.close();
      }
    } finally {
      await opened.cleanup();
    }
  });

  it('put each full path literally in one route file, so that a path seen in a log is found with grep', () => {
    const folder = join(REPO_ROOT, 'src', 'http', 'routes');
    const files = readdirSync(folder).filter((name) => name.endsWith('-routes.ts'));
    for (const route of ROUTES) {
      const holders = files.filter((name) => readFileSync(join(folder, name), 'utf8').includes(`'${route.url}'`));
      assert.equal(holders.length > 0, true, `${route.method} ${route.url} is not written out in a route file`);
    }
  });
});

describe('the route table against the route list', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite', KEYS);
  });
  after(() => t.close());

  it('serves exactly the listed routes, besides what plugins add with an access of their own', () => {
    const key = (route: { method: unknown; url: string }) => `${String(route.method)} ${route.url}`;
    const listed = new Set(ROUTES.map(key));
    assert.equal(listed.size, ROUTES.length, 'a route is listed twice');
    const served = t.app.routeTable.filter((route) => route.method !== 'HEAD');
    const own = served.filter((route) => listed.has(key(route)));
    assert.deepEqual(own.map(key).sort(), [...listed].sort());
    for (const route of served) {
      assert.ok(
        ACCESS_LEVELS.some((access) => access === route.config?.access),
        `${key(route)} has no access: ${String(route.config?.access)}`,
      );
      // Whatever a plugin adds is public (Swagger UI's files, CORS preflights) and never an API route.
      if (!listed.has(key(route))) {
        assert.equal(route.config?.access, 'public', key(route));
        assert.doesNotMatch(route.url, /^\/api\//, `${key(route)} is served but not listed`);
      }
    }
  });

  it('answers 403 to an ingest key on every route that is neither a client nor a public route', async () => {
    const guarded = ROUTES.filter((route) => route.access !== 'client' && route.access !== 'public');
    assert.ok(guarded.length >= 4, `only ${guarded.length} internal routes listed`);
    for (const route of guarded) {
      for (const headers of [{ authorization: `Bearer ${INGEST}` }, { 'x-api-key': INGEST }]) {
        const response = await t.app.inject({
          method: route.method,
          url: route.url,
          headers,
          ...(route.method === 'POST' ? { payload: { release_id: 'never-released' } } : {}),
        });
        const problem = assertProblem(response, 403, 'forbidden');
        assert.match(problem.detail, /admin key/, `${route.method} ${route.url}`);
      }
    }
    assert.equal((await t.store.listBatches(10)).filter((batch) => batch.release_id !== null).length, 0);
  });

  it('lets the ingest key call the client routes and the admin key every route', async () => {
    for (const route of ROUTES) {
      for (const key of route.access === 'client' ? [INGEST, ADMIN] : [ADMIN]) {
        const response = await t.app.inject({
          method: route.method,
          url: route.url,
          headers: { authorization: `Bearer ${key}` },
          ...(route.method === 'POST' ? { payload: {} } : {}),
        });
        // Authorised: whatever else the request lacks, it is not refused for its key.
        assert.ok(![401, 403].includes(response.statusCode), `${route.method} ${route.url}: ${response.body}`);
      }
    }
  });
});
