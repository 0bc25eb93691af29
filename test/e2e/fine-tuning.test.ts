/**
 * Fine-tuning runs end to end, with real service and worker processes: the whole loop (a simulated batch,
 * three tasks by three methods, the Node trainer and the Python trainer run by two workers, the batch
 * reading fine_tuning while one runs), and the worker's safety on every backend (a worker killed with
 * SIGKILL loses its lease to another, a canceled task's command is stopped, SIGTERM hands the task back,
 * trainers get no key), then two service replicas on one PostgreSQL database sharing the queue.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sendModel, simulateModel } from '../../bench/simulation/simulation.js';
import { buildWorld, DEFAULT_PARAMETERS } from '../../bench/simulation/world.js';
import type { Task } from '../../src/schemas/tasks.js';
import { createTestDatabase, emptyStorage, testBackends } from '../support/backends.js';
import { id, makeSession, scratchDir } from '../support/factories.js';
import { pythonWithPackages } from '../support/python.js';
import { startService, type ServiceProcess } from '../support/service-process.js';
import { eventually, fileAppears, startWorker, taskWhere, type WorkerProcess } from '../support/worker-process.js';

const TASK = '/api/v1/fine-tuning/task';
const API = '/api/v1/clickstream';
const ADMIN = 'admin-key-0123456789abcdef';
const WORKER_KEY = 'worker-key-0123456789abcdef';

/** JSON over HTTP with a key; rejects on a status that is not 2xx, with the body. */
function client(base: string, key?: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return (text === '' ? null : JSON.parse(text)) as T;
  };
}

describe('the fine-tuning loop: collect, release, tasks, workers, better rankers', () => {
  const { dir, cleanup } = scratchDir();
  let service: ServiceProcess;
  const workers: WorkerProcess[] = [];
  let python = '';

  before(async () => {
    // The Python environment first (about 90 s on a new machine, nothing once made).
    python = await pythonWithPackages(['torch', 'sentence-transformers', 'datasets', 'accelerate']);
    service = await startService(dir, { CLICKSTREAM_LATE_EVENT_GRACE_SECONDS: '0' });
  });
  after(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
    await service.kill();
    cleanup();
  });

  it('runs three methods on one batch through two workers, each task better than the production order', async (t) => {
    const call = client(service.baseUrl);
    const world = buildWorld(DEFAULT_PARAMETERS);
    const batch = await sendModel(service.baseUrl, world, simulateModel(world, 'pbm', 10_000), 32);
    const split = { test_fraction: 0.3, split_by: 'session' };
    const create = (method: string, params: object) =>
      call<Task>('POST', TASK, { embedding_model_id: `model-${method}`, batch_id: batch.batchId, method, params });
    const pbm = await create('pbm', { format: 'judgments', ...split });
    const coec = await create('coec', { format: 'judgments', ...split });
    const clicks = await create('clicks', { format: 'sentence-transformers' });

    const gate = join(dir, 'python-may-start');
    workers.push(
      startWorker(
        dir,
        [
          '--method',
          'pbm,coec',
          '--poll-seconds',
          '1',
          '--exec',
          `node examples/rerank-trainer.mjs --output-dir ${join(dir, 'rerank')}`,
        ],
        {
          CLICKSTREAM_URL: service.baseUrl,
        },
      ),
      startWorker(
        dir,
        [
          '--method',
          'clicks',
          '--poll-seconds',
          '1',
          '--exec',
          // Held until the test has seen the batch read fine_tuning while this task runs. One epoch over
          // the batch's ~18,000 train pairs is enough to show the gain (three took 25 s).
          `while [ ! -e ${gate} ]; do sleep 0.1; done; ${python} examples/train-sentence-transformers.py --epochs 1 --output-dir ${join(dir, 'st')}`,
        ],
        { CLICKSTREAM_URL: service.baseUrl },
      ),
    );
    const getTask = (task: Task) => () => call<Task>('GET', `${TASK}/${task.id}`);
    await taskWhere(getTask(clicks), 'the clicks task to be processing', (task) => task.status === 'processing');
    const during = await call<{ status: string }>('GET', `${API}/internal/batch?batch_id=${batch.batchId}`);
    assert.equal(during.status, 'fine_tuning');
    writeFileSync(gate, '');

    const finished = (task: Task) =>
      taskWhere(
        getTask(task),
        `task ${task.method} to finish`,
        (t) => t.status !== 'pending' && t.status !== 'processing',
        240_000,
      );
    const [pbmDone, coecDone, clicksDone] = await Promise.all([finished(pbm), finished(coec), finished(clicks)]);
    const explain = () => workers.map((worker) => worker.stderr()).join('\n---\n');
    for (const task of [pbmDone, coecDone, clicksDone])
      assert.equal(task.status, 'done', `${task.method}: ${task.detail}\n${explain()}`);
    const after = await call<{ status: string }>('GET', `${API}/internal/batch?batch_id=${batch.batchId}`);
    assert.equal(after.status, 'sealed');

    for (const task of [pbmDone, coecDone, clicksDone]) t.diagnostic(`${task.method}: ${JSON.stringify(task.metrics)}`);
    const metric = (task: Task, name: string): number => {
      const value = task.metrics?.[name];
      assert.equal(typeof value, 'number', `${task.method} metrics ${JSON.stringify(task.metrics)}`);
      return value as number;
    };
    assert.ok(
      metric(pbmDone, 'ndcg_at_10_reranked') > metric(pbmDone, 'ndcg_at_10_original'),
      `pbm ${JSON.stringify(pbmDone.metrics)}`,
    );
    assert.ok(metric(coecDone, 'queries_evaluated') > 0);
    assert.ok(
      metric(clicksDone, 'recall_at_10_after') > metric(clicksDone, 'recall_at_10_before'),
      `clicks ${JSON.stringify(clicksDone.metrics)}`,
    );
    assert.match(pbmDone.best_model_url ?? '', /^file:\/\/.*rerank-table\.json$/);
    assert.ok(clicksDone.best_model_url?.startsWith('file://'));
    // The lineage: every run of the batch, by method and model.
    const lineage = await call<Task[]>('GET', `${TASK}?batch_id=${batch.batchId}`);
    assert.deepEqual(
      lineage.map((task) => task.method),
      ['pbm', 'coec', 'clicks'],
    );
  });
});

