/**
 * The fine-tuning task API against a model of its rules, on every backend: fast-check generates
 * sequences of creates (some reusing an idempotency key), claims, heartbeats, completions, failures
 * (with and without retry), cancels, restarts and clock moves by several workers; after each step the
 * answer's status and the task it returns must be what the model says, and after each sequence every
 * task must read as the model holds it. Only claims hand back expired leases here (the sweep is off),
 * so the model is exact.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Task } from '../../src/schemas/tasks.js';
import { testBackends } from '../support/backends.js';
import { id, makeSession } from '../support/factories.js';
import { json, startTestApp, type TestApp } from '../support/test-app.js';

const TASK = '/api/v1/fine-tuning/task';
const MAX_ATTEMPTS = 2;
const WORKERS = ['w1', 'w2', 'w3'] as const;

type Op =
  | { readonly kind: 'create'; readonly model: 'a' | 'b'; readonly key: number | null }
  | { readonly kind: 'claim'; readonly worker: number; readonly lease: number }
  | { readonly kind: 'heartbeat' | 'complete'; readonly task: number; readonly worker: number }
  | { readonly kind: 'fail'; readonly task: number; readonly worker: number; readonly retry: boolean }
  | { readonly kind: 'cancel' | 'restart'; readonly task: number }
  | { readonly kind: 'advance'; readonly seconds: number };

const taskRef = fc.nat({ max: 5 });
const workerRef = fc.nat({ max: WORKERS.length - 1 });
const create: fc.Arbitrary<Op> = fc.record({
  kind: fc.constant('create' as const),
  model: fc.constantFrom('a' as const, 'b' as const),
  key: fc.option(fc.nat({ max: 2 }), { nil: null }),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  create,
  {
    arbitrary: fc.record({
      kind: fc.constant('claim' as const),
      worker: workerRef,
      lease: fc.integer({ min: 5, max: 60 }),
    }),
    weight: 2,
  },
  fc.record({ kind: fc.constantFrom('heartbeat' as const, 'complete' as const), task: taskRef, worker: workerRef }),
  fc.record({ kind: fc.constant('fail' as const), task: taskRef, worker: workerRef, retry: fc.boolean() }),
  fc.record({ kind: fc.constantFrom('cancel' as const, 'restart' as const), task: taskRef }),
  {
    arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 0, max: 70 }) }),
    weight: 3,
  },
);

/** What the model knows of a task. */
interface Modelled {
  id: string;
  model: string;
  status: Task['status'];
  attempts: number;
  worker: string | null;
  leaseEnd: number | null;
}

const holds = (task: Modelled, worker: string, now: number): boolean =>
  task.status === 'processing' && task.worker === worker && task.leaseEnd !== null && now < task.leaseEnd;

const released = (task: Modelled): void => {
  task.worker = null;
  task.leaseEnd = null;
};

