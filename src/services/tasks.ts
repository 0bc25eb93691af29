/**
 * Fine-tuning tasks: EmbeddingStudio's task use-cases (create, list, show, restart, cancel) and the
 * worker's (claim, heartbeat, training data, complete, fail) over the store's atomic task changes. The
 * rules of each change are the domain's (domain/task.ts); this file reads requests into them.
 */
import { randomBytes } from 'node:crypto';
import { ClickstreamError, validationFailed, type FieldError } from '../domain/errors.js';
import { serializedBytes } from '../domain/json.js';
import type { Limits } from '../domain/limits.js';
import {
  afterLease,
  cancel,
  failedAttempt,
  isSameTaskRequest,
  keptDetail,
  leaseProblem,
  NO_RESULTS,
  restart,
  type TaskPatch,
  type TaskRequest,
  type Transition,
} from '../domain/task.js';
import type { Clock } from '../domain/time.js';
import type { CompleteBody, CreateTaskBody, Task, TaskListQuery } from '../schemas/tasks.js';
import type { ClickstreamStore } from '../storage/store.js';
import type { StoredTask } from '../storage/task-store.js';
import type { BatchService } from './batches.js';
import { trainingRequest, type TrainingRequest } from './training-options.js';
import type { TrainingService } from './training.js';

export interface TaskRules {
  readonly limits: Limits;
  /** Claims of a task before an expired lease or a retried failure makes it `failed`. */
  readonly maxAttempts: number;
}

/** A task's training data is sentence-transformers pairs unless its params name another format. */
export const DEFAULT_TASK_FORMAT = 'sentence-transformers';
export const DEFAULT_TASK_METHOD = 'clicks';

/** The training-data options a task's params may hold (the route's query parameters but the batch). */
const PARAM_NAMES = [
  'format',
  'max_position',
  'query_field',
  'document_field',
  'event_weights',
  'test_fraction',
  'split_by',
  'min_rating',
];

/** A task id: 24 hex digits, seconds then random bytes, like batch ids (and EmbeddingStudio's ObjectIds). */
function newTaskId(now: number): string {
  return now.toString(16).padStart(8, '0').slice(-8) + randomBytes(8).toString('hex');
}

export class TaskService {
  constructor(
    private readonly store: ClickstreamStore,
    private readonly batches: BatchService,
    private readonly training: TrainingService,
    private readonly rules: TaskRules,
    private readonly clock: Clock,
  ) {}

  /**
   * Creates a task, or answers a retry: a known id or idempotency key with the same request returns its
   * task, with another request it is `task_conflict`. Without a batch the collecting batch is released
   * for the task under its key (or its id); when that batch is empty the task is stored `refused`.
   */
  async create(body: CreateTaskBody): Promise<Task> {
    const request = this.requestOf(body);
    const givenId = body.id ?? null;
    const key = body.idempotency_key ?? null;
    // Before anything is released for it: a retry must not release the batch collected since.
    const known =
      key !== null
        ? await this.store.tasks.findStoredTask('idempotency_key', key)
        : givenId !== null
          ? await this.store.tasks.findStoredTask('id', givenId)
          : null;
    if (known) return sameOrConflict(known, request, givenId, key);
    const id = givenId ?? newTaskId(this.clock());
    const batch = await this.batchFor(request, key ?? id);
    const outcome = await this.store.tasks.createTask({ id, idempotency_key: key, request, ...batch }, this.clock());
    return outcome.created ? outcome.task : sameOrConflict(outcome, request, givenId, key);
  }

  async get(id: string): Promise<Task> {
    return (await this.store.tasks.getTask(id)) ?? notFound(id);
  }

  list(query: TaskListQuery): Promise<Task[]> {
    const { offset = 0, limit = 100, ...filter } = query;
    return this.store.tasks.listTasks(filter, offset, limit);
  }

