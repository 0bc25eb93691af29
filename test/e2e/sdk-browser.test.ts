/**
 * The SDK in a real browser (Debian's Chromium, driven by playwright-core): the demo search page, served
 * from another origin than the service, loads the SDK from the service and sends searches and clicks to it.
 * Every check reads the writes back through the internal API, and also looks at what the page sent
 * (Playwright's request events): every item travels in exactly one request that reached the service, the
 * service answered no duplicate, and no item is sent again after a 4xx answered it. One browser for the
 * file; a fresh context (its own localStorage) per case.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { DEMO_ROOT } from '../../src/http/demo.js';
import type { SessionWithEvents } from '../../src/schemas/records.js';
import { scratchDir } from '../support/factories.js';
import { startService, type ServiceProcess } from '../support/service-process.js';
import { eventually } from '../support/worker-process.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];
const ADMIN = 'admin-key-sdk-browser-0123456789';
const INGEST = 'ingest-key-sdk-browser-0123456789';
const INGEST_PATH = '/api/v1/clickstream/ingest';

/** What the demo page exposes (examples/demo-search/demo.mjs), as seen from page.evaluate. */
interface DemoSearch {
  readonly id: string;
  click(objectId: string): void;
  event(type: string, objectId: string): void;
}
interface DemoWindow {
  readonly demo: {
    readonly ready: boolean;
    readonly last: DemoSearch | null;
    readonly problems: { item: { session_id: string }; status: number; code: string }[];
    readonly client: {
      flush(): Promise<void>;
      search(input: { query: string; results: { object_id: string }[] }): DemoSearch;
    };
    search(query: string): DemoSearch;
    find(query: string): { item: { id: string } }[];
  };
  readonly localStorage: { readonly length: number; key(index: number): string | null };
}

interface IngestBody {
  sessions: { session_id: string }[];
  events: { session_id: string; events: { event_id: string }[] }[];
}
interface ItemAnswer {
  status: number;
  duplicates?: number;
}
interface IngestAnswer {
  results: { sessions: ItemAnswer[]; events: ItemAnswer[]; irrelevant: ItemAnswer[] };
}

/**
 * What reached the service: every ingest request through a recording proxy in front of it (beacons too,
 * which Playwright does not report once their page is gone), with its answer. When the service is down,
 * the proxy drops the connection, so the page sees the network error it would see without the proxy.
 */
class Arrivals {
  readonly received: { body: IngestBody; beacon: boolean; answer: IngestAnswer | null }[] = [];
  private server: Server | undefined;

  constructor(private readonly upstream: () => number) {}

  async start(): Promise<number> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const forward = httpRequest(
          {
            host: '127.0.0.1',
            port: this.upstream(),
            path: request.url,
            method: request.method,
            headers: request.headers,
          },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => parts.push(chunk));
            answer.on('end', () => {
              const text = Buffer.concat(parts).toString();
              if (request.method === 'POST' && request.url?.startsWith(INGEST_PATH)) {
                const sent = JSON.parse(body.toString() || '{}') as Partial<IngestBody>;
                this.received.push({
                  body: { sessions: sent.sessions ?? [], events: sent.events ?? [] },
                  beacon: request.url.includes('?key='),
                  answer: answer.statusCode === 200 ? (JSON.parse(text) as IngestAnswer) : null,
                });
              }
              response.writeHead(answer.statusCode ?? 502, answer.headers).end(text);
            });
          },
        );
        forward.on('error', () => request.socket.destroy());
        forward.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** From here on, only what arrives later is looked at. */
  mark(): number {
    return this.received.length;
  }

  /**
   * Checks what arrived for `sessionIds` since `from`: each event in exactly one request the service accepted, or refused
   * once and never sent again; the stored events are exactly the accepted ones; no duplicate answered.
   */
  check(sessionIds: readonly string[], storedEventIds: readonly string[], from: number): void {
    const mine = new Set(sessionIds);
    const accepted: string[] = [];
    const refused = new Set<string>();
    let duplicates = 0;
    for (const [index, { body, answer }] of this.received.slice(from).entries()) {
      for (const session of body.sessions.filter((s) => mine.has(s.session_id))) {
        assert.ok(!refused.has(session.session_id), `request ${index} sends ${session.session_id} again after a 4xx`);
      }
      body.events.forEach((group, i) => {
        if (!mine.has(group.session_id)) return;
        const entry = answer?.results.events[i];
        duplicates += entry?.duplicates ?? 0;
        for (const { event_id } of group.events) {
          assert.ok(!refused.has(event_id), `request ${index} sends ${event_id} again after a 4xx`);
          if (entry && entry.status >= 400) refused.add(event_id);
          else if (entry) accepted.push(event_id);
        }
      });
      answer?.results.sessions.forEach((entry, i) => {
        if (entry.status >= 400) refused.add(body.sessions[i]?.session_id ?? '');
      });
    }
    assert.deepEqual([...accepted].sort(), [...storedEventIds].sort(), 'every stored event in exactly one request');
    assert.equal(duplicates, 0, 'the service answered duplicates: something was sent twice');
  }
}

