import { checkReady } from '../../services/health.js';
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
    async () => {
      await checkReady(store);
      return { status: 'ready' };
    },
  );
}
