/**
 * The OpenAPI document's examples are what Swagger UI's "Try it out" sends: replayed against the app in
 * the document's order (a session, its events, its flag, the release, a task, a claim), each must be
 * answered with a success status of its route, on a fresh store and with the real clock, so that no
 * example goes stale with time. Routes with a path parameter (a task's id, known only at run time) are
 * not replayed; their examples are checked against their schemas by openapi.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { json, startTestApp, type TestApp } from '../support/test-app.js';

interface Operation {
  readonly requestBody?: { content: Record<string, { example?: unknown }> };
  readonly responses: Record<string, unknown>;
}

let t: TestApp;
before(async () => {
  t = await startTestApp('sqlite');
});
after(async () => {
  await t.close();
});

it('answers every request example of the OpenAPI document with 200, replayed in order', async () => {
  const doc = json<{ paths: Record<string, Record<string, Operation>> }>(
    await t.app.inject({ method: 'GET', url: '/openapi.json' }),
  );
  const replayed: string[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const example = operation.requestBody?.content['application/json']?.example;
      if (operation.requestBody) assert.ok(example, `${method} ${path} has a body but no example`);
      if (example === undefined || path.includes('{')) continue;
      const response = await t.app.inject({
        method: method.toUpperCase() as 'POST',
        url: path,
        payload: example as object,
      });
      const successes = Object.keys(operation.responses).filter((status) => status.startsWith('2'));
      assert.ok(successes.includes(String(response.statusCode)), `the example of ${method} ${path}: ${response.body}`);
      replayed.push(`${method} ${path}`);
    }
  }
  assert.deepEqual(replayed, [
    'post /api/v1/clickstream/session',
    'post /api/v1/clickstream/session/events',
    'post /api/v1/clickstream/session/irrelevant',
    'post /api/v1/clickstream/ingest',
    'post /api/v1/clickstream/internal/batch/release',
    'post /api/v1/fine-tuning/task',
    'post /api/v1/fine-tuning/task/claim',
  ]);
  // The examples tell one story: the events and the flag are those of the example session.
  const [session] = await t.store.listBatchSessions((await t.store.listBatches(2))[1]?.batch_id ?? '', 0, 10, null);
  assert.ok(session, 'the released batch holds the example session');
  assert.equal(session.events.length, 3);
  assert.equal(session.is_irrelevant, true);
});