/** The ingest requests a browser context sent, as Playwright reports them (failed ones included). */
class Sent {
  readonly requests: Request[] = [];
  readonly failed = new Set<Request>();

  constructor(context: BrowserContext) {
    context.on('request', (request) => {
      if (request.method() === 'POST' && request.url().includes(INGEST_PATH)) this.requests.push(request);
    });
    context.on('requestfailed', (request) => this.failed.add(request));
  }

  /** Event ids in the requests that did not fail (what the page believes it delivered). */
  eventIds(): string[] {
    return this.requests
      .filter((request) => !this.failed.has(request))
      .flatMap((request) => (JSON.parse(request.postData() ?? '{}') as Partial<IngestBody>).events ?? [])
      .flatMap((group) => group.events.map((event) => event.event_id));
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
};

/** The search application's origin: the demo page's files as they are in the repository, and "another site". */
async function startPageServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://pages').pathname;
    if (path === '/elsewhere') {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>');
      return;
    }
    const file = path === '/' ? 'index.html' : path.slice(1);
    const type = TYPES[extname(file)];
    if (!type || file.includes('/') || file.includes('..')) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': type }).end(readFileSync(join(DEMO_ROOT, file)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('the SDK in Chromium, on a page of another origin', () => {
  const scratch = scratchDir();
  let pages: { server: Server; port: number };
  let service: ServiceProcess | undefined;
  let servicePort: number;
  let browser: Browser | undefined;
  let endpoint: string;
  let demoUrl: string;
  const arrivals = new Arrivals(() => servicePort);

  const startCollector = async () => {
    service = await startService(scratch.dir, {
      CLICKSTREAM_PORT: String(servicePort),
      CLICKSTREAM_ADMIN_KEY: ADMIN,
      CLICKSTREAM_INGEST_KEYS: INGEST,
      CLICKSTREAM_CORS_ORIGINS: `http://localhost:${pages.port}`,
      CLICKSTREAM_DEMO: '1',
    });
  };

