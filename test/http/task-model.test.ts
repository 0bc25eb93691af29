/**
 * A model-based property test of the fine-tuning task API over the real app and store, on every backend:
 * fast-check generates sequences of creates (with repeated idempotency keys, same or different bodies,
 * unknown batches, no batch), claims by three workers (leases, methods filters), heartbeats, completions
 * and failures by a random worker (often not the lease holder), cancels, restarts, reads, lists and moves
 * of the clock. A small model of each task (status, attempts, holder, lease end, results) implements the
 * documented rules; every answer (status code and body) is compared with it, and after each sequence the
 * whole list of the sequence's tasks is, with the invariants of leases checked on every task seen.
 *
 * Each sequence trains on a batch of its own and first cancels what earlier sequences left pending or
 * processing, so that its claims only ever see its own tasks. The lease sweep is off: only claims hand
 * back expired leases, which keeps the model deterministic.
 *
 * TASK_MODEL_RUNS (default 60) sets the sequences per backend, TASK_MODEL_SEED replays a campaign (the seed
 * is printed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Task } from '../../src/schemas/tasks.js';
import { testBackends } from '../support/backends.js';
import { envInteger, id, makeSession } from '../support/factories.js';
import { assertProblem, json, startTestApp, type TestApp } from '../support/test-app.js';

const RUNS = envInteger('TASK_MODEL_RUNS', 60);
const SEED = envInteger('TASK_MODEL_SEED', Math.floor(Math.random() * 0x7fffffff));
const MAX_OPERATIONS = 25;

const ADMIN = 'admin-key-0123456789abcdef';
const WORKER = 'worker-key-0123456789abcdef';
const API = '/api/v1/clickstream';
const TASK = '/api/v1/fine-tuning/task';
const MAX_ATTEMPTS = 2;
const MODELS = ['model-a', 'model-b', 'model-c'] as const;
const WORKERS = ['worker-0', 'worker-1', 'worker-2'] as const;
const METHODS = ['clicks', 'pbm', 'coec'] as const;
const STATUSES = ['pending', 'processing', 'done', 'canceled', 'failed', 'refused'] as const;
const KEYS = ['k0', 'k1', 'k2'] as const;
const FINISHED: readonly string[] = ['done', 'failed', 'refused'];
const REFUSED_DETAIL = 'no batch_id was given and the collecting batch holds no session: nothing to train on';

// ---- Operations (plain data, so that a shrunk counterexample reads as a script) ----

type Metadata = 'a' | 'b' | null;
interface CreateOp {
  readonly op: 'create';
  readonly model: (typeof MODELS)[number];
  readonly method: 'default' | 'clicks' | 'pbm';
  readonly plugin: boolean;
  readonly metadata: Metadata;
  readonly batch: 'own' | 'unknown' | 'none';
  readonly key: (typeof KEYS)[number] | null;
}
/**
 * A task of the sequence by its creation index (modulo their number), the first processing one (the
 * first task when none is), or an id no task has.
 */
type TaskRef = number | 'held' | 'last' | 'unknown';
/** The current lease holder of the task (worker-0 when none), or a given worker. */
type WorkerRef = 'holder' | (typeof WORKERS)[number];
type Op =
  | CreateOp
  | { readonly op: 'retry'; readonly of: number; readonly change: 'none' | 'model' | 'method' | 'metadata' }
  | {
      readonly op: 'claim';
      readonly worker: (typeof WORKERS)[number];
      readonly lease: number | null;
      readonly methods: readonly string[] | null;
    }
  | { readonly op: 'heartbeat'; readonly task: TaskRef; readonly worker: WorkerRef; readonly lease: number | null }
  | { readonly op: 'complete'; readonly task: TaskRef; readonly worker: WorkerRef; readonly results: boolean }
  | { readonly op: 'fail'; readonly task: TaskRef; readonly worker: WorkerRef; readonly retry: boolean | null }
  | { readonly op: 'cancel' | 'restart' | 'get'; readonly task: TaskRef }
  | {
      readonly op: 'list';
      readonly scope: 'batch' | 'active';
      readonly status: (typeof STATUSES)[number] | null;
      readonly model: (typeof MODELS)[number] | null;
      readonly page: { readonly offset: number; readonly limit: number } | null;
    }
  | { readonly op: 'advance'; readonly seconds: number }
  /** Moves the clock to a second before, at or after the lease end of the first processing task. */
  | { readonly op: 'expire'; readonly offset: -1 | 0 | 1 };

