/**
 * The dashboard (/ui) in a real browser (Debian's Chromium, driven by playwright-core) against the real
 * service with an admin key, on batches seeded through the HTTP API with figures known in advance. Every
 * number the pages show is read from the page and compared with what the API answers to the test itself;
 * the API's answers are compared with the known figures of the seed. One browser and one tab for the file
 * (the key is kept in the tab's sessionStorage); a screenshot of each page goes to test-output/dashboard/.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { RegisterSessionBody } from '../../src/schemas/payloads.js';
import type { Batch, ReleaseResponse } from '../../src/schemas/records.js';
import type { BatchStats, QueriesPage, Timeline } from '../../src/schemas/stats.js';
import type { DebugEventsPage } from '../../src/schemas/debug-events.js';
import { DASHBOARD_ROOT } from '../../src/http/dashboard.js';
import { id, scratchDir } from '../support/factories.js';
import { REPO_ROOT, startService, type ServiceProcess } from '../support/service-process.js';
import { eventually } from '../support/worker-process.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];
const ADMIN = `admin-key-dashboard-${id('k')}`;
const API = '/api/v1/clickstream';
const INTERNAL = `${API}/internal`;
const OUTPUT = join(REPO_ROOT, 'test-output', 'dashboard');
/** The README's picture of the batch page: rewritten when missing, or when this variable is 1. */
const DOCS_SCREENSHOT = join(REPO_ROOT, 'docs', 'dashboard-batch.png');
const UPDATE_DOCS = process.env.CLICKSTREAM_UPDATE_SCREENSHOTS === '1';
const VIEWPORT = { width: 1280, height: 800 };

/** The few browser globals the test touches (the project compiles without the DOM library). */
interface BrowserWindow {
  readonly location: { hash: string };
  readonly sessionStorage: { readonly length: number };
  scrollTo(x: number, y: number): void;
}

