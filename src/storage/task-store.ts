import type { TaskPatch, TaskRequest } from '../domain/task.js';
import type { Task } from '../schemas/tasks.js';

/** A task to create: what the client asked for, and what the service decided (id, batch, status). */
export interface NewTask {
  readonly id: string;
  readonly idempotency_key: string | null;
  readonly request: TaskRequest;
  /** The batch trained on: the request's, or the one released for it; null for a refused task. */
  readonly batch_id: string | null;
  readonly status: 'pending' | 'refused';
  readonly detail: string | null;
}

/** A stored task with the request it was created from (for the idempotency comparison). */
export interface StoredTask {
  readonly task: Task;
  readonly request: TaskRequest;
}

/** Which tasks to list; every given field must match. */
export interface TaskFilter {
  readonly status?: Task['status'];
  readonly batch_id?: string;
  readonly embedding_model_id?: string;
}

/**
 * The fine-tuning tasks of the storage port (ClickstreamStore.tasks), checked by the conformance suite.
 * Times are integer UTC seconds taken from the caller. Every change is atomic: concurrent calls, also
 * from other processes on the same database, see each other's commits, never half of one.
 */
export interface TaskStore {
  /**
   * Stores a new task, or returns the stored one whose id or idempotency key is the new one's (`created`
   * false, nothing changes); concurrent creates with one key store one task.
   */
  createTask(task: NewTask, now: number): Promise<{ created: boolean } & StoredTask>;

  /** One task, or null. */
  getTask(id: string): Promise<Task | null>;

  /** The task with this id, or created under this idempotency key, with its request; or null. */
  findStoredTask(field: 'id' | 'idempotency_key', value: string): Promise<StoredTask | null>;

  /** Tasks matching `filter` in creation order, from the `offset`-th on. */
  listTasks(filter: TaskFilter, offset: number, limit: number): Promise<Task[]>;

  /**
   * Reads the task, asks `change` (pure; it may throw to refuse) what to write, writes that with
   * `updated_at = now`, and returns the task as stored, all in one transaction that holds the task's row:
   * no other change to it can come between the read and the write. Null when no task has that id; when
   * `change` throws, nothing is written and the error is the rejection.
   */
  updateTask(id: string, now: number, change: (task: Task) => TaskPatch): Promise<Task | null>;

  /**
   * Gives the oldest pending task (of one of `methods`, when given) to `workerId`: `processing`,
   * `attempts` + 1, lease until `now + leaseSeconds`. Null when none is pending. Each pending task goes to
   * exactly one of any number of concurrent claims.
   */
  claimTask(
    workerId: string,
    leaseSeconds: number,
    methods: readonly string[] | null,
    now: number,
  ): Promise<Task | null>;

  /** Ids of the processing tasks whose lease ended at or before `now`, oldest first. */
  expiredLeases(now: number): Promise<string[]>;

  /** Of `batchIds`, those that a worker is fine-tuning from at `now` (a processing task whose lease holds). */
  batchesInTraining(batchIds: readonly string[], now: number): Promise<Set<string>>;
}
