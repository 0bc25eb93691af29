/**
 * How the service serves the dashboard's build (web/dist): at /ui and under /ui/, public, with a strict
 * content security policy; `/` redirects there; without a build the same paths say how to make one and the
 * service starts all the same. A folder of the test's own stands in for the build.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import type { App } from '../../src/http/app-types.js';
import { DASHBOARD_CSP, DASHBOARD_ROOT } from '../../src/http/dashboard.js';
import { scratchDir } from '../support/factories.js';
import { REPO_ROOT } from '../support/service-process.js';
import { assertProblem, openTestStore } from '../support/test-app.js';

const ADMIN = 'admin-key-dashboard-0123456789abcdef';
const PAGE = '<!doctype html><title>dashboard</title><script type="module" src="/ui/assets/index-abc123.js"></script>';

async function appWith(root: string): Promise<{ app: App; close: () => Promise<void> }> {
  const opened = await openTestStore('sqlite', { CLICKSTREAM_ADMIN_KEY: ADMIN });
  const app = await buildApp({ store: opened.store, config: opened.config, dashboardRoot: root });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await opened.cleanup();
    },
  };
}

describe('the dashboard, built', () => {
  const scratch = scratchDir();
  let t: { app: App; close: () => Promise<void> };
  before(async () => {
    mkdirSync(join(scratch.dir, 'assets'));
    writeFileSync(join(scratch.dir, 'index.html'), PAGE);
    writeFileSync(join(scratch.dir, 'assets', 'index-abc123.js'), 'console.log("dashboard");');
    t = await appWith(scratch.dir);
  });
  after(async () => {
    await t.close();
    scratch.cleanup();
  });

  it('is served from web/dist of the repository by default', () => {
    assert.equal(DASHBOARD_ROOT, join(REPO_ROOT, 'web', 'dist') + '/');
  });

  it('answers / with a redirect to /ui', async () => {
    const root = await t.app.inject({ method: 'GET', url: '/' });
    assert.equal(root.statusCode, 302);
    assert.equal(root.headers.location, '/ui');
  });

  it('serves the page at /ui and /ui/ without a key, under a policy that allows only its own files', async () => {
    for (const url of ['/ui', '/ui/', '/ui/index.html']) {
      const page = await t.app.inject({ method: 'GET', url });
      assert.equal(page.statusCode, 200, url);
      assert.equal(page.body, PAGE, url);
      assert.match(String(page.headers['content-type']), /^text\/html/, url);
      assert.equal(page.headers['content-security-policy'], DASHBOARD_CSP, url);
      assert.equal(page.headers['cache-control'], 'no-cache', url);
      assert.equal(page.headers['x-content-type-options'], 'nosniff', url);
    }
    const policy = Object.fromEntries(
      DASHBOARD_CSP.split(';').map((directive) => {
        const [name = '', ...values] = directive.trim().split(/\s+/);
        return [name, values];
      }),
    );
    assert.deepEqual(policy['script-src'], ["'self'"]);
    assert.deepEqual(policy['style-src'], ["'self'"]);
    assert.deepEqual(policy['connect-src'], ["'self'"]);
    assert.deepEqual(policy['frame-ancestors'], ["'none'"]);
    assert.doesNotMatch(DASHBOARD_CSP, /unsafe/);
  });

  it('serves its assets for ever (their names hold their content) and 404s a file it does not have', async () => {
    const asset = await t.app.inject({ method: 'GET', url: '/ui/assets/index-abc123.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(String(asset.headers['content-type']), /javascript/);
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    assertProblem(await t.app.inject({ method: 'GET', url: '/ui/assets/nothing.js' }), 404, 'not_found');
    // Nothing outside the build folder, however the path is spelled.
    const headers = { authorization: `Bearer ${ADMIN}` };
    for (const url of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/..%2fpackage.json']) {
      const answer = await t.app.inject({ method: 'GET', url, headers });
      assert.ok([400, 403, 404].includes(answer.statusCode), `${url}: ${answer.statusCode}`);
      assert.doesNotMatch(answer.body, /clickstream-collector/, url);
    }
  });
});

describe('the dashboard, not built', () => {
  const scratch = scratchDir();
  let t: { app: App; close: () => Promise<void> };
  before(async () => {
    t = await appWith(join(scratch.dir, 'missing'));
  });
  after(async () => {
    await t.close();
    scratch.cleanup();
  });

  it('answers /ui with a 404 problem that says how to build it, and the rest of the service runs', async () => {
    for (const url of ['/ui', '/ui/', '/ui/assets/index.js']) {
      const problem = assertProblem(await t.app.inject({ method: 'GET', url }), 404, 'not_found');
      assert.match(problem.detail, /npm run build/, url);
    }
    assert.equal((await t.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
  });
});