/** The newest modification time under `dir` (the dashboard's sources), in ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** `npm install` builds the dashboard; a checkout whose build is missing or older than its sources builds it here. */
function ensureBuilt(): void {
  const index = join(DASHBOARD_ROOT, 'index.html');
  const sources = Math.max(
    newest(join(REPO_ROOT, 'web', 'src')),
    statSync(join(REPO_ROOT, 'web', 'index.html')).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync('npm', ['run', '--silent', 'build', '-w', 'web'], { cwd: REPO_ROOT, stdio: 'ignore' });
}

/** What a figure reads on the page, as the number it stands for (null for "—"). */
function parseFigure(text: string): number | null {
  const cleaned = text.replace(/[,\s]/g, '').replace('%', '');
  if (cleaned === '—') return null;
  const value = Number(cleaned);
  assert.ok(Number.isFinite(value), `not a number: ${JSON.stringify(text)}`);
  return value;
}

/** Equal up to the page's rounding: counts exactly, rates to 0.1 %, decimals to their last digit. */
function assertShown(text: string, expected: number | null, kind: 'count' | 'percent' | 'decimal', what: string) {
  const shown = parseFigure(text);
  if (expected === null || shown === null) {
    assert.equal(shown, expected, `${what}: the page shows ${JSON.stringify(text)}`);
    return;
  }
  const value = kind === 'percent' ? expected * 100 : expected;
  const tolerance = kind === 'count' ? 0 : kind === 'percent' ? 0.05 : 0.0051;
  assert.ok(Math.abs(shown - value) <= tolerance, `${what}: the page shows ${text}, the API says ${expected}`);
}

interface Seeded {
  readonly sessions: Record<'s1' | 's2' | 's3' | 's4' | 's5' | 's6', RegisterSessionBody>;
  readonly release: ReleaseResponse;
  readonly lateEventId: string;
}

let browser: Browser | undefined;
before(async () => {
  ensureBuilt();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});
after(async () => {
  await browser?.close();
});

describe('the dashboard in Chromium, with an admin key', () => {
  const scratch = scratchDir();
  let service: ServiceProcess | undefined;
  let page: Page;
  let seeded: Seeded;
  const requestedUrls: string[] = [];
  const unkeyedApiCalls: string[] = [];
  const pageErrors: string[] = [];

  async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    assert.ok(service);
    const response = await fetch(`${service.baseUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${ADMIN}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    assert.equal(response.status, 200, `${init.method ?? 'GET'} ${path}: ${text}`);
    return JSON.parse(text) as T;
  }

  const register = (session: RegisterSessionBody) => api(`${API}/session`, { method: 'POST', body: session });
  const events = (sessionId: string, list: { object_id: string; event_type?: string; created_at?: number }[]) =>
    api(`${API}/session/events`, {
      method: 'POST',
      body: { session_id: sessionId, events: list.map((e) => ({ event_id: id('event'), ...e })) },
    });
  const results = (...objects: string[]) => objects.map((object_id) => ({ object_id }));
  const listBatches = async () => (await api<{ batches: Batch[] }>(`${INTERNAL}/batches?limit=100`)).batches;

  /**
   * Batch A, released: five searches and an irrelevant one. "red shoes" twice (its results in two orders),
   * clicks at positions 0 and 2 (and a late one at 1, after the release) and at 1; "blue hat" without a
   * click; "green scarf" without results; "wool socks" with a click and an add to cart at position 2; a
   * bot's search, clicked, flagged irrelevant. Then batch B, collecting: 22 distinct queries.
   */
  async function seed(): Promise<Seeded> {
    const sessions = {
      s1: { session_id: id('s1'), search_query: 'red shoes', search_results: results('a', 'b', 'c', 'd') },
      s2: { session_id: id('s2'), search_query: 'red shoes', search_results: results('b', 'a', 'c', 'd') },
      s3: { session_id: id('s3'), search_query: 'blue hat', search_results: results('x', 'y', 'z') },
      s4: { session_id: id('s4'), search_query: 'green scarf', search_results: [] },
      s5: { session_id: id('s5'), search_query: 'bot query', search_results: results('p', 'q') },
      s6: { session_id: id('s6'), search_query: 'wool socks', search_results: results('m', 'n', 'o') },
    };
    for (const session of Object.values(sessions)) await register(session);
    await events(sessions.s1.session_id, [{ object_id: 'a' }, { object_id: 'c' }]);
    await events(sessions.s2.session_id, [{ object_id: 'a' }]);
    await events(sessions.s5.session_id, [{ object_id: 'p' }]);
    await events(sessions.s6.session_id, [{ object_id: 'o' }, { object_id: 'o', event_type: 'add_to_cart' }]);
    await api(`${API}/session/irrelevant`, { method: 'POST', body: { session_id: sessions.s5.session_id } });
    const release = await api<ReleaseResponse>(`${INTERNAL}/batch/release`, {
      method: 'POST',
      body: { release_id: id('release') },
    });
    // A click that trails the search: accepted after the release, within the grace period.
    const lateEventId = id('late');
    await api(`${API}/session/events`, {
      method: 'POST',
      body: {
        session_id: sessions.s1.session_id,
        events: [{ event_id: lateEventId, object_id: 'b', created_at: release.released_at + 30 }],
      },
    });
    for (let n = 0; n < 22; n += 1) {
      await register({
        session_id: id('b'),
        search_query: `query ${String(n).padStart(2, '0')}`,
        search_results: results('k'),
      });
    }
    return { sessions, release, lateEventId };
  }

  /** Opens a page of the dashboard by its hash and waits for its root element. */
  async function open(hash: string, testId: string): Promise<void> {
    await page.evaluate((h) => {
      (globalThis as unknown as BrowserWindow).location.hash = h;
    }, hash);
    await page.waitForSelector(`[data-testid="${testId}"]`);
  }

  const text = async (selector: string) => (await page.locator(selector).innerText()).trim();
  const figure = (name: string) => text(`[data-testid="figure-${name}"]`);

  async function screenshot(name: string): Promise<string> {
    const path = join(OUTPUT, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
  }

  before(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    service = await startService(scratch.dir, { CLICKSTREAM_ADMIN_KEY: ADMIN, CLICKSTREAM_DEBUG_SAMPLE_RATE: '0' });
    seeded = await seed();
    assert.ok(browser);
    const context = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
    page = await context.newPage();
    page.on('request', (request) => {
      requestedUrls.push(request.url());
      const path = new URL(request.url()).pathname;
      if (path.startsWith(API) && request.headers().authorization !== `Bearer ${ADMIN}`) unkeyedApiCalls.push(path);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // The first call, before the key is typed in, is refused (401) on purpose; anything else is a fault.
      if (message.type() === 'error' && !message.text().includes('401')) pageErrors.push(message.text());
    });
    console.log(`dashboard screenshots: ${OUTPUT}`);
  });

  after(async () => {
    await page.context().close();
    await service?.kill();
    scratch.cleanup();
  });

  it('redirects / to /ui, asks for the admin key once and keeps it out of every URL', async () => {
    assert.ok(service);
    await page.goto(`${service.baseUrl}/`);
    assert.equal(new URL(page.url()).pathname, '/ui');
    await page.waitForSelector('[data-testid="key-form"]');
    await page.fill('[data-testid="key-input"]', 'not-the-key-0123456789');
    await page.click('[data-testid="key-submit"]');
    await page.waitForSelector('[data-testid="key-refused"]');
    await page.fill('[data-testid="key-input"]', ADMIN);
    await page.click('[data-testid="key-submit"]');
    await page.waitForSelector('[data-testid="page-overview"]');
    // A reload keeps the key for the tab: no form again.
    await page.reload();
    await page.waitForSelector('[data-testid="page-overview"]');
    assert.equal(await page.locator('[data-testid="key-form"]').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as unknown as BrowserWindow).sessionStorage.length), 1);
    const answer = await fetch(`${service.baseUrl}/ui/`);
    assert.match(answer.headers.get('content-security-policy') ?? '', /script-src 'self';/);
    assert.doesNotMatch(answer.headers.get('content-security-policy') ?? '', /unsafe/);
  });

  it('shows on the overview the hourly searches and clicks, the collecting batch and the last releases', async () => {
    const timelineAnswer = page.waitForResponse((r) => r.url().includes('/stats/timeline'));
    await open('#/batches', 'page-batches');
    await open('#/overview', 'page-overview');
    const requested = new URL((await timelineAnswer).url());
    const timeline = await api<Timeline>(`${INTERNAL}/stats/timeline${requested.search}`);
    await page.waitForSelector('[data-testid="timeline-chart"][data-points]');
    const total = (key: 'searches' | 'clicks') => timeline.hours.reduce((sum, h) => sum + h[key], 0);
    assertShown(await figure('timeline-searches'), total('searches'), 'count', 'searches in the timeline');
    assertShown(await figure('timeline-clicks'), total('clicks'), 'count', 'clicks in the timeline');
    // 5 searches of batch A (the irrelevant one left out) and 22 of B, all within the last hours.
    assert.equal(total('searches'), 27);
    const points = Number(await page.getAttribute('[data-testid="timeline-chart"]', 'data-points'));
    assert.equal(points, 48, 'one point per hour of the window');
    const rows = await page.locator('[data-testid="timeline-table"] tbody tr').allInnerTexts();
    assert.equal(rows.length, timeline.hours.length);

    const batches = await listBatches();
    const collecting = batches.find((b) => b.status === 'collecting');
    assert.ok(collecting);
    assertShown(await figure('collecting-sessions'), collecting.session_count, 'count', 'collecting sessions');
    assert.equal(collecting.session_count, 22);
    assert.equal(await text('[data-testid="collecting-link"]'), collecting.batch_id);
    const releases = await page.locator('[data-testid="releases"] tbody tr').allInnerTexts();
    assert.equal(releases.length, batches.filter((b) => b.released_at !== null).length);
    assert.match(releases[0] ?? '', new RegExp(seeded.release.batch_id));
    await screenshot('overview');
  });

  it('shows every figure of a batch, one bar per position beside the propensities, and its query tables', async () => {
    const batchId = seeded.release.batch_id;
    await open(`#/batch/${encodeURIComponent(batchId)}`, 'page-batch');
    await page.waitForSelector('[data-testid="ctr-chart"][data-points]');
    await page.waitForSelector('[data-testid="position-propensity"]:not(:text("—"))');
    const stats = await api<BatchStats>(`${INTERNAL}/stats/batch?batch_id=${batchId}`);

    // The seed's figures, as the API computes them.
    assert.equal(stats.sessions, 6);
    assert.equal(stats.irrelevant_sessions, 1);
    assert.equal(stats.searches, 5);
    assert.equal(stats.clicked_searches, 3);
    assert.equal(stats.zero_result_searches, 1);
    assert.equal(stats.clicks, 5);
    assert.equal(stats.average_first_click_position, 1);
    assert.deepEqual(
      stats.positions.map((p) => [p.position, p.shown, p.clicks]),
      [
        [0, 4, 1],
        [1, 4, 2],
        [2, 4, 2],
        [3, 2, 0],
      ],
    );

    const counts = [
      'sessions',
      'irrelevant_sessions',
      'searches',
      'clicked_searches',
      'zero_result_searches',
      'clicks',
    ];
    for (const name of counts) {
      assertShown(await figure(name), stats[name as keyof BatchStats] as number, 'count', name);
    }
    for (const name of ['click_through_rate', 'no_click_rate', 'zero_result_rate'] as const) {
      assertShown(await figure(name), stats[name], 'percent', name);
    }
    assertShown(
      await figure('average_first_click_position'),
      stats.average_first_click_position,
      'decimal',
      'first click',
    );
    assertShown(await figure('query_totals-top'), stats.query_totals.top, 'count', 'distinct queries');
    assertShown(await figure('query_totals-no_click'), stats.query_totals.no_click, 'count', 'queries never clicked');
    assertShown(
      await figure('query_totals-no_result'),
      stats.query_totals.no_result,
      'count',
      'queries without results',
    );

    // One bar per position, drawn and tabled.
    assert.equal(Number(await page.getAttribute('[data-testid="ctr-chart"]', 'data-points')), stats.positions.length);
    const rows = page.locator('[data-testid="position-row"]');
    assert.equal(await rows.count(), stats.positions.length);
    const bias = await api<{ propensities: { position: number; propensity: number }[] }>(
      `${INTERNAL}/batch/bias?batch_id=${batchId}`,
    );
    for (const [index, position] of stats.positions.entries()) {
      const row = rows.nth(index);
      const cell = async (name: string) => (await row.locator(`[data-testid="position-${name}"]`).innerText()).trim();
      assertShown(await cell('shown'), position.shown, 'count', `shown at ${position.position}`);
      assertShown(await cell('clicks'), position.clicks, 'count', `clicks at ${position.position}`);
      assertShown(await cell('ctr'), position.click_through_rate, 'percent', `CTR at ${position.position}`);
      const propensity = bias.propensities.find((p) => p.position === position.position)?.propensity ?? null;
      assertShown(await cell('propensity'), propensity, 'decimal', `propensity at ${position.position}`);
    }
    assert.match(await text('[data-testid="ctr-chart"]'), /propensity \(PBM\)/);

    const eventTypes = await page.locator('[data-testid="events-by-type"] tbody tr').allInnerTexts();
    assert.deepEqual(
      eventTypes.map((row) => row.split('\t').map((cell) => cell.trim())),
      stats.events_by_type.map((e) => [e.event_type, String(e.count)]),
    );

    for (const kind of ['top', 'no_click', 'no_result'] as const) {
      const answer = await api<QueriesPage>(
        `${INTERNAL}/stats/queries?batch_id=${batchId}&kind=${kind}&limit=20&offset=0`,
      );
      const shown = await page.locator(`[data-testid="queries-${kind}"] [data-testid="query-row"]`).allInnerTexts();
      assert.deepEqual(
        shown.map((row) =>
          row
            .split('\t')
            .slice(0, 3)
            .map((cell) => cell.trim()),
        ),
        answer.queries.map((q) => [q.query, String(q.searches), String(q.clicked_searches)]),
        kind,
      );
    }
    assert.equal(
      (await page.locator('[data-testid="queries-top"] [data-testid="query-row"] td.query').allInnerTexts())[0],
      'red shoes',
    );

    // Training data, fetched with the key and saved from a Blob.
    const download = page.waitForEvent('download');
    await page.selectOption('[data-testid="download-method"]', 'pbm');
    await page.click('[data-testid="download-button"]');
    const saved = await download;
    assert.equal(saved.suggestedFilename(), `${batchId}-pbm.jsonl`);
    assert.match(saved.url(), /^blob:/);
    await page.waitForSelector('[data-testid="download-result"]');

    await page.evaluate(() => {
      (globalThis as unknown as BrowserWindow).scrollTo(0, 0);
    });
    const path = await screenshot('batch');
    if (UPDATE_DOCS || !existsSync(DOCS_SCREENSHOT)) {
      await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: false });
    }
    assert.ok(statSync(path).size > 10_000);
  });

  it('inspects a session: its results in order, each click on its result, late events and the irrelevant flag', async () => {
    const { s1, s4, s5 } = seeded.sessions;
    await open('#/session', 'page-session');
    await page.fill('[data-testid="session-input"]', s1.session_id);
    await page.click('[data-testid="session-open"]');
    await page.waitForSelector('[data-testid="session-results"]');
    const stored = await api<{ events: { event_id: string; position: number | null }[] }>(
      `${API}/session?session_id=${s1.session_id}`,
    );
    const rows = page.locator('[data-testid="result-row"]');
    assert.equal(await rows.count(), s1.search_results.length);
    const clickedPositions = new Set(stored.events.map((e) => e.position));
    for (const [position, result] of s1.search_results.entries()) {
      const row = rows.nth(position);
      assert.equal(await row.getAttribute('data-position'), String(position));
      assert.match(await row.innerText(), new RegExp(`\\b${result.object_id}\\b`));
      assert.equal(
        await row.getAttribute('data-clicked'),
        String(clickedPositions.has(position)),
        `position ${position}`,
      );
    }
    assert.deepEqual([...clickedPositions].sort(), [0, 1, 2]);
    const eventRows = page.locator('[data-testid="event-row"]');
    assert.equal(await eventRows.count(), stored.events.length);
    const late = await page.locator('[data-testid="event-row"][data-late="true"]').allInnerTexts();
    assert.equal(late.length, 1);
    assert.match(late[0] ?? '', new RegExp(seeded.lateEventId));
    assert.equal(await page.getAttribute('[data-testid="session-irrelevant"]', 'data-irrelevant'), 'false');
    await screenshot('session');

    await open(`#/session/${encodeURIComponent(s5.session_id)}`, 'session-facts');
    await page.waitForSelector(`[data-testid="session-query"]:text("bot query")`);
    assert.equal(await page.getAttribute('[data-testid="session-irrelevant"]', 'data-irrelevant'), 'true');
    await open(`#/session/${encodeURIComponent(s4.session_id)}`, 'session-zero-results');
  });

  it('shows a rejected request in the events debugger with its error path', async () => {
    assert.ok(service);
    const sessionId = id('rejected');
    const refused = await fetch(`${service.baseUrl}${API}/session/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ session_id: sessionId, events: [{ event_id: 'e-1', created_at: 'yesterday' }] }),
    });
    assert.equal(refused.status, 400);
    // The debugger writes after the answer: wait until the API has it, then look for it on the page.
    const record = await eventually('the rejected request in the debugger', async () => {
      const kept = await api<DebugEventsPage>(`${INTERNAL}/debug/events?session_id=${sessionId}`);
      return kept.events[0];
    });
    assert.equal(record.code, 'validation_failed');
    const paths = record.errors.map((e) => e.path);
    assert.ok(paths.includes('events[0].object_id'), paths.join(', '));

    await open('#/debugger', 'page-debugger');
    await page.fill('[data-testid="debugger-session"]', sessionId);
    await page.selectOption('[data-testid="debugger-code"]', 'validation_failed');
    await page.click('[data-testid="debugger-apply"]');
    const row = page.locator(`[data-testid="debug-row"][data-request-id="${record.request_id}"]`);
    await row.waitFor();
    assert.equal(await page.locator('[data-testid="debug-row"]').count(), 1);
    assert.equal(await row.getAttribute('data-status'), '400');
    const shownPaths = await row.locator('[data-testid="debug-error-path"]').allInnerTexts();
    assert.deepEqual(shownPaths, paths);
    assert.match(await row.innerText(), /validation_failed/);
    assert.doesNotMatch(await row.innerText(), new RegExp(ADMIN));
    await screenshot('debugger');
  });

  it('lists the batches as the API does, and a release from the page creates a batch', async () => {
    await open('#/batches', 'page-batches');
    await page.waitForSelector('[data-testid="batch-row"]');
    const before = await listBatches();
    const rows = page.locator('[data-testid="batch-row"]');
    assert.equal(await rows.count(), before.length);
    for (const [index, batch] of before.entries()) {
      assert.equal(await rows.nth(index).getAttribute('data-batch-id'), batch.batch_id);
      assertShown(
        await rows.nth(index).locator('[data-testid="batch-sessions"]').innerText(),
        batch.session_count,
        'count',
        batch.batch_id,
      );
      assert.match(await rows.nth(index).innerText(), new RegExp(batch.status));
    }
    await screenshot('batches');

    const collecting = before.find((b) => b.status === 'collecting');
    assert.ok(collecting);
    await page.click('[data-testid="release-button"]');
    await page.waitForSelector('[data-testid="release-dialog"][open]');
    await screenshot('release-dialog');
    const released = page.waitForResponse((r) => r.url().endsWith('/batch/release'));
    await page.click('[data-testid="release-confirm"]');
    const body = (await (await released).json()) as ReleaseResponse;
    await page.waitForSelector('[data-testid="release-result"]');
    assert.equal(body.batch_id, collecting.batch_id);
    const afterRelease = await listBatches();
    const releasedCount = (list: Batch[]) => list.filter((b) => b.release_id !== null).length;
    assert.equal(releasedCount(afterRelease), releasedCount(before) + 1);
    assert.match(body.release_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await page.waitForSelector(`[data-testid="batch-row"][data-batch-id="${body.batch_id}"]:has-text("released")`);

    // Its 22 queries, 20 to a page.
    await open(`#/batch/${encodeURIComponent(body.batch_id)}`, 'queries-top');
    await page.waitForSelector('[data-testid="queries-top-range"]:text("1–20 of 22")');
    assert.equal(await page.locator('[data-testid="queries-top"] [data-testid="query-row"]').count(), 20);
    await page.click('[data-testid="queries-top"] button:text("next")');
    await page.waitForSelector('[data-testid="queries-top-range"]:text("21–22 of 22")');
    assert.equal(await page.locator('[data-testid="queries-top"] [data-testid="query-row"]').count(), 2);
  });

  it('sent every API call with the key in its Authorization header, and never the key in a URL', () => {
    assert.ok(requestedUrls.length > 10);
    assert.deepEqual(
      requestedUrls.filter((url) => url.includes(ADMIN) || /[?&]key=/.test(url)),
      [],
    );
    // Only the first check went without a key (the tab had none yet), and the wrong key's retry.
    assert.ok(unkeyedApiCalls.length <= 2, unkeyedApiCalls.join(', '));
    assert.deepEqual(pageErrors, []);
  });
});

