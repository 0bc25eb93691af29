/**
 * Storage contract, fine-tuning tasks: creation is idempotent by id and by key (also for concurrent
 * creates), the request comes back as given, lists filter and page in creation order, a change is atomic
 * and a refused one writes nothing, claims give each pending task to exactly one of many concurrent
 * workers in creation order, expired leases are found, and batches read as in training while a lease holds.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ClickstreamError } from '../../../src/domain/errors.js';
import type { TaskRequest } from '../../../src/domain/task.js';
import type { ClickstreamStore } from '../../../src/storage/store.js';
import type { NewTask } from '../../../src/storage/task-store.js';
import { id, nowSeconds } from '../../support/factories.js';
import { GRACE, freshStorePerCase, newSession, rejectsWith, type OpenTestStore } from './contract-helpers.js';

function request(overrides: Partial<TaskRequest> = {}): TaskRequest {
  return {
    embedding_model_id: 'model-a',
    fine_tuning_method: 'Default Fine Tuning Method',
    batch_id: null,
    method: 'clicks',
    params: { format: 'jsonl', test_fraction: 0.2 },
    metadata: { owner: 'search team', nested: { k: [1, 2] } },
    deploy_as_blue: null,
    wait_on_conflict: true,
    ...overrides,
  };
}

function newTask(batchId: string | null, overrides: Partial<NewTask> = {}): NewTask {
  return {
    id: id('task'),
    idempotency_key: null,
    request: request({ batch_id: batchId }),
    batch_id: batchId,
    status: 'pending',
    detail: null,
    ...overrides,
  };
}

async function releasedBatch(store: ClickstreamStore, now: number): Promise<string> {
  await store.registerSession(newSession(now), now);
  return (await store.releaseBatch(id('release'), now, GRACE)).batch_id;
}

export function describeTaskContract(open: OpenTestStore): void {
  const current = freshStorePerCase(open);

  it('stores a task as asked and reads it back by id, by key and in lists', async () => {
    const store = current();
    const now = nowSeconds();
    const batchId = await releasedBatch(store, now);
    const key = id('key');
    const created = await store.tasks.createTask(newTask(batchId, { idempotency_key: key }), now);
    assert.equal(created.created, true);
    const { task } = created;
    assert.equal(task.status, 'pending');
    assert.equal(task.created_at, now);
    assert.equal(task.updated_at, now);
    assert.equal(task.batch_id, batchId);
    assert.equal(task.idempotency_key, key);
    assert.deepEqual(task.params, { format: 'jsonl', test_fraction: 0.2 });
    assert.deepEqual(task.metadata, { owner: 'search team', nested: { k: [1, 2] } });
    assert.equal(task.deploy_as_blue, null);
    assert.equal(task.wait_on_conflict, true);
    assert.equal(task.attempts, 0);
    assert.equal(task.worker_id, null);
    assert.equal(task.lease_expires_at, null);
    assert.equal(task.metrics, null);
    assert.equal(task.best_model_url, null);
    assert.deepEqual(created.request, request({ batch_id: batchId }));
    assert.deepEqual(await store.tasks.getTask(task.id), task);
    assert.deepEqual(await store.tasks.findStoredTask('idempotency_key', key), { task, request: created.request });
    assert.deepEqual(await store.tasks.findStoredTask('id', task.id), { task, request: created.request });
    assert.equal(await store.tasks.getTask(id('unknown')), null);
    assert.equal(await store.tasks.findStoredTask('idempotency_key', id('unknown')), null);
    assert.equal(await store.tasks.findStoredTask('id', key), null);
  });

  it('keeps a released-for-it batch apart from the request, which named none', async () => {
    const store = current();
    const now = nowSeconds();
    const batchId = await releasedBatch(store, now);
    const created = await store.tasks.createTask({ ...newTask(null), batch_id: batchId }, now);
    assert.equal(created.task.batch_id, batchId);
    assert.equal(created.request.batch_id, null);
    const refused = await store.tasks.createTask(
      newTask(null, { status: 'refused', detail: 'the collecting batch holds no session' }),
      now,
    );
    assert.equal(refused.task.status, 'refused');
    assert.equal(refused.task.batch_id, null);
    assert.equal(refused.task.detail, 'the collecting batch holds no session');
  });

  it('returns the stored task for a known id or key and changes nothing, also for concurrent creates', async () => {
    const store = current();
    const now = nowSeconds();
    const batchId = await releasedBatch(store, now);
    const first = await store.tasks.createTask(newTask(batchId), now);
    const sameId = await store.tasks.createTask(
      newTask(batchId, { id: first.task.id, request: request({ embedding_model_id: 'other' }) }),
      now + 5,
    );
    assert.equal(sameId.created, false);
    assert.deepEqual(sameId.task, first.task);
    assert.deepEqual(sameId.request, first.request);

    const key = id('key');
    const racing = await Promise.all(
      Array.from({ length: 8 }, () => store.tasks.createTask(newTask(batchId, { idempotency_key: key }), now)),
    );
    assert.equal(racing.filter((outcome) => outcome.created).length, 1);
    assert.equal(new Set(racing.map((outcome) => outcome.task.id)).size, 1);
    assert.equal((await store.tasks.listTasks({}, 0, 100)).length, 2);
  });

  it('lists in creation order, filtered by status, batch and model, paged by offset', async () => {
    const store = current();
    const now = nowSeconds();
    const [a, b] = [await releasedBatch(store, now), await releasedBatch(store, now)];
    const made = [];
    for (const [batchId, model] of [
      [a, 'm1'],
      [b, 'm1'],
      [a, 'm2'],
      [a, 'm1'],
    ] as const) {
      made.push(
        (
          await store.tasks.createTask(
            newTask(batchId, { request: request({ batch_id: batchId, embedding_model_id: model }) }),
            now,
          )
        ).task,
      );
    }
    const ids = (tasks: readonly { id: string }[]) => tasks.map((task) => task.id);
    const [t0, t1, t2, t3] = ids(made);
    assert.deepEqual(ids(await store.tasks.listTasks({}, 0, 100)), [t0, t1, t2, t3]);
    assert.deepEqual(ids(await store.tasks.listTasks({ batch_id: a }, 0, 100)), [t0, t2, t3]);
    assert.deepEqual(ids(await store.tasks.listTasks({ embedding_model_id: 'm1' }, 0, 100)), [t0, t1, t3]);
    assert.deepEqual(ids(await store.tasks.listTasks({ batch_id: a, embedding_model_id: 'm1' }, 1, 100)), [t3]);
    assert.deepEqual(ids(await store.tasks.listTasks({}, 1, 2)), [t1, t2]);
    await store.tasks.updateTask(t1 ?? '', now, () => ({ status: 'canceled' }));
    assert.deepEqual(ids(await store.tasks.listTasks({ status: 'canceled' }, 0, 100)), [t1]);
    assert.deepEqual(ids(await store.tasks.listTasks({ status: 'pending', embedding_model_id: 'm2' }, 0, 100)), [t2]);
  });

  it('writes what a change returns with updated_at; a refused change writes nothing', async () => {
    const store = current();
    const now = nowSeconds();
    const { task } = await store.tasks.createTask(newTask(await releasedBatch(store, now)), now);
    const seen: string[] = [];
    const done = await store.tasks.updateTask(task.id, now + 7, (stored) => {
      seen.push(stored.status);
      return { status: 'done', metrics: { recall_at_10: 0.5, per_k: [0.1, 0.2] }, best_model_url: 's3://m/1' };
    });
    assert.deepEqual(seen, ['pending']);
    assert.ok(done);
    assert.equal(done.status, 'done');
    assert.equal(done.updated_at, now + 7);
    assert.equal(done.created_at, now);
    assert.deepEqual(done.metrics, { recall_at_10: 0.5, per_k: [0.1, 0.2] });
    assert.equal(done.best_model_url, 's3://m/1');
    assert.deepEqual(await store.tasks.getTask(task.id), done);

    await rejectsWith(
      store.tasks.updateTask(task.id, now + 9, () => {
        throw new ClickstreamError('task_finished', 'refused');
      }),
      'task_finished',
    );
    assert.deepEqual(await store.tasks.getTask(task.id), done);
    const cleared = await store.tasks.updateTask(task.id, now + 10, () => ({ metrics: null, detail: 'x' }));
    assert.ok(cleared);
    assert.equal(cleared.metrics, null);
    assert.equal(cleared.detail, 'x');
    assert.equal(await store.tasks.updateTask(id('unknown'), now, () => ({ status: 'done' })), null);
  });

  it('gives each pending task to exactly one of 20 concurrent claims, oldest first, methods filtered', async () => {
    const store = current();
    const now = nowSeconds();
    const batchId = await releasedBatch(store, now);
    const created = [];
    for (let i = 0; i < 5; i++) created.push((await store.tasks.createTask(newTask(batchId), now)).task.id);
    const pbm = (
      await store.tasks.createTask(newTask(batchId, { request: request({ batch_id: batchId, method: 'pbm' }) }), now)
    ).task.id;
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.tasks.claimTask(`worker-${i}`, 60, ['clicks'], now)),
    );
    const won = claims.filter((task) => task !== null);
    assert.equal(won.length, 5);
    assert.deepEqual(won.map((task) => task.id).sort(), [...created].sort());
    for (const task of won) {
      assert.equal(task.status, 'processing');
      assert.equal(task.attempts, 1);
      assert.equal(task.lease_expires_at, now + 60);
      assert.ok(task.worker_id?.startsWith('worker-'));
    }
    assert.equal(new Set(won.map((task) => task.worker_id)).size, 5);
    assert.equal(await store.tasks.claimTask('late', 60, ['clicks'], now), null);
    const next = await store.tasks.claimTask('any', 30, null, now + 1);
    assert.equal(next?.id, pbm);
    assert.equal(next.lease_expires_at, now + 31);
    assert.equal(await store.tasks.claimTask('any', 30, null, now + 1), null);
  });

  it('claims the oldest pending task first', async () => {
    const store = current();
    const now = nowSeconds();
    const batchId = await releasedBatch(store, now);
    const first = (await store.tasks.createTask(newTask(batchId), now)).task.id;
    const second = (await store.tasks.createTask(newTask(batchId), now)).task.id;
    assert.equal((await store.tasks.claimTask('w', 60, null, now))?.id, first);
    assert.equal((await store.tasks.claimTask('w', 60, null, now))?.id, second);
  });

  it('finds expired leases and reads a batch as in training only while a lease holds', async () => {
    const store = current();
    const now = nowSeconds();
    const [a, b] = [await releasedBatch(store, now), await releasedBatch(store, now)];
    const short = (await store.tasks.createTask(newTask(a), now)).task.id;
    await store.tasks.createTask(newTask(b), now);
    assert.deepEqual(await store.tasks.batchesInTraining([a, b], now), new Set());
    await store.tasks.claimTask('w1', 10, null, now);
    await store.tasks.claimTask('w2', 100, null, now);
    assert.deepEqual(await store.tasks.batchesInTraining([a, b, id('unknown')], now), new Set([a, b]));
    assert.deepEqual(await store.tasks.batchesInTraining([b], now), new Set([b]));
    assert.deepEqual(await store.tasks.expiredLeases(now + 9), []);
    assert.deepEqual(await store.tasks.expiredLeases(now + 10), [short]);
    assert.deepEqual(await store.tasks.batchesInTraining([a, b], now + 10), new Set([b]));
    assert.deepEqual(await store.tasks.batchesInTraining([], now), new Set());
  });
}
