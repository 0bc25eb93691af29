import { BatchesQuery, BatchQuery, BatchSessionsQuery, ReleaseBatchBody } from '../../schemas/payloads.js';
import { Batch, BatchList, BatchSessionsPage, ReleaseResponse } from '../../schemas/records.js';
import { defineRoute } from './route-definition.js';

/** Internal routes: release batches and read them back for training. */
export const BATCH_ROUTES = [
  defineRoute({
    method: 'POST',
    url: '/api/v1/clickstream/internal/batch/release',
    access: 'internal',
    errors: ['no_sessions_to_release', 'storage_full'],
    schema: {
      tags: ['internal'],
      summary: 'Release the collecting batch',
      description:
        'Closes the collecting batch and starts a new one. Idempotent by release_id, also under concurrent retries. 404 no_sessions_to_release when nothing was collected since the last release.',
      body: ReleaseBatchBody,
      response: { 200: ReleaseResponse },
    },
    bodyProblems: ({ batches }) => batches.releaseProblems,
    handler:
      ({ batches, stats }) =>
      async (request) => {
        const released = await batches.release(request.body.release_id);
        stats.prepare(released.batch_id, released.sealed_at);
        return released;
      },
  }),

  defineRoute({
    method: 'GET',
    url: '/api/v1/clickstream/internal/batch/sessions',
    access: 'internal',
    errors: ['batch_not_found'],
    schema: {
      tags: ['internal'],
      summary: 'Sessions of a batch with their events, keyset-paginated by session_number',
      querystring: BatchSessionsQuery,
      response: { 200: BatchSessionsPage },
    },
    handler:
      ({ batches }) =>
      (request) => {
        const { batch_id, after_number, limit, events_limit } = request.query;
        return batches.sessionsPage(batch_id, after_number, limit, events_limit);
      },
  }),

  defineRoute({
    method: 'GET',
    url: '/api/v1/clickstream/internal/batches',
    access: 'internal',
    errors: [],
    schema: {
      tags: ['internal'],
      summary: 'Batches, newest first, with status, counts and timestamps',
      querystring: BatchesQuery,
      response: { 200: BatchList },
    },
    handler:
      ({ batches }) =>
      async (request) => ({ batches: await batches.listBatches(request.query.limit) }),
  }),

  defineRoute({
    method: 'GET',
    url: '/api/v1/clickstream/internal/batch',
    access: 'internal',
    errors: ['batch_not_found'],
    schema: {
      tags: ['internal'],
      summary: 'One batch with status, counts and timestamps',
      querystring: BatchQuery,
      response: { 200: Batch },
    },
    handler:
      ({ batches }) =>
      (request) =>
        batches.getBatch(request.query.batch_id),
  }),
];
