import { ClickstreamError } from '../../domain/errors.js';
import type { ClickstreamStore } from '../../storage/store.js';
import type { App } from '../app-types.js';
import { responses, Status } from '../schemas.js';

/** Liveness and readiness, for load balancers and orchestrators. */
export function registerHealthRoutes(app: App, store: ClickstreamStore): void {
  app.get(
    '/health',
    { schema: { tags: ['operations'], summary: 'The process is up', response: responses(Status) } },
    () => ({ status: 'ok' }),
  );

  app.get(
    '/ready',
    {
      schema: { tags: ['operations'], summary: 'The store is reachable', response: responses(Status) },
    },
    async (request) => {
      try {
        await store.ping();
      } catch (error) {
        request.log.warn({ err: error }, 'store not reachable');
        throw new ClickstreamError('service_unavailable', 'the store is not reachable');
      }
      return { status: 'ready' };
    },
  );
}
