/**
 * The client's queue and retries on a fake clock (node:test's mock timers), with a scripted fetch that
 * answers as the collector does: when each request leaves, what it holds, and what is dropped and reported.
 * The client against the real service is in client.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { createClient, type ClientOptions, type DeliveryProblem } from '../src/index.js';

interface Sent {
  readonly at: number;
  readonly body: {
    sessions: { session_id: string }[];
    events: { session_id: string; events: { event_id: string }[] }[];
    irrelevant: string[];
  };
}

/** The collector's answer accepting every item of a body. */
function acceptAll(body: Sent['body']): Response {
  const ok = { status: 200 };
  return Response.json({
    results: {
      sessions: body.sessions.map((s) => ({ ...ok, session_id: s.session_id })),
      events: body.events.map((g) => ({ ...ok, session_id: g.session_id, stored: g.events.length, duplicates: 0 })),
      irrelevant: body.irrelevant.map((id) => ({ ...ok, session_id: id, is_irrelevant: true })),
    },
  });
}

type Script = (body: Sent['body'], attempt: number) => Response | Error;

function scripted(script: Script = acceptAll) {
  const sent: Sent[] = [];
  const fetch = ((_url: string, init: RequestInit) => {
    const body = JSON.parse(typeof init.body === 'string' ? init.body : '') as Sent['body'];
    sent.push({ at: Date.now(), body });
    const answer = script(body, sent.length);
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }) as typeof globalThis.fetch;
  return { sent, fetch };
}

/** Runs what is due now (timers of 0 ms) and lets promises (the fetch, its answer) settle; setImmediate is not faked. */
const settle = async () => {
  for (let i = 0; i < 5; i++) {
    mock.timers.tick(0);
    await new Promise((resolve) => setImmediate(resolve));
  }
};

const results = [{ object_id: 'a' }, { object_id: 'b' }];

