/**
 * The client in Node against the real service (listening on a port, the real fetch): a session's events
 * never before its registration, bodies within the service's limits, the retry and give-up rules, flush()
 * and close(), the error event, and the flush on beforeExit of a process that never closed its client.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../test/support/test-app.js';
import { createClient, type ClientOptions, type DeliveryProblem } from '../src/index.js';

const INGEST = 'ingest-key-sdk-test-0123456789abc';
const results = [{ object_id: 'a', rank: 0.9 }, { object_id: 'b' }, { object_id: 'c' }];

interface Body {
  sessions: { session_id: string }[];
  events: { session_id: string; events: { event_id: string; object_id: string }[] }[];
  irrelevant: string[];
}

interface Exchange {
  readonly body: Body;
  readonly status: number | null;
}

/** The real fetch, with every body it sent and the status it got (null: no answer). */
function recordingFetch(fault: (attempt: number) => 'before' | 'after' | null = () => null) {
  const exchanges: Exchange[] = [];
  const fetcher = (async (input: string | URL | Request, init?: RequestInit) => {
    const body = JSON.parse(typeof init?.body === 'string' ? init.body : '') as Body;
    const failure = fault(exchanges.length + 1);
    if (failure === 'before') {
      exchanges.push({ body, status: null });
      throw new TypeError('fetch failed (before sending)');
    }
    const response = await fetch(input, init);
    exchanges.push({ body, status: failure === 'after' ? null : response.status });
    // The answer is lost on the way back: the service stored the items, the client cannot know it.
    if (failure === 'after') throw new TypeError('fetch failed (answer lost)');
    return response;
  }) as typeof fetch;
  return { exchanges, fetch: fetcher };
}

