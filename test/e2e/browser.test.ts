/**
 * A search page on another origin, in headless Chromium (Debian's `chromium` package, driven by
 * playwright-core), posts to the real service with fetch and with navigator.sendBeacon; the writes are
 * then read back with the admin key.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { AddEventsBody, RegisterSessionBody } from '../../src/schemas/payloads.js';
import type { SessionWithEvents } from '../../src/schemas/records.js';
import { makeEvents, makeSession, scratchDir } from '../support/factories.js';
import { startService, type ServiceProcess } from '../support/service-process.js';

/** The one browser API used here that Node's types lack (the project compiles without the DOM library). */
interface BeaconWindow {
  readonly navigator: { sendBeacon(url: string, data: string): boolean };
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN = 'admin-key-browser-test-0123456789';
const INGEST = 'ingest-key-browser-test-0123456789';

/** Serves one empty HTML page: the search application's origin. */
async function startPageServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>search page</title><p>results</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('browsers on another origin', () => {
  const scratch = scratchDir();
  let pages: { server: Server; port: number };
  let service: ServiceProcess;
  let browser: Browser | undefined;
  let page: Page;
  let allowedOrigin: string;

  before(async () => {
    pages = await startPageServer();
    allowedOrigin = `http://127.0.0.1:${pages.port}`;
    service = await startService(scratch.dir, {
      CLICKSTREAM_ADMIN_KEY: ADMIN,
      CLICKSTREAM_INGEST_KEYS: INGEST,
      CLICKSTREAM_CORS_ORIGINS: allowedOrigin,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage();
  });
  after(async () => {
    // Whatever failed in `before` (a missing Chromium), the service is stopped: a child left running would
    // keep this file's process, and the whole run, from ending.
    await browser?.close();
    await service.kill();
    await new Promise((resolve) => pages.server.close(resolve));
    scratch.cleanup();
  });

  /** The session as the admin reads it back, or null. */
  async function readBack(sessionId: string): Promise<SessionWithEvents | null> {
    const response = await fetch(
      `${service.baseUrl}/api/v1/clickstream/session?session_id=${encodeURIComponent(sessionId)}`,
      { headers: { authorization: `Bearer ${ADMIN}` } },
    );
    if (response.status === 404) return null;
    assert.equal(response.status, 200);
    return (await response.json()) as SessionWithEvents;
  }

  /** Polls until `check` holds: a beacon is sent when the browser chooses, and its answer is not seen. */
  async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await read();
      if (check(value) || Date.now() > deadline) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('registers with fetch (a preflighted request with the key in a header) and reads the answer', async () => {
    await page.goto(`${allowedOrigin}/`);
    const session = makeSession();
    const answer = await page.evaluate(
      async ({ api, key, body }: { api: string; key: string; body: RegisterSessionBody }) => {
        const response = await fetch(`${api}/api/v1/clickstream/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify(body),
        });
        return {
          status: response.status,
          body: (await response.json()) as { session_id: string },
          requestId: response.headers.get('x-request-id'),
        };
      },
      { api: service.baseUrl, key: INGEST, body: session },
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.body.session_id, session.session_id);
    assert.ok(answer.requestId, 'the page can read the exposed x-request-id');
    const stored = await readBack(session.session_id);
    assert.equal(stored?.search_results.length, session.search_results.length);
  });

  it('posts events with navigator.sendBeacon (text/plain, the key in the URL)', async () => {
    await page.goto(`${allowedOrigin}/`);
    const session = makeSession();
    const registered = await fetch(`${service.baseUrl}/api/v1/clickstream/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': INGEST },
      body: JSON.stringify(session),
    });
    assert.equal(registered.status, 200);
    const events = makeEvents(session, [0, 2]);
    const queued = await page.evaluate(
      ({ api, key, body }: { api: string; key: string; body: AddEventsBody }) =>
        (globalThis as unknown as BeaconWindow).navigator.sendBeacon(
          `${api}/api/v1/clickstream/session/events?key=${encodeURIComponent(key)}`,
          JSON.stringify(body),
        ),
      { api: service.baseUrl, key: INGEST, body: events },
    );
    assert.equal(queued, true, 'the browser should queue the beacon');
    const stored = await eventually(
      () => readBack(session.session_id),
      (value) => value?.events.length === 2,
    );
    assert.deepEqual(
      stored?.events.map((e) => [e.event_id, e.position]),
      events.events.map((e, i) => [e.event_id, [0, 2][i]]),
    );
  });

  it('keeps a page on an origin not in the list from sending a preflighted request', async () => {
    // Same page server, but "localhost" is another origin than "127.0.0.1".
    await page.goto(`http://localhost:${pages.port}/`);
    const session = makeSession();
    const outcome = await page.evaluate(
      async ({ api, key, body }: { api: string; key: string; body: RegisterSessionBody }) => {
        try {
          const response = await fetch(`${api}/api/v1/clickstream/session`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify(body),
          });
          return `answered ${response.status}`;
        } catch (error) {
          return `blocked: ${String(error)}`;
        }
      },
      { api: service.baseUrl, key: INGEST, body: session },
    );
    assert.match(outcome, /^blocked: TypeError/);
    assert.equal(await readBack(session.session_id), null, 'the preflight failed, so nothing was sent');
  });
});
