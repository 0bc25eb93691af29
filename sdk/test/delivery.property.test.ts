/**
 * Property: whatever the interleaving of calls, network failures (before a request reaches the service,
 * or after it stored the items and before the answer came back) and restarts (a page reloaded: its client
 * stops at once, a new one on the same storage takes over what was left), every item the client accepted
 * is stored by the real service exactly once, and nothing is reported as dropped. The service is the real
 * app (over app.inject, to run many cases quickly); the storage is an in-memory Storage shared by the
 * clients of one case, as localStorage is by the pages of one origin.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { envInteger } from '../../test/support/factories.js';
import { startTestApp, type TestApp } from '../../test/support/test-app.js';
import { createClient, type Client, type DeliveryProblem, type Search } from '../src/index.js';
import { memoryStorage } from './memory-storage.js';

type Action =
  | { readonly kind: 'search'; readonly results: number }
  | { readonly kind: 'event'; readonly search: number; readonly result: number; readonly type: string }
  | { readonly kind: 'irrelevant'; readonly search: number }
  | { readonly kind: 'fail'; readonly requests: number; readonly where: 'before' | 'after' }
  | { readonly kind: 'restart' }
  | { readonly kind: 'wait'; readonly ms: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('search'), results: fc.integer({ min: 1, max: 5 }) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('event'),
      search: fc.nat(),
      result: fc.nat(),
      type: fc.constantFrom('click', 'view', 'purchase'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('irrelevant'), search: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('fail'),
      requests: fc.integer({ min: 1, max: 3 }),
      where: fc.constantFrom('before', 'after'),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait'), ms: fc.integer({ min: 0, max: 30 }) }) },
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('delivery, property-based', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite');
  });
  after(async () => {
    await t.close();
  });

  it('delivers every accepted item exactly once through failures and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 40 }), async (actions) => {
        const storage = memoryStorage();
        const faults: ('before' | 'after')[] = [];
        const problems: DeliveryProblem[] = [];
        // The real app; a fault fails a request before it reaches it, or loses its answer.
        const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
          const fault = faults.shift();
          if (fault === 'before') throw new TypeError('fetch failed');
          const url = new URL(input instanceof Request ? input.url : input);
          const answer = await t.app.inject({
            method: 'POST',
            url: url.pathname,
            headers: { 'content-type': 'application/json' },
            payload: typeof init?.body === 'string' ? init.body : '',
          });
          if (fault === 'after') throw new TypeError('fetch failed after the service stored the body');
          return new Response(answer.body, { status: answer.statusCode });
        }) as typeof globalThis.fetch;
        const open = (): Client => {
          const client = createClient({
            endpoint: 'http://collector.test',
            storage,
            fetch,
            flushIntervalMs: 5,
            retryBaseDelayMs: 2,
            retryMaxDelayMs: 10,
          });
          client.on('error', (problem) => problems.push(problem));
          return client;
        };

        let client = open();
        const searches: { search: Search; objects: string[] }[] = [];
        const expected = new Map<string, { events: Set<string>; irrelevant: boolean }>();
        const eventIds = new Map<string, string[]>();
        for (const step of actions) {
          if (step.kind === 'search') {
            const objects = Array.from({ length: step.results }, (_, i) => `object-${i}`);
            const search = client.search({ query: 'q', results: objects.map((object_id) => ({ object_id })) });
            searches.push({ search, objects });
            expected.set(search.id, { events: new Set(), irrelevant: false });
          } else if (step.kind === 'event' || step.kind === 'irrelevant') {
            const chosen = searches[step.search % Math.max(1, searches.length)];
            if (!chosen) continue;
            // After a restart, the search is picked up by id on the new client, as a new page would.
            const search = client.session(chosen.search.id);
            const model = expected.get(search.id);
            assert.ok(model);
            if (step.kind === 'irrelevant') {
              search.markIrrelevant();
              model.irrelevant = true;
            } else {
              const object = chosen.objects[step.result % chosen.objects.length] ?? 'object-0';
              search.event(step.type, object);
              eventIds.set(search.id, [...(eventIds.get(search.id) ?? []), object]);
            }
          } else if (step.kind === 'fail') {
            for (let i = 0; i < step.requests; i++) faults.push(step.where);
          } else if (step.kind === 'restart') {
            await client.close({ flush: false });
            client = open();
          } else {
            await sleep(step.ms);
          }
        }
        // Everything eventually arrives: what this client holds, and what it takes over from the last.
        faults.length = 0;
        const deadline = Date.now() + 10_000;
        for (;;) {
          await client.flush();
          const pending = Array.from({ length: storage.length }, (_, i) => storage.key(i) ?? '').filter((key) =>
            /:q:/.test(key),
          );
          if (pending.length === 0 || Date.now() > deadline) break;
          await sleep(20);
        }
        await client.close();

        assert.deepEqual(problems, []);
        for (const [sessionId, model] of expected) {
          const session = await t.store.getSession(sessionId, 10_000);
          assert.ok(session, `session ${sessionId} was not stored`);
          assert.equal(session.is_irrelevant, model.irrelevant, sessionId);
          const objects = session.events.map((event) => event.object_id).sort();
          assert.deepEqual(objects, [...(eventIds.get(sessionId) ?? [])].sort(), sessionId);
          assert.equal(new Set(session.events.map((event) => event.event_id)).size, session.events.length);
        }
      }),
      {
        numRuns: envInteger('SDK_PROPERTY_RUNS', 25),
        ...(process.env.SDK_PROPERTY_SEED ? { seed: Number(process.env.SDK_PROPERTY_SEED) } : {}),
      },
    );
  });
});
