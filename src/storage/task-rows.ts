/**
 * Task rows as both backends read them, and their conversion into tasks: the same columns on SQLite and
 * PostgreSQL; JSON comes as text from SQLite and parsed from PostgreSQL, booleans as 0/1 or true/false.
 */
import type { TaskRequest, TaskStatus } from '../domain/task.js';
import type { TrainingMethod } from '../learning/rows.js';
import type { Task } from '../schemas/tasks.js';
import type { StoredTask } from './task-store.js';

export const TASK_COLUMNS = `id, status, created_at, updated_at, embedding_model_id, fine_tuning_method, batch_id, batch_given, best_model_url,
  best_model_id, metadata, idempotency_key, deploy_as_blue, wait_on_conflict, method, params, detail, attempts,
  worker_id, lease_expires_at, metrics`;

export interface TaskRow {
  id: string;
  status: string;
  created_at: number;
  updated_at: number;
  embedding_model_id: string;
  fine_tuning_method: string | null;
  batch_id: string | null;
  /** Whether the request named the batch (else the service released one for it). */
  batch_given: boolean | number;
  best_model_url: string | null;
  best_model_id: string | null;
  metadata: unknown;
  idempotency_key: string | null;
  deploy_as_blue: boolean | number | null;
  wait_on_conflict: boolean | number | null;
  method: string;
  params: unknown;
  detail: string | null;
  attempts: number;
  worker_id: string | null;
  lease_expires_at: number | null;
  metrics: unknown;
}

type JsonReader = (value: unknown) => unknown;

const flag = (value: boolean | number | null): boolean | null => (value === null ? null : Boolean(value));

export function toTask(row: TaskRow, json: JsonReader): Task {
  return {
    id: row.id,
    status: row.status as TaskStatus,
    created_at: row.created_at,
    updated_at: row.updated_at,
    embedding_model_id: row.embedding_model_id,
    fine_tuning_method: row.fine_tuning_method ?? row.method,
    batch_id: row.batch_id,
    best_model_url: row.best_model_url,
    best_model_id: row.best_model_id,
    metadata: json(row.metadata) as Task['metadata'],
    idempotency_key: row.idempotency_key,
    deploy_as_blue: flag(row.deploy_as_blue),
    wait_on_conflict: flag(row.wait_on_conflict),
    method: row.method as TrainingMethod,
    params: json(row.params) as Task['params'],
    detail: row.detail,
    attempts: row.attempts,
    worker_id: row.worker_id,
    lease_expires_at: row.lease_expires_at,
    metrics: json(row.metrics) as Task['metrics'],
  };
}

/** The task, and the request it was created from: the batch as given (none when one was released for it). */
export function toStoredTask(row: TaskRow, json: JsonReader): StoredTask {
  const task = toTask(row, json);
  const request: TaskRequest = {
    embedding_model_id: task.embedding_model_id,
    fine_tuning_method: row.fine_tuning_method,
    batch_id: row.batch_given ? task.batch_id : null,
    method: task.method,
    params: task.params,
    metadata: task.metadata,
    deploy_as_blue: task.deploy_as_blue,
    wait_on_conflict: task.wait_on_conflict,
  };
  return { task, request };
}

/** The columns a patch writes, in a fixed order, with JSON objects as text (both backends bind text). */
export function patchColumns(patch: Readonly<Record<string, unknown>>): { column: string; value: unknown }[] {
  return PATCH_COLUMNS.filter((column) => patch[column] !== undefined).map((column) => {
    const value = patch[column];
    return { column, value: column === 'metrics' && value !== null ? JSON.stringify(value) : value };
  });
}

const PATCH_COLUMNS = [
  'status',
  'attempts',
  'worker_id',
  'lease_expires_at',
  'detail',
  'best_model_url',
  'best_model_id',
  'metrics',
] as const;