describe('the dashboard in Chromium, without keys (this machine only)', () => {
  const scratch = scratchDir();
  let service: ServiceProcess | undefined;
  before(async () => {
    service = await startService(scratch.dir);
  });
  after(async () => {
    await service?.kill();
    scratch.cleanup();
  });

  it('opens directly, without asking for a key, and releases from the page', async () => {
    assert.ok(browser && service);
    const context = await browser.newContext({ viewport: VIEWPORT });
    try {
      const page = await context.newPage();
      const register = await fetch(`${service.baseUrl}${API}/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ session_id: id('open'), search_query: 'open', search_results: [{ object_id: 'a' }] }),
      });
      assert.equal(register.status, 200);
      await page.goto(`${service.baseUrl}/ui#/batches`);
      await page.waitForSelector('[data-testid="batch-row"]');
      assert.equal(await page.locator('[data-testid="key-form"]').count(), 0);
      assert.equal(await page.locator('[data-testid="forget-key"]').count(), 0);
      await page.click('[data-testid="release-button"]');
      await page.click('[data-testid="release-confirm"]');
      await page.waitForSelector('[data-testid="release-result"]');
      const listed = (await (await fetch(`${service.baseUrl}${INTERNAL}/batches`)).json()) as { batches: Batch[] };
      assert.equal(listed.batches.filter((b) => b.release_id !== null).length, 1);
    } finally {
      await context.close();
    }
  });
});
