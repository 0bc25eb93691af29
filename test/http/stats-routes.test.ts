import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReleaseResponse } from '../../src/schemas/records.js';
import type { BatchStats, QueriesPage, Timeline } from '../../src/schemas/stats.js';
import { SETTLE_SECONDS } from '../../src/services/stats.js';
import { testBackends } from '../support/backends.js';
import { id, makeEvent, makeSession } from '../support/factories.js';
import { assertProblem, json, startTestApp, type TestApp } from '../support/test-app.js';

const BASE = '/api/v1/clickstream';
const STATS = `${BASE}/internal/stats`;
const GRACE = 600;

for (const backend of testBackends()) {
  describe(`stats routes [${backend}]`, () => {
    let t: TestApp | undefined;
    const app = () => {
      assert.ok(t);
      return t;
    };
    before(async () => {
      t = await startTestApp(backend, { CLICKSTREAM_QUERY_FIELD: 'q.text' });
    });
    after(async () => {
      await t?.close();
    });
    const post = (url: string, payload: object) => app().app.inject({ method: 'POST', url, payload });
    const get = (url: string, query: Record<string, string>) => app().app.inject({ method: 'GET', url, query });
    const ok = async <T>(url: string, query: Record<string, string>): Promise<T> => {
      const response = await get(url, query);
      assert.equal(response.statusCode, 200, response.body);
      return json<T>(response);
    };

    /**
     * 25 distinct queries searched once each (query-0 ... query-24), plus "shoes" 3 times (one clicked at position 0 and 2, one at 1), a structured {q:{text:"hat"}} clicked
     * at 0, a zero-result "nothing" and a structured query without text. Every search shows 3 results but
     * the zero-result one.
     */
    async function seed(): Promise<string> {
      const sessions = [];
      for (let i = 0; i < 25; i++) sessions.push({ body: makeSession({ search_query: `query-${i}` }), clicks: [] });
      sessions.push({ body: makeSession({ search_query: 'shoes' }), clicks: [0, 2] });
      sessions.push({ body: makeSession({ search_query: 'shoes' }), clicks: [1] });
      sessions.push({ body: makeSession({ search_query: 'shoes' }), clicks: [] });
      sessions.push({ body: makeSession({ search_query: { q: { text: 'hat' } } }), clicks: [0] });
      sessions.push({ body: makeSession({ search_query: 'nothing', search_results: [] }), clicks: [] });
      sessions.push({ body: makeSession({ search_query: { other: 1 } }), clicks: [] });
      for (const { body, clicks } of sessions) {
        assert.equal((await post(`${BASE}/session`, body)).statusCode, 200);
        if (clicks.length === 0) continue;
        const events = clicks.map((p) => makeEvent({ object_id: body.search_results[p]?.object_id ?? '' }));
        assert.equal((await post(`${BASE}/session/events`, { session_id: body.session_id, events })).statusCode, 200);
      }
      const released = await post(`${BASE}/internal/batch/release`, { release_id: id('release') });
      assert.equal(released.statusCode, 200, released.body);
      return json<ReleaseResponse>(released).batch_id;
    }

    let batchId = '';
    before(async () => {
      batchId = await seed();
    });

    it('answers every figure of a batch', async () => {
      const stats = await ok<BatchStats>(`${STATS}/batch`, { batch_id: batchId });
      assert.equal(stats.status, 'released');
      assert.equal(stats.query_field, 'q.text');
      assert.equal(stats.searches, 31);
      assert.equal(stats.clicked_searches, 3);
      assert.equal(stats.click_through_rate, 3 / 31);
      assert.equal(stats.no_click_rate, 28 / 31);
      assert.equal(stats.zero_result_searches, 1);
      assert.equal(stats.clicks, 4);
      assert.equal(stats.average_first_click_position, (0 + 1 + 0) / 3);
      assert.equal(stats.searches_without_query_text, 1);
      assert.deepEqual(
        stats.positions.map((p) => [p.position, p.shown, p.clicks]),
        [
          [0, 30, 2],
          [1, 30, 1],
          [2, 30, 1],
        ],
      );
      assert.deepEqual(stats.events_by_type, [{ event_type: 'click', count: 4 }]);
      assert.equal(stats.top_queries.length, 10);
      assert.deepEqual(stats.top_queries[0], {
        query: 'shoes',
        searches: 3,
        clicked_searches: 2,
        click_through_rate: 2 / 3,
        zero_result_searches: 0,
      });
      assert.deepEqual(
        stats.no_result_queries.map((q) => q.query),
        ['nothing'],
      );
      assert.deepEqual(stats.query_totals, { top: 28, no_click: 26, no_result: 1 });
      assert.equal(
        stats.searches_per_hour.reduce((sum, h) => sum + h.searches, 0),
        31,
      );
    });

    it("makes CLICKSTREAM_QUERY_FIELD training data's default query field too", async () => {
      const rows = await get(`${BASE}/internal/batch/training-data`, { batch_id: batchId, method: 'clicks' });
      assert.equal(rows.statusCode, 200, rows.body);
      const queries = rows.body
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { query: string }).query);
      assert.ok(queries.includes('hat'), `rows of the structured query are there: ${queries.join(', ')}`);
    });

    it('pages through a query table', async () => {
      const seen: string[] = [];
      for (let offset = 0; offset < 40; offset += 20) {
        const page = await ok<QueriesPage>(`${STATS}/queries`, {
          batch_id: batchId,
          kind: 'no_click',
          offset: String(offset),
        });
        assert.equal(page.total, 26);
        seen.push(...page.queries.map((q) => q.query));
      }
      assert.equal(seen.length, 26);
      assert.equal(new Set(seen).size, 26);
      assert.ok(!seen.includes('hat') && seen.includes('nothing'));
      const hat = await ok<QueriesPage>(`${STATS}/queries`, { batch_id: batchId, kind: 'top', limit: '100' });
      assert.ok(hat.queries.some((q) => q.query === 'hat' && q.clicked_searches === 1));
    });

    it('counts a late event in the figures of the sealed batch, then keeps them as they are', async () => {
      const before = await ok<BatchStats>(`${STATS}/batch`, { batch_id: batchId });
      assert.equal(before.status, 'released');
      const late = await ok<{ sessions: { session_id: string; search_results: { object_id: string }[] }[] }>(
        `${BASE}/internal/batch/sessions`,
        { batch_id: batchId, limit: '1' },
      );
      const [first] = late.sessions;
      assert.ok(first);
      const click = makeEvent({ object_id: first.search_results[2]?.object_id ?? '' });
      const posted = await post(`${BASE}/session/events`, { session_id: first.session_id, events: [click] });
      assert.equal(posted.statusCode, 200, posted.body);
      app().clock.advance(GRACE);
      const sealed = await ok<BatchStats>(`${STATS}/batch`, { batch_id: batchId });
      assert.equal(sealed.status, 'sealed');
      assert.equal(sealed.final, false, 'a write accepted before the seal may still be landing');
      assert.equal(sealed.clicked_searches, before.clicked_searches + 1);
      assert.equal(sealed.computed_at, app().clock.now);
      app().clock.advance(SETTLE_SECONDS);
      const final = await ok<BatchStats>(`${STATS}/batch`, { batch_id: batchId });
      assert.equal(final.final, true);
      assert.deepEqual({ ...final, final: false }, sealed, 'nothing reached the batch since: the same figures');
      app().clock.advance(60);
      assert.deepEqual(await ok<BatchStats>(`${STATS}/batch`, { batch_id: batchId }), final);
    });

    it('takes the figures computed before the seal when nothing reached the batch since', async () => {
      assert.equal((await post(`${BASE}/session`, makeSession({ search_query: 'alone' }))).statusCode, 200);
      const released = await post(`${BASE}/internal/batch/release`, { release_id: id('release') });
      const { batch_id: quiet } = json<ReleaseResponse>(released);
      const early = await ok<BatchStats>(`${STATS}/batch`, { batch_id: quiet });
      assert.equal(early.status, 'released');
      app().clock.advance(GRACE + SETTLE_SECONDS);
      const sealed = await ok<BatchStats>(`${STATS}/batch`, { batch_id: quiet });
      assert.equal(sealed.status, 'sealed');
      assert.equal(sealed.final, true);
      assert.equal(sealed.computed_at, early.computed_at);
      assert.deepEqual(sealed.top_queries, early.top_queries);
    });

    it('adds up the hours of every batch in a timeline', async () => {
      const now = app().clock.now;
      const timeline = await ok<Timeline>(`${STATS}/timeline`, {
        from: String(now - 2 * 86400),
        to: String(now + 3600),
      });
      assert.equal(timeline.from % 3600, 0);
      assert.deepEqual(timeline.incomplete_batches, []);
      assert.equal(timeline.hours.length, Math.ceil((timeline.to - timeline.from) / 3600));
      assert.deepEqual(
        timeline.hours.map((h) => h.hour),
        timeline.hours.map((_, i) => timeline.from + i * 3600),
      );
      assert.equal(
        timeline.hours.reduce((sum, h) => sum + h.searches, 0),
        31 + 1, // the seeded batch and the quiet one
      );
      assert.equal(
        timeline.hours.reduce((sum, h) => sum + h.clicks, 0),
        4 + 1, // with the late click
      );
    });

    it('refuses unknown batches, kinds and ranges with the path at fault', async () => {
      assertProblem(await get(`${STATS}/batch`, { batch_id: 'nope' }), 404, 'batch_not_found');
      const kind = await get(`${STATS}/queries`, { batch_id: batchId, kind: 'best' });
      assertProblem(kind, 400, 'validation_failed');
      assert.match(kind.body, /kind/);
      const range = await get(`${STATS}/timeline`, { from: '100', to: String(100 + 32 * 86400) });
      assertProblem(range, 400, 'validation_failed');
      assert.match(range.body, /"path":"to"/);
    });
  });
}
