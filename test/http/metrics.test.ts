/**
 * GET /metrics, read with a Prometheus text-format parser: counters move with the requests that were
 * answered (stored sessions and events, duplicates, rejections by code, releases, requests by route and
 * status), no label carries an id, a key or a query, and who may read it; on every backend, the store's
 * group commits are counted and timed, and the collecting batch's size is read at each scrape (a store
 * that fails then leaves it out and counts a store error, and the scrape still answers).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import parsePrometheusTextFormat, { type Family } from 'parse-prometheus-text-format';
import { ERROR_CODES } from '../../src/domain/errors.js';
import type { App } from '../../src/http/app-types.js';
import { ROUTES } from '../../src/http/routes/route-list.js';
import { testBackends } from '../support/backends.js';
import { id, makeEvent, makeSession } from '../support/factories.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = 'admin-key-metrics-0123456789abcdef';
const INGEST = 'ingest-key-metrics-0123456789abcdef';
const API = '/api/v1/clickstream';
const KEYS = { CLICKSTREAM_ADMIN_KEY: ADMIN, CLICKSTREAM_INGEST_KEYS: INGEST };

function sendTo(app: App, method: 'GET' | 'POST', url: string, payload?: object, key = INGEST) {
  return app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });
}

async function scrapeOf(app: App): Promise<Family[]> {
  const response = await sendTo(app, 'GET', '/metrics', undefined, ADMIN);
  assert.equal(response.statusCode, 200, response.body);
  assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parsePrometheusTextFormat(response.body);
}

function value(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  // A histogram without labels counts its observations in its +Inf bucket (the parser keeps no _count).
  return Number(sample?.value ?? sample?.count ?? sample?.buckets?.['+Inf'] ?? 0);
}

/** A histogram's observations and their sum (of a family without labels). */
function histogram(families: Family[], name: string): { count: number; sum: number } {
  const sample = families.find((f) => f.name === name)?.metrics[0];
  return { count: Number(sample?.count ?? 0), sum: Number(sample?.sum ?? 0) };
}

/** The samples of a family, which must be listed (HELP and TYPE) whether it has any or not. */
function samplesOf(families: Family[], name: string): Family['metrics'] {
  const family = families.find((f) => f.name === name);
  assert.ok(family, `${name} is not listed`);
  return family.metrics;
}

