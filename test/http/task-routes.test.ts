/**
 * The fine-tuning task API over the real app and store, on every backend: EmbeddingStudio's task routes
 * (requests shaped as its clients send them), idempotency and conflicts, a task without a batch, the
 * worker routes with their leases (only the lease holder may act; an expired lease goes to another
 * worker), the batch's fine_tuning status, and who may call what.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Task } from '../../src/schemas/tasks.js';
import { testBackends } from '../support/backends.js';
import { id, makeSession } from '../support/factories.js';
import { assertProblem, json, startTestApp, type TestApp } from '../support/test-app.js';

const ADMIN = 'admin-key-0123456789abcdef';
const INGEST = 'ingest-key-0123456789abcdef';
const WORKER = 'worker-key-0123456789abcdef';
const API = '/api/v1/clickstream';
const TASK = '/api/v1/fine-tuning/task';

for (const backend of testBackends()) {
  describe(`fine-tuning task routes [${backend}]`, () => {
    let t: TestApp;
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    const send = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object, key = ADMIN) =>
      t.app.inject({ method, url, headers: as(key), ...(payload ? { payload } : {}) });
    const task = (response: { statusCode: number; body: string }): Task => {
      assert.equal(response.statusCode, 200, response.body);
      return json<Task>(response);
    };
    const batchStatus = async (batchId: string) =>
      json<{ status: string }>(await send('GET', `${API}/internal/batch?batch_id=${batchId}`)).status;

    /** A released batch of a few sessions with clicks on their first result. */
    async function releasedBatch(sessions = 6): Promise<string> {
      for (let i = 0; i < sessions; i++) {
        const session = makeSession({ search_query: `query ${i % 2}` });
        assert.equal((await send('POST', `${API}/session`, session)).statusCode, 200);
        const first = session.search_results[0]?.object_id ?? '';
        await send('POST', `${API}/session/events`, {
          session_id: session.session_id,
          events: [{ event_id: id('e'), object_id: first }],
        });
      }
      const release = await send('POST', `${API}/internal/batch/release`, { release_id: id('release') });
      return json<{ batch_id: string }>(release).batch_id;
    }

    before(async () => {
      t = await startTestApp(backend, {
        CLICKSTREAM_ADMIN_KEY: ADMIN,
        CLICKSTREAM_INGEST_KEYS: INGEST,
        CLICKSTREAM_WORKER_KEYS: WORKER,
        CLICKSTREAM_TASK_MAX_ATTEMPTS: '2',
        CLICKSTREAM_TASK_SWEEP_SECONDS: '0',
      });
    });
    after(async () => {
      await t.close();
    });

    it('creates, shows and lists tasks as EmbeddingStudio clients ask, idempotent by key', async () => {
      const batchId = await releasedBatch();
      const key = id('key');
      const body = {
        embedding_model_id: 'all-MiniLM-L6-v2',
        fine_tuning_method: 'Default Fine Tuning Method',
        batch_id: batchId,
        metadata: { requested_by: 'nightly' },
        idempotency_key: key,
        deploy_as_blue: null,
        wait_on_conflict: null,
      };
      const created = task(await send('POST', TASK, body));
      assert.equal(created.status, 'pending');
      assert.equal(created.batch_id, batchId);
      assert.equal(created.idempotency_key, key);
      assert.deepEqual(created.metadata, { requested_by: 'nightly' });
      assert.equal(created.method, 'clicks');
      assert.equal(created.fine_tuning_method, 'Default Fine Tuning Method');
      // Every field of EmbeddingStudio's FineTuningTaskResponse (v1.0), which its clients parse.
      for (const field of [
        'id',
        'status',
        'created_at',
        'updated_at',
        'fine_tuning_method',
        'embedding_model_id',
        'batch_id',
        'best_model_url',
        'best_model_id',
        'metadata',
        'idempotency_key',
        'deploy_as_blue',
        'wait_on_conflict',
      ]) {
        assert.ok(Object.hasOwn(created, field), `the answer has no ${field}`);
      }
      assert.deepEqual(created.params, { format: 'sentence-transformers' });
      assert.equal(created.attempts, 0);
      assert.equal(created.best_model_url, null);
      assert.equal(created.best_model_id, null);
      assert.ok(Number.isInteger(created.created_at) && created.created_at === t.clock.now);
      // A retry returns the first task; another request under the key is a conflict that changes nothing.
      assert.deepEqual(task(await send('POST', TASK, body)), created);
      assertProblem(await send('POST', TASK, { ...body, embedding_model_id: 'other' }), 409, 'task_conflict');
      assertProblem(await send('POST', TASK, { ...body, method: 'pbm' }), 409, 'task_conflict');
      assert.deepEqual(task(await send('GET', `${TASK}/${created.id}`)), created);
      assertProblem(await send('GET', `${TASK}/${id('unknown')}`), 404, 'task_not_found');

      const other = task(
        await send('POST', TASK, {
          embedding_model_id: 'e5',
          batch_id: batchId,
          method: 'pbm',
          params: { format: 'judgments' },
        }),
      );
      assert.equal(other.fine_tuning_method, 'pbm');
      const listed = (query: string) => send('GET', `${TASK}?${query}`).then((r) => json<Task[]>(r).map((x) => x.id));
      assert.deepEqual(await listed(`batch_id=${batchId}`), [created.id, other.id]);
      assert.deepEqual(await listed(`batch_id=${batchId}&embedding_model_id=e5`), [other.id]);
      assert.deepEqual(await listed(`batch_id=${batchId}&offset=1&limit=1`), [other.id]);
      assert.ok((await listed('status=pending&offset=0&limit=100')).includes(created.id));
      assert.ok(!(await listed('status=done')).includes(created.id));
      assertProblem(await send('GET', `${TASK}?status=sleeping`), 400, 'validation_failed');
    });

    it('releases the collecting batch for a task without batch_id, under its key; an empty one refuses', async () => {
      await send('POST', `${API}/session`, makeSession());
      const key = id('key');
      const created = task(await send('POST', TASK, { embedding_model_id: 'm', idempotency_key: key }));
      assert.equal(created.status, 'pending');
      const batch = json<{ release_id: string; status: string }>(
        await send('GET', `${API}/internal/batch?batch_id=${created.batch_id ?? ''}`),
      );
      assert.equal(batch.release_id, key);
      // The collecting batch is empty now: the task is stored refused, and its retry releases nothing.
      const emptyKey = id('key');
      const refused = task(await send('POST', TASK, { embedding_model_id: 'm', idempotency_key: emptyKey }));
      assert.equal(refused.status, 'refused');
      assert.equal(refused.batch_id, null);
      assert.match(refused.detail ?? '', /holds no session/);
      // With no batch, a rerun would have nothing to train on: it is refused, and nothing changes.
      assertProblem(await send('PUT', `${TASK}/${refused.id}/restart`), 409, 'task_finished');
      assert.deepEqual(task(await send('GET', `${TASK}/${refused.id}`)), refused);
      await send('POST', `${API}/session`, makeSession());
      const before = json<{ batches: unknown[] }>(await send('GET', `${API}/internal/batches`)).batches.length;
      assert.deepEqual(task(await send('POST', TASK, { embedding_model_id: 'm', idempotency_key: emptyKey })), refused);
      assert.equal(json<{ batches: unknown[] }>(await send('GET', `${API}/internal/batches`)).batches.length, before);
    });

    it('refuses bad params, unknown and collecting batches, naming what was wrong', async () => {
      const batchId = await releasedBatch(2);
      const problem = assertProblem(
        await send('POST', TASK, {
          embedding_model_id: 'm',
          batch_id: batchId,
          params: { format: 'csv', max_position: 0, colour: 'red', split_by: { nested: true } },
        }),
        400,
        'validation_failed',
      );
      const paths = (problem.errors ?? []).map((error) => error.path).sort();
      assert.deepEqual(paths, ['params.colour', 'params.split_by']);
      const options = assertProblem(
        await send('POST', TASK, {
          embedding_model_id: 'm',
          batch_id: batchId,
          params: { format: 'csv', max_position: 0 },
        }),
        400,
        'validation_failed',
      );
      assert.deepEqual(
        (options.errors ?? []).map((error) => error.path),
        ['params.format'],
      );
      assertProblem(
        await send('POST', TASK, { embedding_model_id: 'm', batch_id: batchId, params: { test_fraction: 0.2 } }),
        400,
        'validation_failed',
      );
      assertProblem(
        await send('POST', TASK, { embedding_model_id: 'm', batch_id: id('nope') }),
        404,
        'batch_not_found',
      );
      await send('POST', `${API}/session`, makeSession());
      const collecting = json<{ batches: { batch_id: string }[] }>(await send('GET', `${API}/internal/batches`))
        .batches[0]?.batch_id;
      assertProblem(
        await send('POST', TASK, { embedding_model_id: 'm', batch_id: collecting }),
        409,
        'batch_not_released',
      );
      assertProblem(await send('POST', TASK, { embedding_model_id: 'm', colour: 'red' }), 400, 'validation_failed');
    });

    it('leases a task to one worker, streams its training data to it and lets only it finish', async () => {
      const batchId = await releasedBatch();
      await drainPending();
      const created = task(await send('POST', TASK, { embedding_model_id: 'm', batch_id: batchId }));
      const claimed = task(await send('POST', `${TASK}/claim`, { worker_id: 'w1', lease_seconds: 30 }, WORKER));
      assert.equal(claimed.id, created.id);
      assert.equal(claimed.status, 'processing');
      assert.equal(claimed.attempts, 1);
      assert.equal(claimed.worker_id, 'w1');
      assert.equal(claimed.lease_expires_at, t.clock.now + 30);
      assert.equal(await batchStatus(batchId), 'fine_tuning');
      assert.equal((await send('POST', `${TASK}/claim`, { worker_id: 'w2' }, WORKER)).statusCode, 204);

      const data = await send('GET', `${TASK}/${created.id}/training-data?worker_id=w1`, undefined, WORKER);
      assert.equal(data.statusCode, 200, data.body);
      assert.match(String(data.headers['content-type']), /^application\/x-ndjson/);
      const rows = data.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.ok(rows.length > 0);
      for (const row of rows) assert.deepEqual(Object.keys(row), ['anchor', 'positive']);
      assertProblem(
        await send('GET', `${TASK}/${created.id}/training-data?worker_id=w2`, undefined, WORKER),
        409,
        'lease_lost',
      );

      t.clock.advance(10);
      const beat = task(
        await send('POST', `${TASK}/${created.id}/heartbeat`, { worker_id: 'w1', lease_seconds: 60 }, WORKER),
      );
      assert.equal(beat.lease_expires_at, t.clock.now + 60);
      assertProblem(
        await send('POST', `${TASK}/${created.id}/heartbeat`, { worker_id: 'w2' }, WORKER),
        409,
        'lease_lost',
      );
      assertProblem(
        await send('POST', `${TASK}/${created.id}/complete`, { worker_id: 'w2' }, WORKER),
        409,
        'lease_lost',
      );
      assertProblem(await send('PUT', `${TASK}/${created.id}/restart`), 409, 'task_processing');
      assert.deepEqual(task(await send('GET', `${TASK}/${created.id}`)), beat);

      const done = task(
        await send(
          'POST',
          `${TASK}/${created.id}/complete`,
          { worker_id: 'w1', best_model_url: 'file:///models/1', best_model_id: 'm-1', metrics: { recall_at_10: 0.7 } },
          WORKER,
        ),
      );
      assert.equal(done.status, 'done');
      assert.equal(done.worker_id, null);
      assert.equal(done.lease_expires_at, null);
      assert.deepEqual(done.metrics, { recall_at_10: 0.7 });
      assert.equal(done.best_model_url, 'file:///models/1');
      assert.equal(await batchStatus(batchId), 'released');
      assertProblem(
        await send('POST', `${TASK}/${created.id}/complete`, { worker_id: 'w1' }, WORKER),
        409,
        'lease_lost',
      );
      assertProblem(await send('PUT', `${TASK}/${created.id}/cancel`), 409, 'task_finished');

      const again = task(await send('PUT', `${TASK}/${created.id}/restart`));
      assert.equal(again.status, 'pending');
      assert.equal(again.attempts, 0);
      assert.equal(again.metrics, null);
      assert.equal(again.best_model_url, null);
    });

    it('hands an expired lease to another worker; the first then changes nothing; attempts run out', async () => {
      const batchId = await releasedBatch();
      await drainPending();
      const created = task(await send('POST', TASK, { embedding_model_id: 'm', batch_id: batchId }));
      task(await send('POST', `${TASK}/claim`, { worker_id: 'slow', lease_seconds: 5 }, WORKER));
      t.clock.advance(5);
      assert.equal(await batchStatus(batchId), 'released');
      const second = task(await send('POST', `${TASK}/claim`, { worker_id: 'fast', lease_seconds: 5 }));
      assert.equal(second.id, created.id);
      assert.equal(second.attempts, 2);
      assertProblem(
        await send('POST', `${TASK}/${created.id}/complete`, { worker_id: 'slow' }, WORKER),
        409,
        'lease_lost',
      );
      assert.deepEqual(task(await send('GET', `${TASK}/${created.id}`)), second);
      // Attempt 2 of 2 expires too: failed, saying why.
      t.clock.advance(6);
      assert.equal((await send('POST', `${TASK}/claim`, { worker_id: 'third' }, WORKER)).statusCode, 204);
      const failed = task(await send('GET', `${TASK}/${created.id}`));
      assert.equal(failed.status, 'failed');
      assert.match(failed.detail ?? '', /expired on attempt 2 of 2/);
    });

    it('fails a task, or gives it back with retry; cancels stop the worker at its next heartbeat', async () => {
      const batchId = await releasedBatch();
      await drainPending();
      const created = task(await send('POST', TASK, { embedding_model_id: 'm', batch_id: batchId }));
      task(await send('POST', `${TASK}/claim`, { worker_id: 'w' }, WORKER));
      const back = task(
        await send('POST', `${TASK}/${created.id}/fail`, { worker_id: 'w', detail: 'stopping', retry: true }, WORKER),
      );
      assert.equal(back.status, 'pending');
      task(await send('POST', `${TASK}/claim`, { worker_id: 'w' }, WORKER));
      const long = 'x'.repeat(5000);
      const failed = task(await send('POST', `${TASK}/${created.id}/fail`, { worker_id: 'w', detail: long }, WORKER));
      assert.equal(failed.status, 'failed');
      assert.equal(failed.detail?.length, 1500);

      const second = task(await send('POST', TASK, { embedding_model_id: 'm', batch_id: batchId }));
      task(await send('POST', `${TASK}/claim`, { worker_id: 'w' }, WORKER));
      const canceled = task(await send('PUT', `${TASK}/${second.id}/cancel`));
      assert.equal(canceled.status, 'canceled');
      assert.equal(await batchStatus(batchId), 'released');
      const stop = assertProblem(
        await send('POST', `${TASK}/${second.id}/heartbeat`, { worker_id: 'w' }, WORKER),
        409,
        'lease_lost',
      );
      assert.match(stop.detail, /canceled/);
      assert.equal(task(await send('PUT', `${TASK}/${second.id}/cancel`)).status, 'canceled');
    });

    it('gives each of 5 pending tasks to exactly one of 20 concurrent claims', async () => {
      const batchId = await releasedBatch();
      await drainPending();
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++)
        ids.add(task(await send('POST', TASK, { embedding_model_id: 'm', batch_id: batchId })).id);
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => send('POST', `${TASK}/claim`, { worker_id: `w${i}` }, WORKER)),
      );
      const won = answers.filter((answer) => answer.statusCode === 200).map((answer) => json<Task>(answer));
      assert.equal(won.length, 5);
      assert.equal(answers.filter((answer) => answer.statusCode === 204).length, 15);
      assert.deepEqual(new Set(won.map((x) => x.id)), ids);
      assert.equal(new Set(won.map((x) => x.worker_id)).size, 5);
    });

    it('lets a worker key call the worker routes only, and no ingest key call them', async () => {
      assertProblem(await send('POST', TASK, { embedding_model_id: 'm' }, WORKER), 403, 'forbidden');
      assertProblem(await send('GET', TASK, undefined, WORKER), 403, 'forbidden');
      assertProblem(await send('GET', `${API}/internal/batches`, undefined, WORKER), 403, 'forbidden');
      assertProblem(await send('POST', `${API}/session`, makeSession(), WORKER), 403, 'forbidden');
      assertProblem(await send('POST', `${TASK}/claim`, { worker_id: 'w' }, INGEST), 403, 'forbidden');
      assertProblem(await send('GET', TASK, undefined, INGEST), 403, 'forbidden');
      const unauthorized = await t.app.inject({ method: 'POST', url: `${TASK}/claim`, payload: { worker_id: 'w' } });
      assertProblem(unauthorized, 401, 'unauthorized');
      assertProblem(
        await send('POST', `${TASK}/claim`, { worker_id: 'w', lease_seconds: 4 }, WORKER),
        400,
        'validation_failed',
      );
    });

    /** Claims what earlier cases left pending, so that a case's claims get its own tasks. */
    async function drainPending(): Promise<void> {
      for (;;) {
        const answer = await send('POST', `${TASK}/claim`, { worker_id: 'drain' }, WORKER);
        if (answer.statusCode === 204) return;
        const { id: taskId } = json<Task>(answer);
        await send('PUT', `${TASK}/${taskId}/cancel`);
      }
    }
  });
}
