/**
 * Fine-tuning tasks, as pure rules (issue 17 builds the store, the routes and the worker on them): the
 * statuses of EmbeddingStudio's task API, what a restart, a cancel or an expired lease does to a task, and
 * when a repeated idempotency key names the same request. No I/O, no storage types.
 */
import type { Task } from '../schemas/tasks.js';
import { sameJson } from './json.js';

/** EmbeddingStudio's task statuses. */
export const TASK_STATUSES = ['pending', 'processing', 'done', 'canceled', 'failed', 'refused'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses a task never leaves but by a restart. */
export const FINISHED_STATUSES: readonly TaskStatus[] = ['done', 'failed', 'refused'];

/** Longest `detail` kept (why a task failed or was refused); a longer one is cut, with an ellipsis. */
export const MAX_DETAIL_LENGTH = 1500;

/** What a client asks for when it creates a task; the idempotency key names exactly one such request. */
export interface TaskRequest {
  readonly embedding_model_id: string;
  /** EmbeddingStudio's plugin name, as given. */
  readonly fine_tuning_method: string | null;
  readonly batch_id: string | null;
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>> | null;
  readonly deploy_as_blue: boolean | null;
  readonly wait_on_conflict: boolean | null;
}

/** The part of a task that its status transitions change. */
export interface TaskState {
  readonly status: TaskStatus;
  readonly attempts: number;
  readonly worker_id: string | null;
  readonly lease_expires_at: number | null;
  readonly detail: string | null;
}

/** A transition's outcome: the new state, or why the task refuses it (an error code of the task API). */
export type Transition =
  | { readonly ok: true; readonly state: TaskState }
  | { readonly ok: false; readonly code: 'task_processing' | 'task_finished' };

const GRAPHEMES = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** `detail` as kept: at most MAX_DETAIL_LENGTH characters, cut between characters as a reader sees them. */
export function keptDetail(detail: string | null): string | null {
  if (detail === null || detail.length <= MAX_DETAIL_LENGTH) return detail;
  const characters = Array.from(GRAPHEMES.segment(detail), (part) => part.segment);
  if (characters.length <= MAX_DETAIL_LENGTH) return detail;
  return `${characters.slice(0, MAX_DETAIL_LENGTH - 1).join('')}…`;
}

/** Restart: back to `pending` with no attempt made, unless a worker holds it (`task_processing`). */
export function restart(state: TaskState): Transition {
  if (state.status === 'processing') return { ok: false, code: 'task_processing' };
  return { ok: true, state: { status: 'pending', attempts: 0, worker_id: null, lease_expires_at: null, detail: null } };
}

/**
 * Cancel: a pending or processing task stops (its worker learns it at its next heartbeat); a canceled
 * one stays so; a finished one refuses (`task_finished`).
 */
export function cancel(state: TaskState): Transition {
  if (FINISHED_STATUSES.includes(state.status)) return { ok: false, code: 'task_finished' };
  return { ok: true, state: { ...state, status: 'canceled', worker_id: null, lease_expires_at: null } };
}

/**
 * A lease that ran out without a heartbeat: the task goes back to `pending` for another worker, or to
 * `failed` once it has been tried `maxAttempts` times. Unchanged while the lease holds (or none is held).
 */
export function afterLease(state: TaskState, now: number, maxAttempts: number): TaskState {
  if (state.status !== 'processing' || state.lease_expires_at === null || now < state.lease_expires_at) return state;
  const released = { ...state, worker_id: null, lease_expires_at: null };
  if (state.attempts >= maxAttempts) {
    return {
      ...released,
      status: 'failed',
      detail: keptDetail(
        `the lease of worker ${JSON.stringify(state.worker_id)} expired on attempt ${state.attempts} of ${maxAttempts}: no attempt is left`,
      ),
    };
  }
  return { ...released, status: 'pending' };
}

/** What a change writes to a task; the fields it leaves out keep their values. */
export type TaskPatch = Partial<
  Pick<
    Task,
    'status' | 'attempts' | 'worker_id' | 'lease_expires_at' | 'detail' | 'best_model_url' | 'best_model_id' | 'metrics'
  >
>;

/** A restart runs the task anew: what an earlier run reported goes with it. */
export const NO_RESULTS: TaskPatch = { best_model_url: null, best_model_id: null, metrics: null };

/**
 * Why `workerId` does not hold the lease of `task` at `now` (the answer of a 409 `lease_lost`), or null
 * when it does. A lease past its end is lost even before a sweep hands the task to another worker.
 */
export function leaseProblem(task: TaskState & { readonly id: string }, workerId: string, now: number): string | null {
  const name = `task ${JSON.stringify(task.id)}`;
  if (task.status === 'canceled') return `${name} was canceled: stop working on it`;
  if (task.status !== 'processing') return `${name} is ${task.status}: no worker holds its lease`;
  if (task.worker_id !== workerId)
    return `the lease of ${name} is held by another worker, not ${JSON.stringify(workerId)}`;
  if (task.lease_expires_at === null || now >= task.lease_expires_at) {
    return `the lease of ${name} ended at ${String(task.lease_expires_at)} (now ${now}) without a heartbeat`;
  }
  return null;
}

/** A claim: the task is processing under `workerId`'s lease until `now + leaseSeconds`, one attempt more. */
export function claimed(state: TaskState, workerId: string, now: number, leaseSeconds: number): TaskState {
  return {
    ...state,
    status: 'processing',
    attempts: state.attempts + 1,
    worker_id: workerId,
    lease_expires_at: now + leaseSeconds,
  };
}

/**
 * A worker gives up a task: with `retry` it goes back to `pending` for another attempt, unless its
 * `maxAttempts` are used up; else (or then) it is `failed` with the worker's detail.
 */
export function failedAttempt(state: TaskState, detail: string, retry: boolean, maxAttempts: number): TaskState {
  const released = { ...state, worker_id: null, lease_expires_at: null };
  if (retry && state.attempts < maxAttempts) return { ...released, status: 'pending', detail: keptDetail(detail) };
  const prefix = retry ? `attempt ${state.attempts} of ${maxAttempts} was the last, no retry is left: ` : '';
  return { ...released, status: 'failed', detail: keptDetail(`${prefix}${detail}`) };
}

/** Whether two create requests are the same (a retry), field by field, objects compared by content. */
export function isSameTaskRequest(a: TaskRequest, b: TaskRequest): boolean {
  return (
    a.embedding_model_id === b.embedding_model_id &&
    a.fine_tuning_method === b.fine_tuning_method &&
    a.batch_id === b.batch_id &&
    a.method === b.method &&
    a.deploy_as_blue === b.deploy_as_blue &&
    a.wait_on_conflict === b.wait_on_conflict &&
    sameJson(a.params, b.params) &&
    sameJson(a.metadata, b.metadata)
  );
}
