/**
 * The browser SDK served from the collector's own origin (GET /sdk/clickstream.min.js: public, cacheable,
 * versioned), and the demo search page at /demo when CLICKSTREAM_DEMO=1.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../support/test-app.js';

const SDK_VERSION = (
  JSON.parse(readFileSync(new URL('../../sdk/package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

describe('GET /sdk/clickstream.min.js', () => {
  let t: TestApp;
  before(async () => {
    // With keys configured: the script is public all the same.
    t = await startTestApp('sqlite', { CLICKSTREAM_ADMIN_KEY: 'admin-key-0123456789abcdef' });
  });
  after(async () => {
    await t.close();
  });

  it('serves the IIFE that sets window.Clickstream, with its version, cacheable and revalidated', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/sdk/clickstream.min.js' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/javascript/);
    assert.equal(response.headers['x-clickstream-sdk-version'], SDK_VERSION);
    assert.equal(response.headers['cache-control'], 'public, max-age=3600');
    const sandbox: { Clickstream?: { version: string; createClient: unknown }; TextEncoder: unknown } = {
      TextEncoder,
    };
    runInNewContext(response.body, sandbox);
    assert.equal(sandbox.Clickstream?.version, SDK_VERSION);
    assert.equal(typeof sandbox.Clickstream.createClient, 'function');
    assert.ok(gzipSync(response.rawPayload).length <= 5 * 1024, 'the 5 KB gzipped budget');

    const etag = String(response.headers.etag);
    const again = await t.app.inject({
      method: 'GET',
      url: '/sdk/clickstream.min.js',
      headers: { 'if-none-match': etag },
    });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  it('serves no demo unless CLICKSTREAM_DEMO is on', async () => {
    const asAdmin = { authorization: 'Bearer admin-key-0123456789abcdef' };
    assert.equal((await t.app.inject({ method: 'GET', url: '/demo/', headers: asAdmin })).statusCode, 404);
  });
});

describe('the demo search page (CLICKSTREAM_DEMO=1)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite', { CLICKSTREAM_DEMO: '1', CLICKSTREAM_ADMIN_KEY: 'admin-key-0123456789abcdef' });
  });
  after(async () => {
    await t.close();
  });

  it('serves the page, its script and its catalog publicly under /demo/', async () => {
    const redirect = await t.app.inject({ method: 'GET', url: '/demo' });
    assert.equal(redirect.statusCode, 301);
    assert.equal(redirect.headers.location, '/demo/');
    const page = await t.app.inject({ method: 'GET', url: '/demo/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<script type="module" src="demo.mjs">/);
    // The page runs only scripts of this origin (its ?endpoint= cannot bring one in).
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    const catalog = await t.app.inject({ method: 'GET', url: '/demo/catalog.json' });
    assert.ok((JSON.parse(catalog.body) as unknown[]).length >= 200);
    const asAdmin = { authorization: 'Bearer admin-key-0123456789abcdef' };
    for (const url of ['/demo/../package.json', '/demo/%2e%2e/package.json']) {
      assert.equal((await t.app.inject({ method: 'GET', url, headers: asAdmin })).statusCode, 404, url);
    }
  });
});
