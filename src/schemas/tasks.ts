/**
 * The fine-tuning task API: EmbeddingStudio's task schemas (its field names, so that its clients work
 * unchanged; timestamps in integer UTC seconds as everywhere in this API) plus ours (method, params,
 * detail, attempts, worker and lease, metrics), and the bodies of the worker routes.
 */
import { Type, type Static } from 'typebox';
import { TASK_STATUSES } from '../domain/task.js';
import { TRAINING_METHODS } from '../learning/rows.js';
import { JsonObject, OrNull } from './json-schemas.js';

/** Longest task id, idempotency key, model id or worker id. */
export const MAX_TASK_ID_LENGTH = 256;
/** Longest best_model_url / best_model_id. */
export const MAX_MODEL_REF_LENGTH = 2048;

const TaskId = (description: string) =>
  Type.String({
    description: `${description}. 1..${MAX_TASK_ID_LENGTH} characters, no control characters.`,
    minLength: 1,
    maxLength: MAX_TASK_ID_LENGTH,
    pattern: '^[^\\u0000-\\u001F\\u007F]+$',
  });

const Nullable = <T extends Parameters<typeof OrNull>[0]>(schema: T) => Type.Optional(OrNull(schema));

const Method = Type.Enum(TRAINING_METHODS, {
  description: 'The training-data method (clicks, skip-above, pbm, coec); clicks unless given.',
});

/** The lease a claim or heartbeat gets without `lease_seconds`, and the bounds of one that has it. */
export const DEFAULT_LEASE_SECONDS = 60;
export const MIN_LEASE_SECONDS = 5;
export const MAX_LEASE_SECONDS = 3600;

const LeaseSeconds = Type.Integer({
  minimum: MIN_LEASE_SECONDS,
  maximum: MAX_LEASE_SECONDS,
  default: DEFAULT_LEASE_SECONDS,
  description: 'How long the lease holds without a heartbeat (5 to 3,600 s, default 60).',
});

export const Task = Type.Object({
  id: Type.String(),
  status: Type.Enum(TASK_STATUSES, {
    description:
      'pending: waits for a worker; processing: a worker holds its lease; done, failed, refused (nothing to train on), canceled.',
  }),
  created_at: Type.Integer({ description: 'UTC seconds.' }),
  updated_at: Type.Integer({ description: 'UTC seconds of the last change.' }),
  embedding_model_id: Type.String({ description: 'The model to fine-tune: any string, there is no model registry.' }),
  fine_tuning_method: Type.String({
    description: "EmbeddingStudio's fine-tuning plugin name, as given; the training-data method when none was.",
  }),
  batch_id: OrNull(Type.String({ description: 'The released batch trained on; null only for a refused task.' })),
  best_model_url: OrNull(Type.String()),
  best_model_id: OrNull(Type.String()),
  metadata: OrNull(JsonObject()),
  idempotency_key: OrNull(Type.String()),
  deploy_as_blue: OrNull(Type.Boolean()),
  wait_on_conflict: OrNull(Type.Boolean()),
  method: Method,
  params: JsonObject({ description: 'The training-data flags (snake_case), format included.' }),
  detail: OrNull(Type.String({ description: 'Why the task failed or was refused (at most 1,500 characters).' })),
  attempts: Type.Integer({ description: 'Claims since the task was created or restarted.' }),
  worker_id: OrNull(Type.String({ description: 'The lease holder while processing.' })),
  lease_expires_at: OrNull(Type.Integer({ description: 'UTC seconds; the lease ends then without a heartbeat.' })),
  metrics: OrNull(JsonObject({ description: 'What the trainer reported on completion.' })),
});
export type Task = Static<typeof Task>;

export const TaskList = Type.Array(Task);

