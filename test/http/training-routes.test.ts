/**
 * The training-data routes: admin key only, streamed in the format asked (JSON Lines or Parquet), the same
 * bytes on every run of a sealed batch, warnings in a header, and refusals before the first byte as
 * problem+json.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { id, makeSession } from '../support/factories.js';
import { assertProblem, json, startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = 'admin-key-0123456789abcdef';
const INGEST = 'ingest-key-0123456789abcdef';
const API = '/api/v1/clickstream';

describe('training-data routes', () => {
  let t: TestApp;
  let sealed = '';
  let collecting = '';
  const admin = { authorization: `Bearer ${ADMIN}` };
  const get = (url: string, headers: Record<string, string> = admin) => t.app.inject({ method: 'GET', url, headers });

  before(async () => {
    t = await startTestApp('sqlite', {
      CLICKSTREAM_ADMIN_KEY: ADMIN,
      CLICKSTREAM_INGEST_KEYS: INGEST,
      CLICKSTREAM_LATE_EVENT_GRACE_SECONDS: '0',
    });
    const post = (url: string, payload: object) => t.app.inject({ method: 'POST', url, payload, headers: admin });
    // Two queries, each shown in two orders; the first result of each session is clicked.
    for (let i = 0; i < 40; i++) {
      const objects = i % 2 === 0 ? ['a', 'b', 'c'] : ['b', 'a', 'c'];
      const session = makeSession({
        search_query: `query ${i % 4 < 2 ? 'one' : 'two'}`,
        search_results: objects.map((object_id) => ({ object_id })),
      });
      assert.equal((await post(`${API}/session`, session)).statusCode, 200);
      const clicked = i % 3 === 0 ? 'c' : (objects[0] ?? 'a');
      await post(`${API}/session/events`, {
        session_id: session.session_id,
        events: [{ event_id: id('e'), object_id: clicked }],
      });
    }
    sealed = json<{ batch_id: string }>(await post(`${API}/internal/batch/release`, { release_id: id('r') })).batch_id;
    await post(`${API}/session`, makeSession());
    collecting =
      json<{ batches: { batch_id: string }[] }>(await get(`${API}/internal/batches`)).batches[0]?.batch_id ?? '';
  });
  after(async () => {
    await t.close();
  });

  it('streams pbm judgments as JSON Lines, the same bytes on every run of a sealed batch', async () => {
    const url = `${API}/internal/batch/training-data?batch_id=${sealed}&method=pbm&format=judgments`;
    const [first, second] = [await get(url), await get(url)];
    assert.equal(first.statusCode, 200, first.body);
    assert.match(String(first.headers['content-type']), /^application\/x-ndjson/);
    assert.equal(first.body, second.body);
    const rows = first.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(Object.keys(rows[0] ?? {}), [
      'query',
      'object_id',
      'rating',
      'impressions',
      'clicks',
      'mean_position',
    ]);
    assert.equal(rows.length, 6, 'two queries of three objects');
  });

  it('streams Parquet, and sentence-transformers rows with exactly their columns', async () => {
    const parquet = await get(`${API}/internal/batch/training-data?batch_id=${sealed}&method=clicks&format=parquet`);
    assert.equal(parquet.statusCode, 200);
    assert.equal(parquet.headers['content-type'], 'application/vnd.apache.parquet');
    assert.equal(parquet.rawPayload.subarray(0, 4).toString(), 'PAR1');
    assert.equal(parquet.rawPayload.subarray(-4).toString(), 'PAR1');
    const pairs = await get(
      `${API}/internal/batch/training-data?batch_id=${sealed}&method=skip-above&format=sentence-transformers`,
    );
    const lines = pairs.body.trim().split('\n');
    assert.ok(lines.length > 0);
    for (const line of lines)
      assert.deepEqual(Object.keys(JSON.parse(line) as object), ['anchor', 'positive', 'negative']);
  });

  it('answers the bias curve with position 0 at 1, and says when the batch is weakly identifiable', async () => {
    const bias = json<{ propensities: { position: number; propensity: number }[]; warnings: { code: string }[] }>(
      await get(`${API}/internal/batch/bias?batch_id=${sealed}`),
    );
    assert.equal(bias.propensities[0]?.propensity, 1);
    assert.equal(bias.propensities.length, 3);
    // c is always at position 2: a third of the pairs is seen at one position only, which is identifiable.
    assert.deepEqual(bias.warnings, []);
  });

  it('refuses before streaming: a collecting batch, an unknown one, a bad value, an ingest key', async () => {
    const problem = assertProblem(
      await get(`${API}/internal/batch/training-data?batch_id=${collecting}&method=clicks`),
      409,
      'batch_not_released',
    );
    assert.match(problem.detail, /still collecting.*release it first/);
    assertProblem(await get(`${API}/internal/batch/bias?batch_id=nope`), 404, 'batch_not_found');
    // Found by the fuzzer: a NUL reached PostgreSQL and failed there (500).
    assertProblem(await get(`${API}/internal/batch/bias?batch_id=%00`), 400, 'validation_failed');
    assertProblem(
      await get(`${API}/internal/batch/bias?batch_id=${sealed}&query_field=a%00b`),
      400,
      'validation_failed',
    );
    const bad = assertProblem(
      await get(`${API}/internal/batch/training-data?batch_id=${sealed}&method=best&max_position=0`),
      400,
      'validation_failed',
    );
    assert.deepEqual(
      bad.errors?.map((e) => e.path),
      ['method', 'max_position'],
    );
    assertProblem(
      await get(
        `${API}/internal/batch/training-data?batch_id=${sealed}&method=clicks&format=sentence-transformers&test_fraction=0.2`,
      ),
      400,
      'validation_failed',
    );
    assertProblem(
      await get(`${API}/internal/batch/training-data?batch_id=${sealed}&method=clicks`, {
        authorization: `Bearer ${INGEST}`,
      }),
      403,
      'forbidden',
    );
  });

  it('puts a split column in one answer with test_fraction, keeping each query in one part', async () => {
    const response = await get(
      `${API}/internal/batch/training-data?batch_id=${sealed}&method=clicks&test_fraction=0.5`,
    );
    const rows = response.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { query: string; split: string });
    const parts = new Map<string, Set<string>>();
    for (const row of rows) parts.set(row.query, (parts.get(row.query) ?? new Set()).add(row.split));
    for (const [query, splits] of parts) assert.equal(splits.size, 1, `${query} is in both parts`);
  });
});

describe('training-data of a batch released but not sealed yet', () => {
  let t: TestApp;
  let batchId = '';
  before(async () => {
    t = await startTestApp('sqlite', { CLICKSTREAM_LATE_EVENT_GRACE_SECONDS: '600' });
    const session = makeSession();
    await t.app.inject({ method: 'POST', url: `${API}/session`, payload: session });
    const released = await t.app.inject({
      method: 'POST',
      url: `${API}/internal/batch/release`,
      payload: { release_id: id('r') },
    });
    batchId = json<{ batch_id: string }>(released).batch_id;
  });
  after(async () => {
    await t.close();
  });

  it('answers with a not_sealed warning: in the header of the stream, in the body of the curve', async () => {
    const data = await t.app.inject({
      method: 'GET',
      url: `${API}/internal/batch/training-data?batch_id=${batchId}&method=pbm&format=judgments`,
    });
    assert.equal(data.statusCode, 200, data.body);
    assert.match(String(data.headers['x-clickstream-warnings']), /\bnot_sealed\b/);
    const bias = json<{ warnings: { code: string; message: string }[] }>(
      await t.app.inject({ method: 'GET', url: `${API}/internal/batch/bias?batch_id=${batchId}` }),
    );
    const warning = bias.warnings.find((w) => w.code === 'not_sealed');
    assert.match(warning?.message ?? '', /late events are accepted until \d{4}-\d\d-\d\dT/);
  });
});