const taskRef: fc.Arbitrary<TaskRef> = fc.oneof(
  { weight: 4, arbitrary: fc.nat(7) },
  { weight: 3, arbitrary: fc.constant('held' as const) },
  { weight: 2, arbitrary: fc.constant('last' as const) },
  { weight: 1, arbitrary: fc.constant('unknown' as const) },
);
const workerRef: fc.Arbitrary<WorkerRef> = fc.oneof(
  { weight: 2, arbitrary: fc.constant('holder' as const) },
  { weight: 1, arbitrary: fc.constantFrom(...WORKERS) },
);
const lease = fc.option(fc.integer({ min: 5, max: 60 }), { freq: 4 });

const createOp: fc.Arbitrary<CreateOp> = fc.record({
  op: fc.constant('create' as const),
  model: fc.constantFrom(...MODELS),
  method: fc.constantFrom('default' as const, 'clicks' as const, 'pbm' as const),
  plugin: fc.boolean(),
  metadata: fc.constantFrom<Metadata>(null, 'a', 'b'),
  batch: fc.oneof(
    { weight: 8, arbitrary: fc.constant('own' as const) },
    { weight: 1, arbitrary: fc.constant('unknown' as const) },
    { weight: 1, arbitrary: fc.constant('none' as const) },
  ),
  key: fc.option(fc.constantFrom(...KEYS), { freq: 2 }),
});

const operation: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: createOp },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('retry' as const),
      of: fc.nat(7),
      change: fc.constantFrom('none' as const, 'model' as const, 'method' as const, 'metadata' as const),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('claim' as const),
      worker: fc.constantFrom(...WORKERS),
      lease,
      methods: fc.option(fc.subarray([...METHODS], { minLength: 1 }), { freq: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('heartbeat' as const), task: taskRef, worker: workerRef, lease }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('complete' as const),
      task: taskRef,
      worker: workerRef,
      results: fc.constantFrom(true, true, false),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('fail' as const),
      task: taskRef,
      worker: workerRef,
      retry: fc.constantFrom(null, false, true, true),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constantFrom('cancel' as const, 'restart' as const, 'restart' as const, 'get' as const),
      task: taskRef,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.record({
        op: fc.constant('list' as const),
        scope: fc.constant('batch' as const),
        status: fc.option(fc.constantFrom(...STATUSES)),
        model: fc.option(fc.constantFrom(...MODELS)),
        page: fc.option(fc.record({ offset: fc.nat(4), limit: fc.integer({ min: 1, max: 4 }) })),
      }),
      // Without a batch filter: only pending and processing tasks, which all are this sequence's.
      fc.record({
        op: fc.constant('list' as const),
        scope: fc.constant('active' as const),
        status: fc.constantFrom('pending' as const, 'processing' as const),
        model: fc.option(fc.constantFrom(...MODELS)),
        page: fc.option(fc.record({ offset: fc.nat(4), limit: fc.integer({ min: 1, max: 4 }) })),
      }),
    ),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('advance' as const), seconds: fc.integer({ min: 0, max: 70 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('expire' as const),
      offset: fc.constantFrom(-1 as const, 0 as const, 1 as const),
    }),
  },
);

/** A few creates first, so that most operations meet a task; then anything. */
const sequence = fc
  .tuple(
    fc.array(createOp, { minLength: 1, maxLength: 3 }),
    fc.array(operation, { maxLength: MAX_OPERATIONS - 3, size: 'max' }),
  )
  .map(([creates, rest]): Op[] => [...creates, ...rest]);

// ---- The model ----

interface ModelTask {
  /** What the service must answer for the task; its detail is checked by `detailPattern` when that is set. */
  expected: Task;
  detailPattern: RegExp | null;
  /** The normalized create request, as canonical JSON (the idempotency comparison). */
  readonly request: string;
}

/** One sequence: its batch, ids and key names of its own, and the model of its tasks in creation order. */
interface Run {
  readonly batchId: string;
  readonly unknownBatch: string;
  readonly unknownTask: string;
  readonly prefix: string;
  readonly tasks: ModelTask[];
  readonly byKey: Map<string, ModelTask>;
  /** The create requests sent with a key, for retries. */
  readonly keyed: CreateOp[];
  /** The task the last successful answer was about. */
  last: ModelTask | null;
}