describe('client queue and retries, on a fake clock', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  const client = (fetch: typeof globalThis.fetch, options: Partial<ClientOptions> = {}) => {
    const made = createClient({ endpoint: 'http://collector.test', storage: null, fetch, ...options });
    const problems: DeliveryProblem[] = [];
    made.on('error', (problem) => problems.push(problem));
    return { client: made, problems };
  };

  it('gathers events for the flush interval, then sends them in one body behind their registration', async () => {
    const { sent, fetch } = scripted();
    const { client: c } = client(fetch);
    const search = c.search({ query: 'red shoes', results });
    search.click('a');
    search.event('purchase', 'a');
    mock.timers.tick(999);
    await settle();
    assert.equal(sent.length, 0);
    mock.timers.tick(1);
    await settle();
    assert.equal(sent.length, 1);
    assert.deepEqual(
      sent[0]?.body.sessions.map((s) => s.session_id),
      [search.id],
    );
    assert.equal(sent[0].body.events[0]?.events.length, 2);
  });

  it('sends a full batch at once', async () => {
    const { sent, fetch } = scripted();
    const { client: c } = client(fetch);
    const search = c.search({ query: 'q', results });
    for (let i = 0; i < 999; i++) search.click('a');
    await settle();
    assert.equal(sent.length, 1, 'the 1000th item fills a batch');
  });

  it('backs off with jitter after network errors and 5xx, honours Retry-After, and sends once it can', async () => {
    const { sent, fetch } = scripted((body, attempt) =>
      attempt === 1
        ? new TypeError('fetch failed')
        : attempt === 2
          ? new Response(JSON.stringify({ code: 'service_unavailable' }), {
              status: 503,
              headers: { 'retry-after': '7' },
            })
          : acceptAll(body),
    );
    const { client: c, problems } = client(fetch);
    c.search({ query: 'q', results }).click('a');
    const flushed = c.flush();
    let done = false;
    void flushed.then(() => (done = true));
    await settle();
    assert.equal(sent.length, 1);
    mock.timers.tick(1000);
    await settle();
    assert.equal(sent.length, 2, 'the first retry waits at most the flush interval (its backoff is shorter)');
    mock.timers.tick(6999);
    await settle();
    assert.equal(sent.length, 2, 'Retry-After: 7 is honoured');
    mock.timers.tick(1);
    await settle();
    assert.equal(sent.length, 3);
    assert.deepEqual(sent[2]?.body, sent[0]?.body, 'a retry is the same body: idempotent on the collector');
    assert.equal(done, true);
    assert.deepEqual(problems, []);
  });

  it('never retries another 4xx: the items are dropped and reported with the problem', async () => {
    const { sent, fetch } = scripted(() =>
      Response.json({ code: 'unauthorized', detail: 'no key', errors: [] }, { status: 401 }),
    );
    const { client: c, problems } = client(fetch);
    const search = c.search({ query: 'q', results });
    search.click('a');
    const flushed = c.flush();
    await settle();
    await flushed;
    mock.timers.tick(120_000);
    await settle();
    assert.equal(sent.length, 1);
    assert.deepEqual(
      problems.map((p) => [p.item.kind, p.status, p.code]),
      [
        ['session', 401, 'unauthorized'],
        ['event', 401, 'unauthorized'],
      ],
    );
  });

  it('gives up after maxRetries, reporting each item as undeliverable', async () => {
    const { sent, fetch } = scripted(() => new TypeError('fetch failed'));
    const { client: c, problems } = client(fetch, { maxRetries: 2 });
    c.search({ query: 'q', results });
    const flushed = c.flush();
    for (let i = 0; i < 10; i++) {
      mock.timers.tick(5000);
      await settle();
    }
    await flushed;
    assert.equal(sent.length, 3, 'the first attempt and two retries');
    assert.deepEqual(
      problems.map((p) => p.code),
      ['undeliverable'],
    );
  });

  it('drops the oldest item when the queue is full, and reports it', () => {
    const { fetch } = scripted();
    const { client: c, problems } = client(fetch, { maxQueueSize: 3 });
    const search = c.search({ query: 'q', results });
    search.click('a');
    search.click('b');
    search.event('purchase', 'b');
    search.event('return', 'b');
    assert.deepEqual(
      problems.map((p) => [p.code, p.item.kind]),
      [
        ['queue_full', 'session'],
        ['queue_full', 'event'],
      ],
    );
  });

  it('refuses at once a body that is not JSON, and copies the others when called', async () => {
    const { sent, fetch } = scripted();
    const { client: c, problems } = client(fetch);
    const meta = { view: 1 };
    const search = c.search({ query: 'q', results });
    search.click('a', { meta: { price: 10n } as unknown as Record<string, unknown> });
    search.click('b', { meta });
    meta.view = 2;
    mock.timers.tick(1000);
    await settle();
    assert.deepEqual(
      problems.map((p) => [p.item.kind, p.code]),
      [['event', 'invalid']],
    );
    assert.equal(sent.length, 1);
    assert.deepEqual(
      sent[0]?.body.events[0]?.events.map((e) => (e as { meta?: unknown }).meta),
      [{ view: 1 }],
    );
  });

  it('goes on when an error listener throws', async () => {
    const logged = mock.method(console, 'error', () => undefined);
    const { sent, fetch } = scripted();
    const c = createClient({ endpoint: 'http://collector.test', storage: null, fetch, maxQueueSize: 1 });
    c.on('error', () => {
      throw new Error('a listener bug');
    });
    const search = c.search({ query: 'q', results });
    // The queue is full: the registration is dropped and reported, and the listener throws.
    assert.doesNotThrow(() => {
      search.click('a');
    });
    mock.timers.tick(1000);
    await settle();
    assert.deepEqual(
      sent.map(({ body }) => body.events.map((group) => group.events.length)),
      [[1]],
    );
    assert.match(String(logged.mock.calls[0]?.arguments[0]), /a listener bug/);
    logged.mock.restore();
  });

  it('sends again a body whose answer does not account for every item, after a backoff', async () => {
    const { sent, fetch } = scripted((body, attempt) =>
      attempt === 1 ? Response.json({ results: { sessions: [], events: [], irrelevant: [] } }) : acceptAll(body),
    );
    const { client: c, problems } = client(fetch);
    c.search({ query: 'q', results }).click('a');
    mock.timers.tick(1000);
    await settle();
    assert.equal(sent.length, 1);
    mock.timers.tick(1000);
    await settle();
    assert.equal(sent.length, 2);
    assert.deepEqual(problems, []);
  });
});
