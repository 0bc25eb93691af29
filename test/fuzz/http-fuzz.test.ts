/**
 * Property-based fuzzing of the real HTTP API: fast-check generates hostile requests (wrong types, huge and
 * broken strings, invalid UTF-8, deep nesting, prototype keys, numbers JSON cannot store, wrong content types,
 * truncated and duplicate-key bodies, odd paths, queries and keys), mixed with valid requests and mutations
 * of valid ones, and sends them byte for byte over raw sockets to a listening server: one at a time, or a
 * few at once on parallel connections (so that the service's group commit mixes them). Every answer must be
 * 2xx or a 4xx problem+json, never a 5xx, a hang or a dropped connection; requests cut off mid-body must
 * leave the server answering. A model of what acknowledged (2xx) writes stored is compared with the store
 * after every write and, in full, at the end: rejected requests change nothing. The items of POST /ingest
 * are writes too: each must be answered as its single route would, and accepted ones stored, refused ones
 * not; a refusal of a request alone must agree with the model (no 404 for a session it holds, say).
 *
 * FUZZ_RUNS (default 5000) sets the number of property runs on SQLite (a run is one request, or a burst of
 * 2 to 4); PostgreSQL gets a fifth of them. FUZZ_SEED replays a campaign (the seed is printed); every
 * failure also writes the exact bytes of its request to a file.
 *
 * This file runs the campaign; the parts live beside it: the generators (raw-json.ts, value-generators.ts,
 * body-generators.ts, request-generators.ts), the bytes of a request (request-bytes.ts), the raw socket
 * client (raw-client.ts), the oracle (model.ts; ingest-answers.ts for the shape of the ingest route's
 * answers), the campaign's state and steps (campaign.ts), the data written first (baseline.ts), the routes
 * (routes.ts) and the service's settings (settings.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { testBackends, type Backend } from '../support/backends.js';
import { envInteger } from '../support/factories.js';
import { startTestApp } from '../support/test-app.js';
import { seedBaseline } from './baseline.js';
import { Campaign } from './campaign.js';
import { canonical, messageOf } from './model.js';
import { burst } from './request-generators.js';
import { APP_VARIABLES, BASELINE_SESSIONS } from './settings.js';

/** Property runs on SQLite (PostgreSQL gets a fifth): npm test, hence CI, runs this default; npm run fuzz 50,000. */
const RUNS = envInteger('FUZZ_RUNS', 5000);
const SEED = envInteger('FUZZ_SEED', Math.floor(Math.random() * 0x7fffffff));

async function fuzz(backend: Backend, runs: number): Promise<void> {
  const t = await startTestApp(backend, APP_VARIABLES);
  const started = Date.now();
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    assert.ok(address && typeof address === 'object');
    const campaign = new Campaign(t, address.port, backend);
    try {
      console.log(`fuzz ${backend}: ${runs} runs, seed ${SEED} (replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})`);
      await seedBaseline(campaign, t);
      const baseline = await campaign.dump();
      assert.equal(baseline.size, BASELINE_SESSIONS.length);
      assert.deepEqual(await campaign.compareStore(), []);

      let stopped: unknown = null;
      try {
        await fc.assert(
          fc.asyncProperty(burst, async (templates) => {
            await campaign.step(templates);
          }),
          { numRuns: runs, seed: SEED, endOnFailure: true },
        );
      } catch (error) {
        stopped = error;
      }

      // The server still answers, and the store is exactly what acknowledged writes made it.
      const health = await campaign.health();
      if (health !== 200) campaign.fail(null, `GET /health answered ${health} at the end`);
      for (const problem of await campaign.compareStore()) campaign.fail(null, problem);
      const after = await campaign.dump();
      for (const [sessionId, before] of baseline) {
        if (campaign.model.touched.has(sessionId)) continue;
        const now = after.get(sessionId);
        if (canonical(now?.page ?? null) !== canonical(before.page)) {
          campaign.fail(null, `baseline session ${sessionId} changed without an acknowledged write`);
        }
      }
      const integrity = await t.store.checkIntegrity();
      for (const problem of integrity) campaign.fail(null, `integrity check: ${problem}`);

      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const tally = (map: ReadonlyMap<string, number>) =>
        [...map.entries()]
          .sort()
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ');
      const summary =
        `fuzz ${backend}: ${campaign.requests} requests, by status {${tally(campaign.byStatus)}}, ` +
        `${campaign.failureCount} failures, ${seconds} s`;
      console.log(
        `${summary}\n  ${campaign.run} runs, seed ${SEED}; by code {${tally(campaign.byCode)}}; ` +
          `by kind {${tally(campaign.byLabel)}}; ingest items {${tally(campaign.byItem)}}; ` +
          `acknowledged: ${campaign.model.sessions.size} sessions, ` +
          `${campaign.model.releases.size} releases`,
      );
      if (campaign.failureCount > 0 || stopped !== null) {
        const listed = [...campaign.failures.values()]
          .map(
            (group) =>
              `- ${group.count} × ${group.signature}\n` +
              group.examples
                .map(
                  (f) =>
                    `    run ${f.run}: ${f.reason}\n      request: ${f.request}${f.file ? `\n      bytes: ${f.file}` : ''}`,
                )
                .join('\n'),
          )
          .join('\n');
        const halt = stopped === null ? '' : `\nthe campaign stopped: ${messageOf(stopped)}`;
        assert.fail(
          `${summary}\nreplay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} node --import tsx --test test/fuzz/http-fuzz.test.ts\n${listed}${halt}`,
        );
      }
      assert.deepEqual(integrity, []);
      assert.equal(campaign.run, runs);
    } finally {
      campaign.close();
    }
  } finally {
    await t.close();
  }
}

describe('HTTP fuzzing: hostile requests over real sockets', () => {
  for (const backend of testBackends()) {
    const runs = backend === 'sqlite' ? RUNS : Math.max(1, Math.floor(RUNS / 5));
    it(`${backend}: ${runs} runs of generated requests get 2xx or problem+json 4xx, and only acknowledged writes are stored`, async () => {
      await fuzz(backend, runs);
    });
  }
});