for (const backend of testBackends()) {
  describe(`fine-tuning tasks against their model [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend, {
        CLICKSTREAM_TASK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        CLICKSTREAM_TASK_SWEEP_SECONDS: '0',
      });
    });
    after(async () => {
      await t.close();
    });
    const send = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
      t.app.inject({ method, url, ...(payload ? { payload } : {}) });

    /** A batch of its own, and no task of an earlier sequence left to claim. */
    async function freshStart(): Promise<string> {
      for (const status of ['pending', 'processing']) {
        for (const task of json<Task[]>(await send('GET', `${TASK}?status=${status}&limit=1000`))) {
          await send('PUT', `${TASK}/${task.id}/cancel`);
        }
      }
      await send('POST', '/api/v1/clickstream/session', makeSession());
      const release = await send('POST', '/api/v1/clickstream/internal/batch/release', { release_id: id('r') });
      return json<{ batch_id: string }>(release).batch_id;
    }

    it('answers every step as the model does, and ends with every task as the model holds it', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc
            .tuple(fc.array(create, { minLength: 2, maxLength: 4 }), fc.array(op, { minLength: 10, maxLength: 40 }))
            .map(([first, rest]) => [...first, ...rest]),
          async (ops) => {
            const batchId = await freshStart();
            const keys = [id('k'), id('k'), id('k')];
            const tasks: Modelled[] = [];
            const byKey = new Map<string, Modelled>();
            for (const step of ops) {
              const now = t.clock.now;
              const pick = (index: number) => tasks[index % Math.max(tasks.length, 1)];
              const expectTask = (response: { statusCode: number; body: string }, model: Modelled | undefined) => {
                assert.equal(response.statusCode, 200, `${JSON.stringify(step)}: ${response.body}`);
                assert.ok(model);
                const task = json<Task>(response);
                assert.equal(task.id, model.id);
                assert.equal(task.status, model.status, JSON.stringify(step));
                assert.equal(task.attempts, model.attempts);
                assert.equal(task.worker_id, model.worker);
                assert.equal(task.lease_expires_at, model.leaseEnd);
                assert.equal(task.status === 'processing', task.worker_id !== null && task.lease_expires_at !== null);
              };
              const expectConflict = (response: { statusCode: number; body: string }, code: string) => {
                assert.equal(response.statusCode, 409, `${JSON.stringify(step)}: ${response.body}`);
                assert.equal(json<{ code: string }>(response).code, code);
              };
              switch (step.kind) {
                case 'create': {
                  const key = step.key === null ? null : (keys[step.key] ?? null);
                  const response = await send('POST', TASK, {
                    embedding_model_id: step.model,
                    batch_id: batchId,
                    ...(key === null ? {} : { idempotency_key: key }),
                  });
                  const known = key === null ? undefined : byKey.get(key);
                  if (known && known.model !== step.model) expectConflict(response, 'task_conflict');
                  else if (known) expectTask(response, known);
                  else {
                    const created: Modelled = {
                      id: json<Task>(response).id,
                      model: step.model,
                      status: 'pending',
                      attempts: 0,
                      worker: null,
                      leaseEnd: null,
                    };
                    expectTask(response, created);
                    tasks.push(created);
                    if (key !== null) byKey.set(key, created);
                  }
                  break;
                }
                case 'claim': {
                  for (const task of tasks) {
                    if (task.status === 'processing' && task.leaseEnd !== null && now >= task.leaseEnd) {
                      task.status = task.attempts >= MAX_ATTEMPTS ? 'failed' : 'pending';
                      released(task);
                    }
                  }
                  const worker = WORKERS[step.worker] ?? 'w1';
                  const response = await send('POST', `${TASK}/claim`, {
                    worker_id: worker,
                    lease_seconds: step.lease,
                  });
                  const next = tasks.find((task) => task.status === 'pending');
                  if (!next) {
                    assert.equal(response.statusCode, 204, response.body);
                    break;
                  }
                  Object.assign(next, {
                    status: 'processing',
                    attempts: next.attempts + 1,
                    worker,
                    leaseEnd: now + step.lease,
                  });
                  expectTask(response, next);
                  break;
                }
                case 'heartbeat':
                case 'complete':
                case 'fail': {
                  const task = pick(step.task);
                  if (!task) break;
                  const worker = WORKERS[step.worker] ?? 'w1';
                  const retry = step.kind === 'fail' && step.retry;
                  const body =
                    step.kind === 'heartbeat'
                      ? { worker_id: worker, lease_seconds: 30 }
                      : step.kind === 'complete'
                        ? { worker_id: worker, metrics: { step: 1 } }
                        : { worker_id: worker, detail: 'gave up', retry };
                  const response = await send('POST', `${TASK}/${task.id}/${step.kind}`, body);
                  if (!holds(task, worker, now)) {
                    expectConflict(response, 'lease_lost');
                    break;
                  }
                  if (step.kind === 'heartbeat') task.leaseEnd = now + 30;
                  else {
                    task.status =
                      step.kind === 'complete' ? 'done' : retry && task.attempts < MAX_ATTEMPTS ? 'pending' : 'failed';
                    released(task);
                  }
                  expectTask(response, task);
                  break;
                }
                case 'cancel': {
                  const task = pick(step.task);
                  if (!task) break;
                  const response = await send('PUT', `${TASK}/${task.id}/cancel`);
                  if (['done', 'failed', 'refused'].includes(task.status)) expectConflict(response, 'task_finished');
                  else {
                    task.status = 'canceled';
                    released(task);
                    expectTask(response, task);
                  }
                  break;
                }
                case 'restart': {
                  const task = pick(step.task);
                  if (!task) break;
                  const response = await send('PUT', `${TASK}/${task.id}/restart`);
                  if (task.status === 'processing') expectConflict(response, 'task_processing');
                  else {
                    Object.assign(task, { status: 'pending', attempts: 0 });
                    released(task);
                    expectTask(response, task);
                  }
                  break;
                }
                case 'advance':
                  t.clock.advance(step.seconds);
                  break;
              }
            }
            const stored = json<Task[]>(await send('GET', `${TASK}?batch_id=${batchId}&limit=1000`));
            assert.deepEqual(
              stored.map((task) => [task.id, task.status, task.attempts, task.worker_id]),
              tasks.map((task) => [task.id, task.status, task.attempts, task.worker]),
            );
          },
        ),
        { numRuns: 100 },
      );
    });
  });
}