for (const backend of testBackends()) {
  describe(`fine-tuning workers are safe [${backend}]`, () => {
    const { dir, cleanup } = scratchDir();
    let service: ServiceProcess;
    let dropStorage: () => Promise<void> = () => Promise.resolve();
    const workers: WorkerProcess[] = [];
    const admin = () => client(service.baseUrl, ADMIN);
    const workerEnv = () => ({ CLICKSTREAM_URL: service.baseUrl, CLICKSTREAM_WORKER_KEY: WORKER_KEY });
    let batchId = '';

    before(async () => {
      const storage = await emptyStorage(backend, dir);
      dropStorage = storage.drop;
      service = await startService(dir, {
        CLICKSTREAM_DATABASE_URL: storage.url,
        CLICKSTREAM_ADMIN_KEY: ADMIN,
        CLICKSTREAM_WORKER_KEYS: WORKER_KEY,
        CLICKSTREAM_TASK_SWEEP_SECONDS: '1',
      });
      for (let i = 0; i < 4; i++) await admin()('POST', `${API}/session`, makeSession());
      batchId = (await admin()<{ batch_id: string }>('POST', `${API}/internal/batch/release`, { release_id: id('r') }))
        .batch_id;
    });
    after(async () => {
      await Promise.all(workers.map((worker) => worker.kill()));
      await service.kill();
      await dropStorage();
      cleanup();
    });

    const newTask = () => admin()<Task>('POST', TASK, { embedding_model_id: 'm', batch_id: batchId });
    const getTask = (task: Task) => () => admin()<Task>('GET', `${TASK}/${task.id}`);
    const worker = (args: readonly string[]) => {
      const started = startWorker(dir, ['--poll-seconds', '1', ...args], workerEnv());
      workers.push(started);
      return started;
    };
    /** A trainer that records its pid and environment, then runs until it is stopped. */
    const waiting = (name: string) =>
      `echo $$ > ${join(dir, `${name}.pid`)}; env > ${join(dir, `${name}.env`)}; ` +
      `trap 'echo stopped > ${join(dir, `${name}.stopped`)}; exit 143' TERM; while true; do sleep 0.1; done`;

    it('gives the task of a worker killed with SIGKILL to another worker, which finishes it', async () => {
      const task = await newTask();
      const first = worker(['--lease-seconds', '5', '--worker-id', 'first', '--exec', waiting('killed')]);
      await taskWhere(getTask(task), 'the first claim', (t) => t.worker_id === 'first');
      await fileAppears(join(dir, 'killed.pid'));
      await first.kill();
      // The killed worker's trainer is an orphan now; it is not part of what the test checks.
      process.kill(Number(readFileSync(join(dir, 'killed.pid'), 'utf8')), 'SIGKILL');
      // Its lease runs out (5 s) without a heartbeat; the service's sweep hands the task back.
      await taskWhere(getTask(task), 'the expired lease to be handed back', (t) => t.status === 'pending', 20_000);

      const second = worker([
        '--once',
        '--worker-id',
        'second',
        '--exec',
        `printf '{"metrics":{"finished_by":"second"}}' > "$CLICKSTREAM_RESULT_FILE"`,
      ]);
      const exit = await second.exited;
      assert.equal(exit.code, 0, second.stderr());
      const done = await getTask(task)();
      assert.equal(done.status, 'done');
      assert.equal(done.attempts, 2);
      assert.deepEqual(done.metrics, { finished_by: 'second' });
      // The first worker's lease is gone: its completion is refused and changes nothing.
      const late = await fetch(`${service.baseUrl}${TASK}/${task.id}/complete`, {
        method: 'POST',
        headers: { authorization: `Bearer ${WORKER_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ worker_id: 'first', metrics: { finished_by: 'first' } }),
      });
      assert.equal(late.status, 409);
      assert.equal(((await late.json()) as { code: string }).code, 'lease_lost');
      assert.deepEqual(await getTask(task)(), done);
    });

    it("stops a canceled task's command, and gives no trainer a key", async () => {
      const task = await newTask();
      const running = worker(['--lease-seconds', '6', '--kill-grace-seconds', '2', '--exec', waiting('canceled')]);
      await taskWhere(getTask(task), 'the claim', (t) => t.status === 'processing');
      await fileAppears(join(dir, 'canceled.pid'));
      await admin()('PUT', `${TASK}/${task.id}/cancel`);
      // The next heartbeat (every 2 s) learns it, and the command is sent SIGTERM.
      await fileAppears(join(dir, 'canceled.stopped'), 20_000);
      const pid = Number(readFileSync(join(dir, 'canceled.pid'), 'utf8'));
      await eventually('the command to exit', () => {
        try {
          process.kill(pid, 0);
          return Promise.resolve(undefined);
        } catch {
          return Promise.resolve(true);
        }
      });
      assert.equal((await getTask(task)()).status, 'canceled');
      const env = readFileSync(join(dir, 'canceled.env'), 'utf8');
      assert.match(env, new RegExp(`^CLICKSTREAM_TASK_ID=${task.id}$`, 'm'));
      assert.match(env, /^CLICKSTREAM_TRAINING_DATA=.+\.jsonl$/m);
      assert.match(env, /^CLICKSTREAM_RESULT_FILE=/m);
      assert.match(env, /^CLICKSTREAM_TASK_JSON=\{/m);
      assert.doesNotMatch(env, /^CLICKSTREAM_[A-Z_]*KEY/m);
      assert.ok(!env.includes(WORKER_KEY));
      // It stays up for the next task; the next case needs the queue to itself.
      await running.kill();
    });

    it('hands its task back when the worker gets SIGTERM, then exits', async () => {
      const task = await newTask();
      const stopped = worker(['--worker-id', 'terminated', '--exec', waiting('terminated')]);
      await taskWhere(getTask(task), 'the claim', (t) => t.worker_id === 'terminated');
      await fileAppears(join(dir, 'terminated.pid'));
      stopped.child.kill('SIGTERM');
      const exit = await stopped.exited;
      assert.equal(exit.code, 0, stopped.stderr());
      const back = await getTask(task)();
      assert.equal(back.status, 'pending');
      assert.match(back.detail ?? '', /SIGTERM/);
      await admin()('PUT', `${TASK}/${task.id}/cancel`);
    });
  });
}

// PostgreSQL only: the one backend that several service processes share.
if (testBackends().includes('postgres')) {
  describe('two service replicas on one PostgreSQL database share one task queue', () => {
    const { dir, cleanup } = scratchDir();
    const replicas: ServiceProcess[] = [];
    let drop: () => Promise<void> = () => Promise.resolve();

    before(async () => {
      const database = await createTestDatabase();
      drop = database.drop;
      for (let i = 0; i < 2; i++) {
        replicas.push(
          await startService(dir, { CLICKSTREAM_DATABASE_URL: database.url, CLICKSTREAM_TASK_SWEEP_SECONDS: '0' }),
        );
      }
    });
    after(async () => {
      await Promise.all(replicas.map((replica) => replica.kill()));
      await drop();
      cleanup();
    });

    it('gives each of 5 tasks to exactly one of 20 claims spread over both, and hands expired leases back', async () => {
      const [a, b] = replicas.map((replica) => client(replica.baseUrl));
      assert.ok(a && b);
      for (let i = 0; i < 3; i++) await a('POST', `${API}/session`, makeSession());
      const { batch_id: batchId } = await b<{ batch_id: string }>('POST', `${API}/internal/batch/release`, {
        release_id: id('r'),
      });
      const created = new Set<string>();
      for (let i = 0; i < 5; i++) {
        created.add((await (i % 2 ? a : b)<Task>('POST', TASK, { embedding_model_id: 'm', batch_id: batchId })).id);
      }
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? a : b)<Task | null>('POST', `${TASK}/claim`, { worker_id: `w${i}`, lease_seconds: 5 }),
        ),
      );
      const won = claims.filter((task) => task !== null);
      assert.equal(won.length, 5);
      assert.deepEqual(new Set(won.map((task) => task.id)), created);
      assert.equal(new Set(won.map((task) => task.worker_id)).size, 5);
      // Leases taken through one replica expire and are handed back by a claim through the other.
      const again = await eventually(
        'a claim after the leases expired',
        () =>
          b<Task | null>('POST', `${TASK}/claim`, { worker_id: 'late', lease_seconds: 60 }).then(
            (task) => task ?? undefined,
          ),
        20_000,
      );
      assert.ok(created.has(again.id));
      assert.equal(again.attempts, 2);
    });
  });
}