describe('the SDK in Node against the real service', () => {
  let t: TestApp;
  let endpoint: string;
  const make = (options: Partial<ClientOptions> = {}) => {
    const client = createClient({ endpoint, key: INGEST, flushIntervalMs: 20, ...options });
    const problems: DeliveryProblem[] = [];
    client.on('error', (problem) => problems.push(problem));
    return { client, problems };
  };
  const stored = (sessionId: string) => t.store.getSession(sessionId, 10_000);

  before(async () => {
    t = await startTestApp('sqlite', {
      CLICKSTREAM_INGEST_KEYS: INGEST,
      CLICKSTREAM_MAX_INGEST_ITEMS: '10',
      CLICKSTREAM_MAX_EVENTS_PER_REQUEST: '5',
    });
    endpoint = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await t.close();
  });

  it('sends events only behind their registration, in bodies within the service limits', async () => {
    const { exchanges, fetch } = recordingFetch();
    const { client, problems } = make({ fetch });
    const searches = Array.from({ length: 25 }, (_, i) => client.search({ query: `query ${i}`, results }));
    for (const search of searches) search.click('a');
    const busy = searches[3];
    assert.ok(busy);
    for (let i = 0; i < 12; i++) busy.event('view', 'b');
    busy.markIrrelevant();
    await client.flush();
    // More events once the registrations are acknowledged.
    for (const search of searches.slice(0, 5)) search.event('purchase', 'c');
    await client.flush();
    assert.deepEqual(problems, []);

    for (const search of searches) {
      const session = await stored(search.id);
      assert.ok(session, search.id);
      const want: number = search === busy ? 14 : searches.indexOf(search) < 5 ? 2 : 1;
      assert.equal(session.events.length, want, search.id);
    }
    assert.equal((await stored(busy.id))?.is_irrelevant, true);

    const acknowledged = new Set<string>();
    for (const { body, status } of exchanges) {
      const here = new Set(body.sessions.map((s) => s.session_id));
      for (const group of [...body.events.map((g) => g.session_id), ...body.irrelevant]) {
        assert.ok(here.has(group) || acknowledged.has(group), `events of ${group} before its registration`);
      }
      if (status === 200) for (const id of here) acknowledged.add(id);
    }
    // The service allows 10 items per section and 5 events per group: the first body learnt the first
    // limit (a 400 naming it), the first group over the second learnt that one (its entry names it), later
    // bodies kept to both, and nothing was dropped for them.
    const [refused, ...answered] = exchanges;
    assert.equal(refused?.status, 400);
    assert.ok(answered.every(({ status }) => status === 200));
    for (const { body } of answered) {
      assert.ok(body.sessions.length <= 10 && body.events.length <= 10 && body.irrelevant.length <= 10);
    }
    const oversized = answered.filter(({ body }) => body.events.some((group) => group.events.length > 5));
    assert.equal(oversized.length, 1);
  });

  it('retries what failed before or after reaching the service: each item stored once', async () => {
    const { exchanges, fetch } = recordingFetch((attempt) =>
      attempt === 1 ? 'before' : attempt === 2 ? 'after' : null,
    );
    const { client, problems } = make({ fetch, retryBaseDelayMs: 10 });
    const search = client.search({ query: 'flaky', results });
    search.click('a');
    search.click('b');
    await client.flush();
    assert.deepEqual(problems, []);
    assert.deepEqual(
      exchanges.map((e) => e.status),
      [null, null, 200],
    );
    assert.equal((await stored(search.id))?.events.length, 2);
  });

  it('gives up after maxRetries and reports each item; flush() still resolves', async () => {
    const { client, problems } = make({
      endpoint: 'http://127.0.0.1:9', // the discard port: nothing listens
      maxRetries: 2,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 10,
    });
    const search = client.search({ query: 'nowhere', results });
    search.click('a');
    await client.flush();
    assert.deepEqual(
      problems.map((p) => [p.item.kind, p.code]),
      [
        ['session', 'undeliverable'],
        ['event', 'undeliverable'],
      ],
    );
  });

  it('drops an item the service refuses (4xx) and reports it with its path, never sending it again', async () => {
    const { exchanges, fetch } = recordingFetch();
    const { client, problems } = make({ fetch });
    const search = client.search({ query: 'mixed', results });
    search.click('a');
    const bad = client.search({ query: 'bad', results: [{ object_id: 'x'.repeat(300) }] });
    bad.click('a');
    await client.flush();
    assert.equal((await stored(search.id))?.events.length, 1);
    assert.equal(await stored(bad.id), null);
    assert.deepEqual(
      problems.map((p) => [p.item.kind, p.item.session_id, p.status, p.code]),
      [
        ['session', bad.id, 400, 'validation_failed'],
        ['event', bad.id, 400, 'validation_failed'],
      ],
    );
    assert.match(problems[0]?.errors[0]?.path ?? '', /^sessions\[\d+\]\.search_results\[0\]\.object_id$/);
    const carrying = exchanges.filter(({ body }) => body.sessions.some((s) => s.session_id === bad.id));
    assert.equal(carrying.length, 1);
  });

  it('reports a session_conflict (a caller bug) and drops the session and its events', async () => {
    const { client: first } = make();
    first.search({ id: 'shared-id-conflict', query: 'one', results });
    await first.flush();
    const { client, problems } = make();
    client.search({ id: 'shared-id-conflict', query: 'another', results }).click('a');
    await client.flush();
    assert.deepEqual(
      problems.map((p) => [p.item.kind, p.status, p.code]),
      [
        ['session', 409, 'session_conflict'],
        ['event', 409, 'session_conflict'],
      ],
    );
    assert.equal((await stored('shared-id-conflict'))?.search_query, 'one');
  });

  it('close() flushes, then refuses later calls as closed', async () => {
    const { client, problems } = make({ flushIntervalMs: 60_000 });
    const search = client.search({ query: 'closing', results });
    search.click('a');
    await client.close();
    assert.equal((await stored(search.id))?.events.length, 1, 'sent by close, not by the minute-long interval');
    search.click('b');
    assert.deepEqual(
      problems.map((p) => p.code),
      ['closed'],
    );
  });

  it('sends what is queued when a process ends without closing its client (beforeExit)', async () => {
    const script = fileURLToPath(new URL('fixtures/exit-without-close.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, ENDPOINT: endpoint, KEY: INGEST },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
    const sessionId = output.trim();
    assert.equal((await stored(sessionId))?.events.length, 3);
  });
});
