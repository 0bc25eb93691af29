/** The SQLite store's fine-tuning tasks (TaskStore). Each change is one IMMEDIATE transaction. */
import type Database from 'better-sqlite3';
import { claimed, type TaskPatch } from '../../domain/task.js';
import type { Task } from '../../schemas/tasks.js';
import { patchColumns, TASK_COLUMNS, toStoredTask, toTask, type TaskRow } from '../task-rows.js';
import type { NewTask, StoredTask, TaskFilter, TaskStore } from '../task-store.js';
import { settle } from './errors.js';

const json = (value: unknown): unknown => (value === null ? null : JSON.parse(value as string));
const text = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));
const bit = (value: boolean | null): number | null => (value === null ? null : Number(value));

export class SqliteTasks implements TaskStore {
  private readonly byId: Database.Statement<[string], TaskRow>;
  private readonly byKey: Database.Statement<[string], TaskRow>;
  private readonly insert: Database.Statement<Record<string, unknown>>;
  private readonly pending: Database.Statement<[{ methods: string | null }], { id: string }>;
  private readonly expired: Database.Statement<[number], { id: string }>;
  private readonly training: Database.Statement<[string, number], { batch_id: string }>;

  constructor(private readonly db: Database.Database) {
    this.byId = db.prepare<[string], TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`);
    this.byKey = db.prepare<[string], TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE idempotency_key = ?`);
    this.insert = db.prepare<
      Record<string, unknown>
    >(`INSERT INTO tasks (id, idempotency_key, status, created_at, updated_at,
        embedding_model_id, fine_tuning_method, batch_id, batch_given, metadata, deploy_as_blue, wait_on_conflict, method, params, detail)
      VALUES (@id, @idempotency_key, @status, @now, @now, @embedding_model_id, @fine_tuning_method, @batch_id, @batch_given, @metadata,
        @deploy_as_blue, @wait_on_conflict, @method, @params, @detail)
      ON CONFLICT DO NOTHING`);
    this.pending = db.prepare<[{ methods: string | null }], { id: string }>(`SELECT id FROM tasks
      WHERE status = 'pending' AND (@methods IS NULL OR method IN (SELECT value FROM json_each(@methods)))
      ORDER BY seq LIMIT 1`);
    this.expired = db.prepare<[number], { id: string }>(
      `SELECT id FROM tasks WHERE status = 'processing' AND lease_expires_at <= ? ORDER BY seq`,
    );
    this.training = db.prepare<[string, number], { batch_id: string }>(`SELECT DISTINCT batch_id FROM tasks
      WHERE batch_id IN (SELECT value FROM json_each(?)) AND status = 'processing' AND lease_expires_at > ?`);
  }

  createTask(task: NewTask, now: number): Promise<{ created: boolean } & StoredTask> {
    return settle(() =>
      this.db
        .transaction(() => {
          const { request } = task;
          const { changes } = this.insert.run({
            id: task.id,
            idempotency_key: task.idempotency_key,
            status: task.status,
            now,
            embedding_model_id: request.embedding_model_id,
            fine_tuning_method: request.fine_tuning_method,
            batch_id: task.batch_id,
            batch_given: Number(request.batch_id !== null),
            metadata: text(request.metadata),
            deploy_as_blue: bit(request.deploy_as_blue),
            wait_on_conflict: bit(request.wait_on_conflict),
            method: request.method,
            params: JSON.stringify(request.params),
            detail: task.detail,
          });
          const row =
            (changes === 0 && task.idempotency_key !== null ? this.byKey.get(task.idempotency_key) : undefined) ??
            this.byId.get(task.id);
          if (!row) throw new Error(`task ${task.id} was neither stored nor found`);
          return { created: changes > 0, ...toStoredTask(row, json) };
        })
        .immediate(),
    );
  }

  getTask(id: string): Promise<Task | null> {
    return settle(() => {
      const row = this.byId.get(id);
      return row ? toTask(row, json) : null;
    });
  }

  findStoredTask(field: 'id' | 'idempotency_key', value: string): Promise<StoredTask | null> {
    return settle(() => {
      const row = (field === 'id' ? this.byId : this.byKey).get(value);
      return row ? toStoredTask(row, json) : null;
    });
  }

  listTasks(filter: TaskFilter, offset: number, limit: number): Promise<Task[]> {
    return settle(() =>
      this.db
        .prepare<Record<string, unknown>, TaskRow>(
          `SELECT ${TASK_COLUMNS} FROM tasks
           WHERE (@status IS NULL OR status = @status) AND (@batch IS NULL OR batch_id = @batch)
             AND (@model IS NULL OR embedding_model_id = @model)
           ORDER BY seq LIMIT @limit OFFSET @offset`,
        )
        .all({
          status: filter.status ?? null,
          batch: filter.batch_id ?? null,
          model: filter.embedding_model_id ?? null,
          limit,
          offset,
        })
        .map((row) => toTask(row, json)),
    );
  }

  updateTask(id: string, now: number, change: (task: Task) => TaskPatch): Promise<Task | null> {
    return settle(() => this.db.transaction(() => this.apply(id, now, change)).immediate());
  }

  claimTask(
    workerId: string,
    leaseSeconds: number,
    methods: readonly string[] | null,
    now: number,
  ): Promise<Task | null> {
    return settle(() =>
      this.db
        .transaction(() => {
          const next = this.pending.get({ methods: methods === null ? null : JSON.stringify(methods) });
          if (!next) return null;
          return this.apply(next.id, now, (task) => claimed(task, workerId, now, leaseSeconds));
        })
        .immediate(),
    );
  }

  expiredLeases(now: number): Promise<string[]> {
    return settle(() => this.expired.all(now).map((row) => row.id));
  }

  batchesInTraining(batchIds: readonly string[], now: number): Promise<Set<string>> {
    return settle(() => new Set(this.training.all(JSON.stringify(batchIds), now).map((row) => row.batch_id)));
  }

  /** Inside a transaction: the read, the change and its write. */
  private apply(id: string, now: number, change: (task: Task) => TaskPatch): Task | null {
    const row = this.byId.get(id);
    if (!row) return null;
    const columns = patchColumns(change(toTask(row, json)));
    const assignments = columns.map(({ column }) => `${column} = ?`).join(', ');
    const updated = this.db
      .prepare<unknown[], TaskRow>(
        `UPDATE tasks SET ${assignments}${assignments ? ', ' : ''}updated_at = ? WHERE id = ? RETURNING ${TASK_COLUMNS}`,
      )
      .get(...columns.map(({ value }) => value), now, id);
    if (!updated) throw new Error(`task ${id} vanished inside its transaction`);
    return toTask(updated, json);
  }
}
