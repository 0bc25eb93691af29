import { BatchesQuery, BatchQuery, BatchSessionsQuery, ReleaseBatchBody } from '../../schemas/payloads.js';
import { Batch, BatchList, BatchSessionsPage, ReleaseResponse } from '../../schemas/records.js';
import type { BatchService } from '../../services/batches.js';
import type { App } from '../app-types.js';
import { responses } from '../schemas.js';
import { CLIENT_PREFIX } from './session-routes.js';

export const INTERNAL_PREFIX = `${CLIENT_PREFIX}/internal`;

/** Internal routes: release batches and read them back for training. */
export function registerBatchRoutes(app: App, batches: BatchService): void {
  app.post(
    `${INTERNAL_PREFIX}/batch/release`,
    {
      config: { bodyProblems: batches.releaseProblems },
      schema: {
        tags: ['internal'],
        summary: 'Release the collecting batch',
        description:
          'Closes the collecting batch and starts a new one. Idempotent by release_id, also under concurrent retries. 404 no_sessions_to_release when nothing was collected since the last release.',
        body: ReleaseBatchBody,
        response: responses(ReleaseResponse, 404),
      },
    },
    (request) => batches.release(request.body.release_id),
  );

  app.get(
    `${INTERNAL_PREFIX}/batch/sessions`,
    {
      schema: {
        tags: ['internal'],
        summary: 'Sessions of a batch with their events, keyset-paginated by session_number',
        querystring: BatchSessionsQuery,
        response: responses(BatchSessionsPage, 404),
      },
    },
    (request) => {
      const { batch_id, after_number, limit, events_limit } = request.query;
      return batches.sessionsPage(batch_id, after_number, limit, events_limit);
    },
  );

  app.get(
    `${INTERNAL_PREFIX}/batches`,
    {
      schema: {
        tags: ['internal'],
        summary: 'Batches, newest first, with status, counts and timestamps',
        querystring: BatchesQuery,
        response: responses(BatchList),
      },
    },
    async (request) => ({ batches: await batches.listBatches(request.query.limit) }),
  );

  app.get(
    `${INTERNAL_PREFIX}/batch`,
    {
      schema: {
        tags: ['internal'],
        summary: 'One batch with status, counts and timestamps',
        querystring: BatchQuery,
        response: responses(Batch, 404),
      },
    },
    (request) => batches.getBatch(request.query.batch_id),
  );
}