  before(async () => {
    pages = await startPageServer();
    servicePort = await freePort();
    await startCollector();
    endpoint = `http://127.0.0.1:${await arrivals.start()}`;
    // The page's origin is localhost; the service is 127.0.0.1: another origin, and another site.
    demoUrl = `http://localhost:${pages.port}/?endpoint=${encodeURIComponent(endpoint)}&key=${INGEST}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  after(async () => {
    await browser?.close();
    await service?.kill();
    await arrivals.stop();
    await new Promise((resolve) => pages.server.close(resolve));
    scratch.cleanup();
  });

  /** Every session of the collecting batch, with its events, through the internal API. */
  async function storedSessions(): Promise<Map<string, SessionWithEvents>> {
    const headers = { authorization: `Bearer ${ADMIN}` };
    const api = `http://127.0.0.1:${servicePort}/api/v1/clickstream/internal`;
    const { batches } = (await (await fetch(`${api}/batches`, { headers })).json()) as {
      batches: { batch_id: string; status: string }[];
    };
    const collecting = batches.find((batch) => batch.status === 'collecting');
    const sessions = new Map<string, SessionWithEvents>();
    for (let after = 0; collecting;) {
      const page = (await (
        await fetch(`${api}/batch/sessions?batch_id=${collecting.batch_id}&after_number=${after}&limit=1000`, {
          headers,
        })
      ).json()) as { last_number: number | null; sessions: SessionWithEvents[] };
      for (const session of page.sessions) sessions.set(session.session_id, session);
      if (page.last_number === null) break;
      after = page.last_number;
    }
    return sessions;
  }

  /** Waits until every one of `sessionIds` is stored with `events` events; returns their event ids. */
  async function arrived(
    sessionIds: readonly string[],
    events: (id: string) => number,
    ms = 30_000,
  ): Promise<string[]> {
    const stored = await eventually(
      'the sessions and events to arrive',
      async () => {
        const all = await storedSessions();
        const complete = sessionIds.every((id) => all.get(id)?.events.length === events(id));
        return complete ? all : undefined;
      },
      ms,
    );
    return sessionIds.flatMap((id) => stored.get(id)?.events.map((event) => event.event_id) ?? []);
  }

  /** Waits until the demo page loaded the SDK and its catalog. */
  const demoReady = (page: Page) =>
    page.waitForFunction(() => (globalThis as unknown as Partial<DemoWindow>).demo?.ready === true);

  async function openDemo(context: BrowserContext, url = demoUrl): Promise<Page> {
    const page = await context.newPage();
    await page.goto(url);
    await demoReady(page);
    return page;
  }

  /** A search typed in the page's search box; returns its session id. */
  async function searchInBox(page: Page, query: string): Promise<string> {
    await page.fill('#query', query);
    await page.press('#query', 'Enter');
    return page.evaluate(() => (globalThis as unknown as DemoWindow).demo.last?.id ?? '');
  }

  /** A search on the page, through the SDK, and a click on each of its first `clicks` results. */
  const searchAndClick = (page: Page, query: string, clicks: number) =>
    page.evaluate(
      ([q, n]) => {
        const { demo } = globalThis as unknown as DemoWindow;
        const search = demo.search(q);
        for (const hit of demo.find(q).slice(0, n)) search.click(hit.item.id);
        return search.id;
      },
      [query, clicks] as const,
    );

  /** Both views of one case: what the page sent (Playwright) and what reached the service (the proxy). */
  function watch(context: BrowserContext) {
    const sent = new Sent(context);
    const from = arrivals.mark();
    return {
      sent,
      check(sessionIds: readonly string[], stored: readonly string[]) {
        arrivals.check(sessionIds, stored, from);
        // The page's own view: no event in two requests that went through.
        const ids = sent.eventIds();
        assert.equal(new Set(ids).size, ids.length, 'an event in two requests the page sent');
      },
      /** The ingest requests that reached the service for `sessionIds`. */
      carrying(sessionIds: readonly string[]) {
        return arrivals.received
          .slice(from)
          .filter(({ body }) => body.events.some((group) => sessionIds.includes(group.session_id)));
      },
    };
  }

  it('runs the demo as the service serves it at /demo/, under its content security policy', async () => {
    assert.ok(browser);
    const context = await browser.newContext();
    const page = await context.newPage();
    const refused: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') refused.push(message.text());
    });
    await page.goto(`http://127.0.0.1:${servicePort}/demo/?key=${INGEST}`);
    await demoReady(page);
    // The key is kept for the tab, out of the address and of the links.
    assert.doesNotMatch(page.url(), /key=/);
    const sessionId = await searchInBox(page, 'wool');
    assert.doesNotMatch(String(await page.getAttribute('#results a >> nth=0', 'href')), /key=/);
    await Promise.all([page.waitForURL(/item=/), page.click('#results a >> nth=0')]);
    await arrived([sessionId], () => 1);
    assert.deepEqual(refused, []);
    await context.close();
  });

  it('delivers a click followed at once by navigation to another site (beacon)', async () => {
    assert.ok(browser);
    const context = await browser.newContext();
    const seen = watch(context);
    const page = await openDemo(context);
    const sessionId = await searchInBox(page, 'leather boots');
    // A real click on a result: it opens the item's page, and the page that had the click is gone.
    await Promise.all([page.waitForURL(/item=/), page.click('#results a >> nth=0')]);
    await demoReady(page);
    // On the item's page: add to cart, and leave for another site at once.
    await page.click('#add-to-cart');
    await page.goto(`http://127.0.0.1:${pages.port}/elsewhere`);

    const stored = await arrived([sessionId], () => 2);
    const session = (await storedSessions()).get(sessionId);
    assert.deepEqual(session?.events.map((event) => event.event_type).sort(), ['add_to_cart', 'click']);
    seen.check([sessionId], stored);
    const carriers = seen.carrying([sessionId]);
    assert.ok(carriers.length > 0 && carriers.every(({ beacon }) => beacon), 'both events left in beacons');
    await context.close();
  });

  it('keeps what the user did offline and delivers it exactly once back online', async () => {
    assert.ok(browser);
    const context = await browser.newContext();
    const seen = watch(context);
    const page = await openDemo(context);
    await context.setOffline(true);
    const first = await searchAndClick(page, 'wool scarf', 2);
    const second = await searchAndClick(page, 'blue jeans', 3);
    // The page tried and failed while offline.
    await eventually('a failed attempt while offline', () =>
      Promise.resolve(seen.sent.failed.size > 0 ? true : undefined),
    );
    await context.setOffline(false);
    const stored = await arrived([first, second], (id) => (id === first ? 2 : 3));
    seen.check([first, second], stored);
    await context.close();
  });

  it('delivers what the user did while the service was stopped for 10 s, once it is back', async () => {
    assert.ok(browser && service);
    const context = await browser.newContext();
    const seen = watch(context);
    const page = await openDemo(context);
    const before = await searchAndClick(page, 'red shoes', 1);
    await arrived([before], () => 1);
    await service.kill();
    const during: string[] = [];
    const stoppedAt = Date.now();
    // The user goes on searching and clicking for the 10 s the service is down.
    for (const query of ['black coat', 'silk dress', 'canvas bag', 'grey socks', 'suede belt']) {
      during.push(await searchAndClick(page, query, 2));
      await page.waitForTimeout(2000);
    }
    assert.ok(Date.now() - stoppedAt >= 10_000);
    await startCollector();
    const ids = [before, ...during];
    const stored = await arrived(ids, (id) => (id === before ? 1 : 2), 60_000);
    seen.check(ids, stored);
    assert.ok(seen.sent.failed.size > 0, 'the page tried while the service was down');
    await context.close();
  });

  it('delivers the items of a tab closed offline before it could send them, from another tab', async () => {
    assert.ok(browser);
    const context = await browser.newContext();
    const seen = watch(context);
    const kept = await openDemo(context);
    const closed = await openDemo(context);
    await context.setOffline(true);
    const inKept = await searchAndClick(kept, 'white sneakers', 1);
    const inClosed = await searchAndClick(closed, 'brown boots', 2);
    // Its items are in localStorage, under its own key, when it closes without a chance to flush.
    await closed.waitForFunction(() => {
      const { localStorage } = globalThis as unknown as DemoWindow;
      return Array.from({ length: localStorage.length }, (_, i) => localStorage.key(i)).some((k) => k?.includes(':q:'));
    });
    await closed.close({ runBeforeUnload: false });
    await context.setOffline(false);
    const stored = await arrived([inKept, inClosed], (id) => (id === inKept ? 1 : 2));
    seen.check([inKept, inClosed], stored);
    await context.close();
  });

  it('sends 1,000 events on 50 searches made in a few seconds in at most 40 requests', async (t) => {
    assert.ok(browser);
    const context = await browser.newContext();
    const seen = watch(context);
    const page = await openDemo(context);
    const { ids, bad } = await page.evaluate(async () => {
      const { demo } = globalThis as unknown as DemoWindow;
      const queries = ['shoes', 'red', 'leather', 'wool', 'bag', 'blue', 'cotton', 'hat', 'black', 'linen'];
      const made: string[] = [];
      for (let i = 0; i < 50; i++) {
        const query = queries[i % queries.length] ?? 'shoes';
        const search = demo.search(query);
        const hits = demo.find(query);
        for (let j = 0; j < 20; j++)
          search.event(j % 4 === 0 ? 'click' : 'view', hits[j % hits.length]?.item.id ?? 'x');
        made.push(search.id);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // One search the service refuses (an object_id over the 256-character limit): dropped and reported.
      const refused = demo.client.search({ query: 'bad', results: [{ object_id: 'x'.repeat(300) }] });
      refused.click('x');
      await demo.client.flush();
      return { ids: made, bad: refused.id };
    });
    const stored = await arrived(ids, () => 20);
    assert.equal(stored.length, 1000);
    assert.ok(seen.sent.requests.length <= 40, `${seen.sent.requests.length} requests`);
    t.diagnostic(`${seen.sent.requests.length} requests for 1,000 events on 50 searches and one refused search`);
    seen.check([...ids, bad], stored);
    assert.equal((await storedSessions()).has(bad), false);
    const problems = await page.evaluate(() => (globalThis as unknown as DemoWindow).demo.problems);
    assert.deepEqual(
      problems.map((p) => [p.item.session_id, p.status, p.code]),
      [
        [bad, 400, 'validation_failed'],
        [bad, 400, 'validation_failed'],
      ],
    );
    await context.close();
  });
});