describe('GET /metrics', () => {
  let t: TestApp;
  const send = (method: 'GET' | 'POST', url: string, payload?: object, key = INGEST) =>
    sendTo(t.app, method, url, payload, key);
  const scrape = () => scrapeOf(t.app);

  before(async () => {
    t = await startTestApp('sqlite', KEYS);
  });
  after(async () => {
    await t.close();
  });

  it('moves its counters with the requests answered', async () => {
    const before = await scrape();
    const session = makeSession();
    const object = session.search_results[0]?.object_id ?? '';
    const event = makeEvent({ object_id: object });
    assert.equal((await send('POST', `${API}/session`, session)).statusCode, 200);
    assert.equal((await send('POST', `${API}/session`, session)).statusCode, 200);
    await send('POST', `${API}/session/events`, { session_id: session.session_id, events: [event, makeEvent()] });
    await send('POST', `${API}/session/events`, { session_id: session.session_id, events: [event] });
    await send('POST', `${API}/session/events`, { session_id: id('missing'), events: [makeEvent()] });
    await send('POST', `${API}/session`, { ...session, search_query: 42 });
    await send('POST', `${API}/internal/batch/release`, { release_id: id('release') }, ADMIN);
    await t.app.inject({ method: 'GET', url: `${API}/session?session_id=x` });
    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);

    assert.equal(moved('clickstream_sessions_stored_total'), 1);
    assert.equal(moved('clickstream_session_retries_total'), 1);
    assert.equal(moved('clickstream_events_stored_total'), 2);
    assert.equal(moved('clickstream_event_duplicates_total'), 1);
    assert.equal(moved('clickstream_release_duration_seconds'), 1);
    assert.equal(moved('clickstream_rejections_total', { code: 'session_not_found' }), 1);
    assert.equal(moved('clickstream_rejections_total', { code: 'validation_failed' }), 1);
    assert.equal(moved('clickstream_rejections_total', { code: 'unauthorized' }), 1);
    const route = `${API}/session`;
    assert.equal(moved('clickstream_http_requests_total', { method: 'POST', route, status: '200' }), 2);
    assert.equal(moved('clickstream_http_requests_total', { method: 'POST', route, status: '400' }), 1);
    assert.equal(after.find((f) => f.name === 'clickstream_http_request_duration_seconds')?.type, 'HISTOGRAM');
    // The process and its event loop, from prom-client's defaults.
    assert.ok(after.some((f) => f.name === 'nodejs_eventloop_lag_seconds'));
    assert.ok(after.some((f) => f.name === 'process_resident_memory_bytes'));
  });

  it('labels only with closed sets: methods, route templates, statuses, error codes', async () => {
    const secret = id('secret-session');
    await send('GET', `${API}/session?session_id=${secret}`);
    await t.app.inject({ method: 'GET', url: `/no/such/${id('path')}?key=${INGEST}` });
    const text = (await send('GET', '/metrics', undefined, ADMIN)).body;
    assert.ok(!text.includes(secret) && !text.includes(INGEST) && !text.includes('/no/such'));
    const routes = new Set([...ROUTES.map((r) => r.url), '/metrics', 'unmatched']);
    const allowed: Record<string, (v: string) => boolean> = {
      method: (v) => ['GET', 'POST', 'PUT', 'OPTIONS', 'HEAD'].includes(v),
      route: (v) => routes.has(v) || v.startsWith('/docs'),
      status: (v) => /^[1-5]\d\d$/.test(v),
      code: (v) => (ERROR_CODES as readonly string[]).includes(v),
      le: (v) => v === '+Inf' || Number.isFinite(Number(v)),
    };
    const labelled = (await scrape()).flatMap((family) =>
      family.name.startsWith('clickstream_')
        ? family.metrics.map((sample) => [family.name, sample.labels ?? {}] as const)
        : [],
    );
    // The parser keeps no labels of histogram samples: those are read from the text itself.
    const histogramLines = [...text.matchAll(/^(clickstream_\w+_bucket)\{([^}]*)\}/gm)].map(
      ([, name = '', pairs = '']) =>
        [
          name,
          Object.fromEntries([...pairs.matchAll(/(\w+)="([^"]*)"/g)].map(([, k = '', v = '']) => [k, v])),
        ] as const,
    );
    assert.ok(histogramLines.length > 0);
    for (const [name, labels] of [...labelled, ...histogramLines]) {
      for (const [label, labelValue] of Object.entries(labels)) {
        const check = allowed[label];
        assert.ok(check, `${name} has an unexpected label ${label}`);
        assert.ok(check(labelValue), `${name}{${label}="${labelValue}"}`);
      }
    }
  });

  it('is for the admin key only, unless CLICKSTREAM_METRICS_PUBLIC=1; off with CLICKSTREAM_METRICS=0', async () => {
    assert.equal((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
    assert.equal((await send('GET', '/metrics')).statusCode, 403);
    const open = await startTestApp('sqlite', { CLICKSTREAM_ADMIN_KEY: ADMIN, CLICKSTREAM_METRICS_PUBLIC: 'true' });
    const off = await startTestApp('sqlite', { CLICKSTREAM_METRICS: '0' });
    try {
      assert.equal((await open.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
      assert.equal((await off.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
    } finally {
      await open.close();
      await off.close();
    }
  });
});

for (const backend of testBackends()) {
  describe(`GET /metrics: group commits and the collecting batch [${backend}]`, () => {
    let t: TestApp;
    const send = (method: 'GET' | 'POST', url: string, payload?: object, key = INGEST) =>
      sendTo(t.app, method, url, payload, key);
    const collecting = async (): Promise<number> => {
      const [sample, ...others] = samplesOf(await scrapeOf(t.app), 'clickstream_collecting_batch_sessions');
      assert.equal(others.length, 0);
      assert.ok(sample?.value !== undefined, 'the collecting batch gauge has no value');
      return Number(sample.value);
    };
    const register = async (count: number): Promise<void> => {
      const answers = await Promise.all(
        Array.from({ length: count }, () => send('POST', `${API}/session`, makeSession())),
      );
      for (const answer of answers) assert.equal(answer.statusCode, 200, answer.body);
    };

    before(async () => {
      t = await startTestApp(backend, KEYS);
    });
    after(async () => {
      await t.close();
    });

    it('counts the writes that group commits carried, and times each commit', async () => {
      const before = await scrapeOf(t.app);
      // Sent together, so that the store may group them (how it groups depends on timing).
      await register(6);
      const after = await scrapeOf(t.app);
      const size = (families: Family[]) => histogram(families, 'clickstream_group_commit_size');
      const duration = (families: Family[]) => histogram(families, 'clickstream_group_commit_duration_seconds');
      const groups = size(after).count - size(before).count;
      assert.equal(size(after).sum - size(before).sum, 6, 'every registration committed in exactly one group');
      assert.ok(groups >= 1 && groups <= 6, `${groups} groups`);
      assert.equal(duration(after).count - duration(before).count, groups);
      assert.ok(duration(after).sum > duration(before).sum);
    });

    it('reads the collecting batch at each scrape: the sessions registered since the last release', async () => {
      const release = () => send('POST', `${API}/internal/batch/release`, { release_id: id('release') }, ADMIN);
      // Whatever the earlier case left is released first.
      if ((await collecting()) > 0) assert.equal((await release()).statusCode, 200);
      assert.equal(await collecting(), 0);
      const session = makeSession();
      assert.equal((await send('POST', `${API}/session`, session)).statusCode, 200);
      await register(2);
      // A retry of a stored session is not a new one.
      assert.equal((await send('POST', `${API}/session`, session)).statusCode, 200);
      assert.equal(await collecting(), 3);
      assert.equal((await release()).statusCode, 200);
      assert.equal(await collecting(), 0);
      await register(1);
      assert.equal(await collecting(), 1);
    });

    it('answers a scrape while the store fails: the gauge left out, a store error counted', async () => {
      const broken = await startTestApp(backend, KEYS);
      try {
        const before = await scrapeOf(broken.app);
        assert.equal(samplesOf(before, 'clickstream_collecting_batch_sessions').length, 1);
        await broken.store.close();
        const after = await scrapeOf(broken.app);
        assert.deepEqual(samplesOf(after, 'clickstream_collecting_batch_sessions'), []);
        const errors = (families: Family[]) =>
          samplesOf(families, 'clickstream_store_errors_total').reduce((sum, m) => sum + Number(m.value ?? 0), 0);
        assert.equal(errors(after) - errors(before), 1);
        // The rest of the scrape is there.
        assert.ok(value(after, 'clickstream_http_requests_total', { route: '/metrics', status: '200' }) >= 1);
      } finally {
        await broken.close();
      }
    });
  });
}
