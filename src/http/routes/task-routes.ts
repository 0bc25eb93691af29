import { Type } from 'typebox';
import {
  ClaimBody,
  CompleteBody,
  CreateTaskBody,
  DEFAULT_LEASE_SECONDS,
  FailBody,
  HeartbeatBody,
  Task,
  TaskList,
  TaskListQuery,
  TaskParams,
  WorkerQuery,
} from '../../schemas/tasks.js';
import { streamTrainingData, TRAINING_DATA_RESPONSE } from './training-routes.js';
import { defineRoute } from './route-definition.js';

const tags = ['fine-tuning'];
const workerTags = ['fine-tuning worker'];

/** EmbeddingStudio's fine-tuning task API (admin key): create, list, show, restart, cancel. */
const TASK_ROUTES = [
  defineRoute({
    method: 'POST',
    url: '/api/v1/fine-tuning/task',
    access: 'internal',
    errors: ['batch_not_found', 'batch_not_released', 'task_conflict', 'storage_full'],
    schema: {
      tags,
      summary: 'Create a fine-tuning task on a released batch (EmbeddingStudio compatible)',
      description:
        'Idempotent by idempotency_key (and by id): the same body returns the first task, another body is 409 task_conflict. Without batch_id the collecting batch is released with release_id = idempotency_key (or the task id); when it holds no session the task is stored refused, with a detail. method (default clicks) and params (training-data flags, format default sentence-transformers) say what the worker downloads.',
      body: CreateTaskBody,
      response: { 200: Task },
    },
    handler:
      ({ tasks }) =>
      (request) =>
        tasks.create(request.body),
  }),

  defineRoute({
    method: 'GET',
    url: '/api/v1/fine-tuning/task',
    access: 'internal',
    errors: [],
    schema: {
      tags,
      summary: 'Fine-tuning tasks in creation order, by status, batch or model (offset pagination)',
      querystring: TaskListQuery,
      response: { 200: TaskList },
    },
    handler:
      ({ tasks }) =>
      (request) =>
        tasks.list(request.query),
  }),

  defineRoute({
    method: 'GET',
    url: '/api/v1/fine-tuning/task/:id',
    access: 'internal',
    errors: ['task_not_found'],
    schema: { tags, summary: 'One fine-tuning task', params: TaskParams, response: { 200: Task } },
    handler:
      ({ tasks }) =>
      (request) =>
        tasks.get(request.params.id),
  }),

  defineRoute({
    method: 'PUT',
    url: '/api/v1/fine-tuning/task/:id/restart',
    access: 'internal',
    errors: ['task_not_found', 'task_processing', 'task_finished'],
    schema: {
      tags,
      summary:
        'Run a task again: back to pending, attempts 0, results cleared (409 while processing, or for a task refused without a batch)',
      params: TaskParams,
      response: { 200: Task },
    },
    handler:
      ({ tasks }) =>
      (request) =>
        tasks.restart(request.params.id),
  }),

  defineRoute({
    method: 'PUT',
    url: '/api/v1/fine-tuning/task/:id/cancel',
    access: 'internal',
    errors: ['task_not_found', 'task_finished'],
    schema: {
      tags,
      summary: 'Cancel a pending or processing task (its worker stops at its next heartbeat)',
      description: '409 task_finished for a task that is done, failed or refused; a canceled task stays so.',
      params: TaskParams,
      response: { 200: Task },
    },
    handler:
      ({ tasks }) =>
      (request) =>
        tasks.cancel(request.params.id),
  }),
];

/** What fine-tuning workers call (a worker key or the admin key): claims with leases, and their ends. */
const WORKER_ROUTES = [
  defineRoute({
    method: 'POST',
    url: '/api/v1/fine-tuning/task/claim',
    access: 'worker',
    errors: ['storage_full'],
    schema: {
      tags: workerTags,
      summary: 'Claim the oldest pending task: 200 with it (processing, under a lease), 204 when none is pending',
      description:
        'Atomic: each pending task goes to exactly one claim, also across replicas. Expired leases are handed back first. Heartbeat every third of the lease; a lease that ends puts the task back to pending (failed after CLICKSTREAM_TASK_MAX_ATTEMPTS claims).',
      body: ClaimBody,
      response: { 200: Task, 204: Type.Null({ description: 'No task is pending.' }) },
    },
    handler:
      ({ tasks }) =>
      async (request, reply) => {
        const { worker_id: workerId, lease_seconds: lease = DEFAULT_LEASE_SECONDS, methods } = request.body;
        const task = await tasks.claim(workerId, lease, methods ?? null);
        return task ?? reply.code(204).send();
      },
  }),

  defineRoute({
    method: 'POST',
    url: '/api/v1/fine-tuning/task/:id/heartbeat',
    access: 'worker',
    errors: ['task_not_found', 'lease_lost', 'storage_full'],
    schema: {
      tags: workerTags,
      summary: "Extend the lease (409 lease_lost when it was lost or the task canceled: stop the task's work)",
      params: TaskParams,
      body: HeartbeatBody,
      response: { 200: Task },
    },
    handler:
      ({ tasks }) =>
      (request) =>
        tasks.heartbeat(request.params.id, request.body.worker_id, request.body.lease_seconds ?? DEFAULT_LEASE_SECONDS),
  }),

  defineRoute({
    method: 'GET',
    url: '/api/v1/fine-tuning/task/:id/training-data',
    access: 'worker',
    errors: ['task_not_found', 'lease_lost', 'batch_not_found'],
    schema: {
      tags: workerTags,
      summary: "The task's training data (its batch, method, params and format), streamed to the lease holder",
      description:
        'As GET /api/v1/clickstream/internal/batch/training-data answers it: a body that ends without error is complete.',
      params: TaskParams,
      querystring: WorkerQuery,
      response: { 200: TRAINING_DATA_RESPONSE },
    },
    handler:
      ({ tasks, training }) =>
      async (request, reply) => {
        const { batchId, ...wanted } = await tasks.trainingData(request.params.id, request.query.worker_id);
        return streamTrainingData(reply, training, batchId, wanted);
      },
  }),

  defineRoute({
    method: 'POST',
    url: '/api/v1/fine-tuning/task/:id/complete',
    access: 'worker',
    errors: ['task_not_found', 'lease_lost', 'storage_full'],
    schema: {
      tags: workerTags,
      summary: 'Finish a task as done with what the trainer reported (lease holder only)',
      params: TaskParams,
      body: CompleteBody,
      response: { 200: Task },
    },
    handler:
      ({ tasks }) =>
      (request) =>
        tasks.complete(request.params.id, request.body),
  }),

  defineRoute({
    method: 'POST',
    url: '/api/v1/fine-tuning/task/:id/fail',
    access: 'worker',
    errors: ['task_not_found', 'lease_lost', 'storage_full'],
    schema: {
      tags: workerTags,
      summary: 'Give a task up: failed with a detail, or with retry back to pending (lease holder only)',
      params: TaskParams,
      body: FailBody,
      response: { 200: Task },
    },
    handler:
      ({ tasks }) =>
      (request) => {
        const { worker_id: workerId, detail, retry = false } = request.body;
        return tasks.fail(request.params.id, workerId, detail, retry);
      },
  }),
];

export const FINE_TUNING_ROUTES = [...TASK_ROUTES, ...WORKER_ROUTES];