  /**
   * Back to pending with no attempt made and no result, unless a worker holds it, or it was refused for
   * want of a batch (a rerun would have nothing to train on: create a new task once sessions came in).
   */
  restart(id: string): Promise<Task> {
    return this.change(id, (task) => {
      if (task.batch_id === null) {
        throw new ClickstreamError(
          'task_finished',
          `task ${JSON.stringify(task.id)} was refused without a batch: nothing to train on; create a new task`,
        );
      }
      return { ...allowed(restart(task), task), ...NO_RESULTS };
    });
  }

  /** Stops a pending or processing task; its worker learns it at its next heartbeat (409 lease_lost). */
  cancel(id: string): Promise<Task> {
    return this.change(id, (task) => allowed(cancel(task), task));
  }

  /** The oldest pending task for `workerId`, after expired leases are handed back; null when none. */
  async claim(workerId: string, leaseSeconds: number, methods: readonly string[] | null): Promise<Task | null> {
    await this.sweep();
    return this.store.tasks.claimTask(workerId, leaseSeconds, methods, this.clock());
  }

  heartbeat(id: string, workerId: string, leaseSeconds: number): Promise<Task> {
    const now = this.clock();
    return this.change(id, (task) => {
      holder(task, workerId, now);
      return { lease_expires_at: now + leaseSeconds };
    });
  }

  complete(id: string, body: CompleteBody): Promise<Task> {
    const problems = objectSize(body.metrics ?? null, 'metrics', this.rules.limits.maxSearchMetaBytes);
    if (problems.length > 0) throw validationFailed(problems);
    const now = this.clock();
    return this.change(id, (task) => {
      holder(task, body.worker_id, now);
      return {
        status: 'done',
        worker_id: null,
        lease_expires_at: null,
        detail: null,
        best_model_url: body.best_model_url ?? null,
        best_model_id: body.best_model_id ?? null,
        metrics: body.metrics ?? null,
      };
    });
  }

  fail(id: string, workerId: string, detail: string, retry: boolean): Promise<Task> {
    const now = this.clock();
    return this.change(id, (task) => {
      holder(task, workerId, now);
      return failedAttempt(task, detail, retry, this.rules.maxAttempts);
    });
  }

  /** What the lease holder of a task downloads: its batch, format and options. */
  async trainingData(id: string, workerId: string): Promise<{ batchId: string } & TrainingRequest> {
    const task = await this.get(id);
    holder(task, workerId, this.clock());
    if (task.batch_id === null) throw new Error(`task ${id} is processing without a batch`);
    return { batchId: task.batch_id, ...taskTraining(task.method, task.params) };
  }

  /**
   * Hands back every task whose lease ended (to pending, or failed when its attempts are used up). Each is
   * one atomic change that looks at the task again, so that sweeps of several replicas, or a heartbeat
   * that came in meanwhile, never undo each other. Returns the tasks changed.
   */
  async sweep(): Promise<number> {
    const now = this.clock();
    let changed = 0;
    for (const id of await this.store.tasks.expiredLeases(now)) {
      await this.store.tasks.updateTask(id, now, (task) => {
        const next = afterLease(task, now, this.rules.maxAttempts);
        if (next !== task) changed++;
        return next === task ? {} : next;
      });
    }
    return changed;
  }

  private async change(id: string, patch: (task: Task) => TaskPatch): Promise<Task> {
    return (await this.store.tasks.updateTask(id, this.clock(), patch)) ?? notFound(id);
  }

  /** The request as stored and compared: defaults filled in, params checked as training-data options. */
  private requestOf(body: CreateTaskBody): TaskRequest {
    const method = body.method ?? DEFAULT_TASK_METHOD;
    const params = { format: DEFAULT_TASK_FORMAT, ...(body.params ?? {}) };
    const metadata = body.metadata ?? null;
    const problems = [
      ...paramProblems(params),
      ...objectSize(metadata, 'metadata', this.rules.limits.maxSearchMetaBytes),
    ];
    if (problems.length > 0) throw validationFailed(problems);
    taskTraining(method, params);
    return {
      embedding_model_id: body.embedding_model_id,
      fine_tuning_method: body.fine_tuning_method ?? null,
      batch_id: body.batch_id ?? null,
      method,
      params,
      metadata,
      deploy_as_blue: body.deploy_as_blue ?? null,
      wait_on_conflict: body.wait_on_conflict ?? null,
    };
  }