export const CreateTaskBody = Type.Object(
  {
    id: Nullable(TaskId('The task id; generated when absent')),
    embedding_model_id: TaskId('The model to fine-tune'),
    fine_tuning_method: Nullable(TaskId("EmbeddingStudio's plugin name; kept and answered, the trainer may read it")),
    batch_id: Nullable(
      TaskId('A released batch; without it the collecting batch is released under the idempotency key (or the id)'),
    ),
    metadata: Nullable(JsonObject({ description: 'Kept with the task, for the trainer and for people.' })),
    idempotency_key: Nullable(TaskId('A create with a known key returns that task (same body) or 409')),
    deploy_as_blue: Nullable(Type.Boolean()),
    wait_on_conflict: Nullable(Type.Boolean()),
    method: Type.Optional(Type.Union([Method, Type.Null()])),
    params: Nullable(
      JsonObject({
        description:
          'The training-data flags in snake_case, as strings or numbers: format (default sentence-transformers), max_position, query_field, document_field, event_weights, test_fraction, split_by, min_rating.',
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      {
        embedding_model_id: 'all-MiniLM-L6-v2',
        idempotency_key: '5b1f0c7e9a2d4e8f8c3b6a1d2e4f6a8b',
        method: 'clicks',
        params: { format: 'sentence-transformers' },
      },
    ],
  },
);
export type CreateTaskBody = Static<typeof CreateTaskBody>;

export const TaskListQuery = Type.Object(
  {
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    status: Type.Optional(Type.Enum(TASK_STATUSES)),
    batch_id: Type.Optional(TaskId('Only the tasks of this batch')),
    embedding_model_id: Type.Optional(TaskId('Only the tasks of this model')),
  },
  { additionalProperties: false },
);
export type TaskListQuery = Static<typeof TaskListQuery>;

export const TaskParams = Type.Object({ id: TaskId('The task id') }, { additionalProperties: false });

export const ClaimBody = Type.Object(
  {
    worker_id: TaskId('Who claims: a name unique to this worker process'),
    lease_seconds: Type.Optional(LeaseSeconds),
    methods: Type.Optional(
      Type.Array(Method, { minItems: 1, uniqueItems: true, description: 'Claim only tasks of these methods.' }),
    ),
  },
  { additionalProperties: false, examples: [{ worker_id: 'gpu-host-1.4242', lease_seconds: 60 }] },
);
export type ClaimBody = Static<typeof ClaimBody>;

export const HeartbeatBody = Type.Object(
  { worker_id: TaskId('The lease holder'), lease_seconds: Type.Optional(LeaseSeconds) },
  { additionalProperties: false, examples: [{ worker_id: 'gpu-host-1.4242', lease_seconds: 60 }] },
);

export const CompleteBody = Type.Object(
  {
    worker_id: TaskId('The lease holder'),
    best_model_url: Nullable(Type.String({ maxLength: MAX_MODEL_REF_LENGTH })),
    best_model_id: Nullable(Type.String({ maxLength: MAX_MODEL_REF_LENGTH })),
    metrics: Nullable(JsonObject({ description: 'What the trainer measured (recall, NDCG, loss, ...).' })),
  },
  {
    additionalProperties: false,
    examples: [
      {
        worker_id: 'gpu-host-1.4242',
        best_model_url: 's3://models/all-MiniLM-L6-v2-ft-1',
        metrics: { recall_at_10_before: 0.41, recall_at_10_after: 0.57 },
      },
    ],
  },
);
export type CompleteBody = Static<typeof CompleteBody>;

export const FailBody = Type.Object(
  {
    worker_id: TaskId('The lease holder'),
    detail: Type.String({ description: 'Why; cut to 1,500 characters.' }),
    retry: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Back to pending for another attempt (failed once the attempts are used up).',
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ worker_id: 'gpu-host-1.4242', detail: 'CUDA out of memory', retry: true }],
  },
);
export type FailBody = Static<typeof FailBody>;

export const WorkerQuery = Type.Object({ worker_id: TaskId('The lease holder') }, { additionalProperties: false });