interface Answer {
  readonly statusCode: number;
  readonly headers: Record<string, unknown>;
  readonly body: string;
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The lease invariants every task the service answers must hold. */
function checkInvariants(task: Task): void {
  const held = task.worker_id !== null && task.lease_expires_at !== null;
  assert.equal(task.status === 'processing', held, `task ${task.id}: processing iff it has a holder and a lease end`);
  if (task.status !== 'processing') {
    assert.equal(task.worker_id, null, `task ${task.id} is ${task.status} with a worker`);
    assert.equal(task.lease_expires_at, null, `task ${task.id} is ${task.status} with a lease end`);
  } else {
    assert.ok(task.attempts >= 1, `task ${task.id} is processing after ${task.attempts} attempts`);
  }
  assert.ok(task.batch_id !== null || task.status === 'refused', `task ${task.id}: no batch, yet ${task.status}`);
  assert.ok(
    task.attempts >= 0 && task.attempts <= MAX_ATTEMPTS,
    `task ${task.id} has ${task.attempts} attempts (max ${MAX_ATTEMPTS})`,
  );
}

for (const backend of testBackends()) {
  describe(`fine-tuning tasks against their model [${backend}]`, () => {
    let t: TestApp;
    /** Tasks of the app before the current sequence (their count; the list is in creation order). */
    let total = 0;
    const tally = new Map<string, number>();
    let operations = 0;
    const count = (name: string) => tally.set(name, (tally.get(name) ?? 0) + 1);

    const send = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object, key = ADMIN): Promise<Answer> =>
      t.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the body type it expects
    const ok = <T>(answer: Answer): T => {
      assert.equal(answer.statusCode, 200, answer.body);
      return json<T>(answer);
    };
    const listPage = async (query: string): Promise<Task[]> => ok<Task[]>(await send('GET', `${TASK}?${query}`));

    before(async () => {
      t = await startTestApp(backend, {
        CLICKSTREAM_ADMIN_KEY: ADMIN,
        CLICKSTREAM_WORKER_KEYS: WORKER,
        CLICKSTREAM_TASK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        CLICKSTREAM_TASK_SWEEP_SECONDS: '0',
      });
    });
    after(async () => {
      await t.close();
    });

    /** Cancels what earlier sequences left pending or processing, counts the tasks, and releases a batch. */
    async function startRun(): Promise<Run> {
      for (const status of ['pending', 'processing']) {
        for (;;) {
          const left = await listPage(`status=${status}&limit=1000`);
          if (left.length === 0) break;
          for (const task of left) ok(await send('PUT', `${TASK}/${task.id}/cancel`));
        }
      }
      for (;;) {
        const page = await listPage(`offset=${total}&limit=1000`);
        total += page.length;
        if (page.length < 1000) break;
      }
      ok(await send('POST', `${API}/session`, makeSession()));
      const release = await send('POST', `${API}/internal/batch/release`, { release_id: id('release') });
      const { batch_id: batchId } = ok<{ batch_id: string }>(release);
      return {
        batchId,
        unknownBatch: id('no-batch'),
        unknownTask: id('no-task'),
        prefix: id('run'),
        tasks: [],
        byKey: new Map(),
        keyed: [],
        last: null,
      };
    }

    function expectTask(run: Run, answer: Answer, task: ModelTask): void {
      run.last = task;
      const actual = ok<Task>(answer);
      checkInvariants(actual);
      compareTask(actual, task);
    }

    function compareTask(actual: Task, task: ModelTask): void {
      if (task.detailPattern !== null) {
        assert.match(actual.detail ?? '<null>', task.detailPattern, `detail of task ${task.expected.id}`);
        // From now on the service must keep answering this detail.
        task.expected = { ...task.expected, detail: actual.detail };
        task.detailPattern = null;
      }
      assert.deepEqual(actual, task.expected);
    }

    function update(task: ModelTask, patch: Partial<Task>, detailPattern: RegExp | null = null): void {
      task.expected = { ...task.expected, ...patch, updated_at: t.clock.now };
      if (patch.detail !== undefined || detailPattern !== null) task.detailPattern = detailPattern;
    }

    function resolve(run: Run, ref: TaskRef): { id: string; task: ModelTask | null } {
      const task =
        ref === 'unknown'
          ? undefined
          : ref === 'last'
            ? (run.last ?? run.tasks[0])
            : ref === 'held'
              ? (run.tasks.find(({ expected }) => expected.status === 'processing') ?? run.tasks[0])
              : run.tasks[ref % Math.max(run.tasks.length, 1)];
      return task ? { id: task.expected.id, task } : { id: run.unknownTask, task: null };
    }

    const workerOf = (task: ModelTask | null, ref: WorkerRef): string =>
      ref === 'holder' ? (task?.expected.worker_id ?? WORKERS[0]) : ref;

    /** Whether `worker` holds the task's lease now: only then may it heartbeat, complete or fail. */
    const holds = (task: ModelTask, worker: string): boolean =>
      task.expected.status === 'processing' &&
      task.expected.worker_id === worker &&
      task.expected.lease_expires_at !== null &&
      t.clock.now < task.expected.lease_expires_at;

    async function create(run: Run, op: CreateOp): Promise<Answer> {
      const batchId = op.batch === 'own' ? run.batchId : op.batch === 'unknown' ? run.unknownBatch : null;
      const key = op.key === null ? null : `${run.prefix}-${op.key}`;
      const body = {
        embedding_model_id: op.model,
        ...(op.method === 'default' ? {} : { method: op.method }),
        ...(op.plugin ? { fine_tuning_method: 'Default Fine Tuning Method' } : {}),
        ...(op.metadata === null ? {} : { metadata: { note: op.metadata } }),
        ...(batchId === null ? {} : { batch_id: batchId }),
        ...(key === null ? {} : { idempotency_key: key }),
      };
      if (key !== null) run.keyed.push(op);
      const method = op.method === 'default' ? 'clicks' : op.method;
      const request = JSON.stringify([op.model, op.plugin, method, op.metadata, batchId]);
      const answer = await send('POST', TASK, body);
      const known = key === null ? undefined : run.byKey.get(key);
      if (known) {
        if (known.request === request) expectTask(run, answer, known);
        else assertProblem(answer, 409, 'task_conflict');
        return answer;
      }
      if (op.batch === 'unknown') {
        assertProblem(answer, 404, 'batch_not_found');
        return answer;
      }
      const created = ok<Task>(answer);
      assert.ok(!run.tasks.some((task) => task.expected.id === created.id), `task id ${created.id} given twice`);
      const now = t.clock.now;
      const task: ModelTask = {
        request,
        detailPattern: null,
        expected: {
          id: created.id,
          status: batchId === null ? 'refused' : 'pending',
          created_at: now,
          updated_at: now,
          embedding_model_id: op.model,
          fine_tuning_method: op.plugin ? 'Default Fine Tuning Method' : method,
          batch_id: batchId,
          best_model_url: null,
          best_model_id: null,
          metadata: op.metadata === null ? null : { note: op.metadata },
          idempotency_key: key,
          deploy_as_blue: null,
          wait_on_conflict: null,
          method,
          params: { format: 'sentence-transformers' },
          detail: batchId === null ? REFUSED_DETAIL : null,
          attempts: 0,
          worker_id: null,
          lease_expires_at: null,
          metrics: null,
        },
      };
      run.tasks.push(task);
      if (key !== null) run.byKey.set(key, task);
      run.last = task;
      checkInvariants(created);
      compareTask(created, task);
      return answer;
    }

    /** Runs one operation against the service and the model, and compares the answer with the model. */
    async function step(run: Run, op: Op): Promise<{ answer: Answer | null; did: string }> {
      switch (op.op) {
        case 'create':
          return { answer: await create(run, op), did: 'create' };
        case 'retry': {
          const first = run.keyed[op.of % Math.max(run.keyed.length, 1)];
          if (!first) return { answer: null, did: 'retry (no keyed create yet)' };
          const models = MODELS.filter((model) => model !== first.model);
          const changed: CreateOp =
            op.change === 'model'
              ? { ...first, model: models[op.of % models.length] ?? 'model-a' }
              : op.change === 'method'
                ? { ...first, method: first.method === 'pbm' ? 'clicks' : 'pbm' }
                : op.change === 'metadata'
                  ? { ...first, metadata: first.metadata === null ? 'a' : first.metadata === 'a' ? 'b' : null }
                  : first;
          return { answer: await create(run, changed), did: `retry as ${JSON.stringify(changed)}` };
        }
        case 'claim': {
          const leaseSeconds = op.lease ?? 60;
          const answer = await send(
            'POST',
            `${TASK}/claim`,
            {
              worker_id: op.worker,
              ...(op.lease === null ? {} : { lease_seconds: op.lease }),
              ...(op.methods === null ? {} : { methods: op.methods }),
            },
            WORKER,
          );
          const now = t.clock.now;
          for (const task of run.tasks) {
            const { status, lease_expires_at: end, attempts, worker_id: worker } = task.expected;
            if (status !== 'processing' || end === null || now < end) continue;
            if (attempts >= MAX_ATTEMPTS) {
              const pattern = new RegExp(
                `${escaped(JSON.stringify(worker))} expired on attempt ${attempts} of ${MAX_ATTEMPTS}`,
              );
              update(task, { status: 'failed', worker_id: null, lease_expires_at: null }, pattern);
              count('lease expired: failed');
            } else {
              update(task, { status: 'pending', worker_id: null, lease_expires_at: null });
              count('lease expired: pending');
            }
          }
          const next = run.tasks.find(
            (task) =>
              task.expected.status === 'pending' && (op.methods === null || op.methods.includes(task.expected.method)),
          );
          if (!next) {
            assert.equal(
              answer.statusCode,
              204,
              `a claim answered ${answer.statusCode} with nothing pending: ${answer.body}`,
            );
            assert.equal(answer.body, '');
            return { answer, did: 'claim' };
          }
          update(next, {
            status: 'processing',
            attempts: next.expected.attempts + 1,
            worker_id: op.worker,
            lease_expires_at: now + leaseSeconds,
          });
          expectTask(run, answer, next);
          return { answer, did: `claim of ${next.expected.id}` };
        }
        case 'heartbeat':
        case 'complete':
        case 'fail': {
          const { id: taskId, task } = resolve(run, op.task);
          const worker = workerOf(task, op.worker);
          const n = run.tasks.length;
          const body =
            op.op === 'heartbeat'
              ? { worker_id: worker, ...(op.lease === null ? {} : { lease_seconds: op.lease }) }
              : op.op === 'complete'
                ? {
                    worker_id: worker,
                    ...(op.results
                      ? { best_model_url: `file:///models/${n}`, best_model_id: `m-${n}`, metrics: { recall: n / 10 } }
                      : {}),
                  }
                : { worker_id: worker, detail: `failure ${n}`, ...(op.retry === null ? {} : { retry: op.retry }) };
          const answer = await send('POST', `${TASK}/${taskId}/${op.op}`, body, WORKER);
          const did = `${op.op} of ${taskId} by ${worker}`;
          if (!task) {
            assertProblem(answer, 404, 'task_not_found');
            return { answer, did };
          }
          if (!holds(task, worker)) {
            assertProblem(answer, 409, 'lease_lost');
            return { answer, did };
          }
          const released = { worker_id: null, lease_expires_at: null };
          if (op.op === 'heartbeat') {
            update(task, { lease_expires_at: t.clock.now + (op.lease ?? 60) });
          } else if (op.op === 'complete') {
            update(task, {
              status: 'done',
              ...released,
              detail: null,
              best_model_url: op.results ? `file:///models/${n}` : null,
              best_model_id: op.results ? `m-${n}` : null,
              metrics: op.results ? { recall: n / 10 } : null,
            });
          } else if (op.retry === true && task.expected.attempts < MAX_ATTEMPTS) {
            update(task, { status: 'pending', ...released, detail: `failure ${n}` });
          } else if (op.retry === true) {
            update(task, { status: 'failed', ...released }, new RegExp(`no retry is left.*failure ${n}$`));
          } else {
            update(task, { status: 'failed', ...released, detail: `failure ${n}` });
          }
          expectTask(run, answer, task);
          return { answer, did };
        }
        case 'cancel':
        case 'restart':
        case 'get': {
          const { id: taskId, task } = resolve(run, op.task);
          const answer =
            op.op === 'get' ? await send('GET', `${TASK}/${taskId}`) : await send('PUT', `${TASK}/${taskId}/${op.op}`);
          const did = `${op.op} of ${taskId}${task ? ` (${task.expected.status})` : ''}`;
          if (!task) {
            assertProblem(answer, 404, 'task_not_found');
          } else if (op.op === 'cancel' && FINISHED.includes(task.expected.status)) {
            assertProblem(answer, 409, 'task_finished');
          } else if (op.op === 'restart' && task.expected.status === 'processing') {
            assertProblem(answer, 409, 'task_processing');
          } else if (op.op === 'restart' && task.expected.batch_id === null) {
            // Refused for want of a batch: a rerun would have nothing to train on either.
            assertProblem(answer, 409, 'task_finished');
          } else {
            if (op.op === 'cancel') update(task, { status: 'canceled', worker_id: null, lease_expires_at: null });
            if (op.op === 'restart') {
              update(task, {
                status: 'pending',
                attempts: 0,
                worker_id: null,
                lease_expires_at: null,
                detail: null,
                best_model_url: null,
                best_model_id: null,
                metrics: null,
              });
            }
            expectTask(run, answer, task);
          }
          return { answer, did };
        }
        case 'list': {
          const query = new URLSearchParams();
          if (op.scope === 'batch') query.set('batch_id', run.batchId);
          if (op.status !== null) query.set('status', op.status);
          if (op.model !== null) query.set('embedding_model_id', op.model);
          if (op.page !== null) {
            query.set('offset', String(op.page.offset));
            query.set('limit', String(op.page.limit));
          }
          const answer = await send('GET', `${TASK}?${query.toString()}`);
          const matching = run.tasks.filter(
            ({ expected }) =>
              (op.scope !== 'batch' || expected.batch_id === run.batchId) &&
              (op.status === null || expected.status === op.status) &&
              (op.model === null || expected.embedding_model_id === op.model),
          );
          const wanted = op.page ? matching.slice(op.page.offset, op.page.offset + op.page.limit) : matching;
          const listed = ok<Task[]>(answer);
          assert.deepEqual(
            listed.map((task) => task.id),
            wanted.map((task) => task.expected.id),
            `GET ${TASK}?${query.toString()}`,
          );
          listed.forEach((task, i) => {
            checkInvariants(task);
            const model = wanted[i];
            if (model) compareTask(task, model);
          });
          return { answer, did: `list ?${query.toString()}` };
        }
        case 'expire': {
          const end = run.tasks.find(({ expected }) => expected.status === 'processing')?.expected.lease_expires_at;
          const seconds = end === undefined || end === null ? 0 : Math.max(0, end + op.offset - t.clock.now);
          t.clock.advance(seconds);
          return { answer: null, did: `advance ${seconds} s to ${t.clock.now}` };
        }
        case 'advance':
          t.clock.advance(op.seconds);
          return { answer: null, did: `advance ${op.seconds} s to ${t.clock.now}` };
      }
    }

    async function runSequence(ops: readonly Op[]): Promise<void> {
      const run = await startRun();
      const trace: string[] = [];
      for (const [i, op] of ops.entries()) {
        let outcome: string;
        try {
          const { answer, did } = await step(run, op);
          outcome = `${i}: ${did} -> ${answer ? String(answer.statusCode) : '-'}`;
          const code = answer && answer.statusCode >= 400 ? json<{ code?: string }>(answer).code : undefined;
          const name = `${op.op} ${answer ? String(answer.statusCode) : '-'}${code ? ` ${code}` : ''}`;
          count(name);
          operations++;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(
            `operation ${i} ${JSON.stringify(op)} at t=${t.clock.now} disagrees with the model: ${message}\n` +
              `  the sequence so far:\n    ${trace.join('\n    ')}`,
            { cause: error },
          );
        }
        trace.push(outcome);
      }
      // The whole list: exactly the sequence's tasks, in creation order, each as the model has it.
      const listed = await listPage(`offset=${total}&limit=1000`);
      assert.deepEqual(
        listed.map((task) => task.id),
        run.tasks.map((task) => task.expected.id),
        `the tasks of the sequence in GET ${TASK}\n    ${trace.join('\n    ')}`,
      );
      listed.forEach((task, i) => {
        checkInvariants(task);
        const model = run.tasks[i];
        if (model) compareTask(task, model);
      });
    }

    it(`agrees with the model over ${RUNS} random sequences of up to ${MAX_OPERATIONS} operations`, async () => {
      const started = Date.now();
      console.log(`task model ${backend}: ${RUNS} runs, seed ${SEED} (replay with TASK_MODEL_SEED=${SEED})`);
      await fc.assert(
        fc.asyncProperty(sequence, async (ops) => {
          await runSequence(ops);
        }),
        { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
      );
      const byOutcome = [...tally.entries()]
        .sort()
        .map(([name, count]) => `${name}: ${count}`)
        .join(', ');
      console.log(
        `task model ${backend}: ${operations} operations in ${((Date.now() - started) / 1000).toFixed(1)} s {${byOutcome}}`,
      );
    });
  });
}