  private async batchFor(
    request: TaskRequest,
    releaseId: string,
  ): Promise<{ batch_id: string | null; status: 'pending' | 'refused'; detail: string | null }> {
    if (request.batch_id !== null) {
      await this.training.releasedBatch(request.batch_id);
      return { batch_id: request.batch_id, status: 'pending', detail: null };
    }
    try {
      const released = await this.batches.release(releaseId);
      return { batch_id: released.batch_id, status: 'pending', detail: null };
    } catch (error) {
      if (!(error instanceof ClickstreamError) || error.code !== 'no_sessions_to_release') throw error;
      return {
        batch_id: null,
        status: 'refused',
        detail: keptDetail(`no batch_id was given and the collecting batch holds no session: nothing to train on`),
      };
    }
  }
}

/** A task's params and method as the training-data code reads them, problems named `params.<name>`. */
function taskTraining(method: string, params: Readonly<Record<string, unknown>>): TrainingRequest {
  const raw: Record<string, string> = { method };
  for (const [name, value] of Object.entries(params)) raw[name] = String(value);
  return trainingRequest(raw, (snake) => (snake === 'method' ? 'method' : `params.${snake}`), DEFAULT_TASK_FORMAT);
}

function paramProblems(params: Readonly<Record<string, unknown>>): FieldError[] {
  return Object.entries(params).flatMap(([name, value]): FieldError[] => {
    const path = `params.${name}`;
    if (!PARAM_NAMES.includes(name)) {
      return [{ path, message: `is not a training-data option; the options are ${PARAM_NAMES.join(', ')}` }];
    }
    const plain = typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
    return plain ? [] : [{ path, message: 'must be a string or a number' }];
  });
}

function objectSize(value: unknown, path: string, maxBytes: number): FieldError[] {
  if (value === null) return [];
  const bytes = serializedBytes(value);
  return bytes <= maxBytes
    ? []
    : [{ path, message: `is ${bytes} bytes serialized; at most ${maxBytes} (CLICKSTREAM_MAX_SEARCH_META_BYTES)` }];
}

function sameOrConflict(stored: StoredTask, request: TaskRequest, givenId: string | null, key: string | null): Task {
  const { task } = stored;
  const same =
    isSameTaskRequest(stored.request, request) &&
    (givenId === null || task.id === givenId) &&
    (key === null || task.idempotency_key === key);
  if (same) return task;
  const by = key !== null ? `idempotency_key ${JSON.stringify(key)}` : `id ${JSON.stringify(givenId)}`;
  throw new ClickstreamError(
    'task_conflict',
    `task ${JSON.stringify(task.id)} was created under ${by} with a different request; two different runs must never share a key`,
  );
}

function holder(task: Task, workerId: string, now: number): void {
  const problem = leaseProblem(task, workerId, now);
  if (problem !== null) throw new ClickstreamError('lease_lost', problem);
}

function allowed(transition: Transition, task: Task): TaskPatch {
  if (transition.ok) return transition.state;
  const detail =
    transition.code === 'task_processing'
      ? `task ${JSON.stringify(task.id)} is processing: cancel it first, or wait until its worker ends`
      : `task ${JSON.stringify(task.id)} is ${task.status}: only a restart runs it again`;
  throw new ClickstreamError(transition.code, detail);
}

function notFound(id: string): never {
  throw new ClickstreamError('task_not_found', `task ${JSON.stringify(id)} does not exist`);
}
