/**
 * The PostgreSQL store's fine-tuning tasks (TaskStore). A change reads its task FOR UPDATE, so changes
 * of one task from any replica run one after the other; a claim skips rows another claim holds (SKIP
 * LOCKED), so concurrent claims take different tasks instead of waiting for each other.
 */
import type pg from 'pg';
import { claimed, type TaskPatch } from '../../domain/task.js';
import type { Task } from '../../schemas/tasks.js';
import { patchColumns, TASK_COLUMNS, toStoredTask, toTask, type TaskRow } from '../task-rows.js';
import type { NewTask, StoredTask, TaskFilter, TaskStore } from '../task-store.js';
import type { PgConnection } from './connection.js';

const asIs = (value: unknown): unknown => value;
const text = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));

export class PostgresTasks implements TaskStore {
  constructor(private readonly db: PgConnection) {}

  createTask(task: NewTask, now: number): Promise<{ created: boolean } & StoredTask> {
    const { request } = task;
    return this.db.transaction(async (client) => {
      const inserted = await client.query<TaskRow>(
        `INSERT INTO tasks (id, idempotency_key, status, created_at, updated_at, embedding_model_id, batch_id,
           batch_given, metadata, deploy_as_blue, wait_on_conflict, method, params, detail, fine_tuning_method)
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT DO NOTHING RETURNING ${TASK_COLUMNS}`,
        [
          task.id,
          task.idempotency_key,
          task.status,
          now,
          request.embedding_model_id,
          task.batch_id,
          request.batch_id !== null,
          text(request.metadata),
          request.deploy_as_blue,
          request.wait_on_conflict,
          request.method,
          JSON.stringify(request.params),
          task.detail,
          request.fine_tuning_method,
        ],
      );
      const row =
        inserted.rows[0] ??
        (
          await client.query<TaskRow>(
            `SELECT ${TASK_COLUMNS} FROM tasks WHERE idempotency_key = $1 UNION ALL
             SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $2 LIMIT 1`,
            [task.idempotency_key, task.id],
          )
        ).rows[0];
      if (!row) throw new Error(`task ${task.id} was neither stored nor found`);
      return { created: inserted.rows.length > 0, ...toStoredTask(row, asIs) };
    });
  }

  async getTask(id: string): Promise<Task | null> {
    const [row] = await this.db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1`, [id]);
    return row ? toTask(row, asIs) : null;
  }

  async findStoredTask(field: 'id' | 'idempotency_key', value: string): Promise<StoredTask | null> {
    const column = field === 'id' ? 'id' : 'idempotency_key';
    const [row] = await this.db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE ${column} = $1`, [value]);
    return row ? toStoredTask(row, asIs) : null;
  }

  async listTasks(filter: TaskFilter, offset: number, limit: number): Promise<Task[]> {
    const rows = await this.db.query<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM tasks
       WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR batch_id = $2)
         AND ($3::text IS NULL OR embedding_model_id = $3)
       ORDER BY seq LIMIT $4 OFFSET $5`,
      [filter.status ?? null, filter.batch_id ?? null, filter.embedding_model_id ?? null, limit, offset],
    );
    return rows.map((row) => toTask(row, asIs));
  }

  updateTask(id: string, now: number, change: (task: Task) => TaskPatch): Promise<Task | null> {
    return this.db.transaction(async (client) => {
      const { rows } = await client.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1 FOR UPDATE`, [id]);
      const row = rows[0];
      return row ? this.write(client, toTask(row, asIs), now, change) : null;
    });
  }

  claimTask(
    workerId: string,
    leaseSeconds: number,
    methods: readonly string[] | null,
    now: number,
  ): Promise<Task | null> {
    return this.db.transaction(async (client) => {
      const { rows } = await client.query<TaskRow>(
        `SELECT ${TASK_COLUMNS} FROM tasks WHERE status = 'pending' AND ($1::text[] IS NULL OR method = ANY ($1))
         ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED`,
        [methods],
      );
      const row = rows[0];
      if (!row) return null;
      return this.write(client, toTask(row, asIs), now, (task) => claimed(task, workerId, now, leaseSeconds));
    });
  }

  async expiredLeases(now: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `SELECT id FROM tasks WHERE status = 'processing' AND lease_expires_at <= $1 ORDER BY seq`,
      [now],
    );
    return rows.map((row) => row.id);
  }

  async batchesInTraining(batchIds: readonly string[], now: number): Promise<Set<string>> {
    const rows = await this.db.query<{ batch_id: string }>(
      `SELECT DISTINCT batch_id FROM tasks
       WHERE batch_id = ANY ($1) AND status = 'processing' AND lease_expires_at > $2`,
      [batchIds, now],
    );
    return new Set(rows.map((row) => row.batch_id));
  }

  /** Inside the transaction that holds the task's row: the change and its write. */
  private async write(
    client: pg.PoolClient,
    task: Task,
    now: number,
    change: (task: Task) => TaskPatch,
  ): Promise<Task> {
    const columns = patchColumns(change(task));
    const assignments = columns.map(({ column }, index) => `${column} = $${index + 1}`);
    const { rows } = await client.query<TaskRow>(
      `UPDATE tasks SET ${[...assignments, `updated_at = $${columns.length + 1}`].join(', ')}
       WHERE id = $${columns.length + 2} RETURNING ${TASK_COLUMNS}`,
      [...columns.map(({ value }) => value), now, task.id],
    );
    const updated = rows[0];
    if (!updated) throw new Error(`task ${task.id} vanished inside its transaction`);
    return toTask(updated, asIs);
  }
}
