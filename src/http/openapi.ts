import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { App } from './app-types.js';
import { SECURITY_SCHEMES } from './auth.js';
import { grantAccess } from './route-declarations.js';

/**
 * The OpenAPI 3.1 document, built from the routes' schemas and declarations (served by the
 * `/openapi.json` route), and Swagger UI at /docs, whose files are public.
 */
export async function registerOpenApi(app: App): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Clickstream collector',
        version: '1',
        description:
          'Collects search sessions and their events, and releases them in batches for training. Compatible with the EmbeddingStudio clickstream API.',
      },
      components: { securitySchemes: SECURITY_SCHEMES },
      tags: [
        { name: 'client', description: 'Called by search applications for every search and interaction.' },
        { name: 'internal', description: 'Release and read batches for training.' },
        { name: 'operations', description: 'Health, readiness and this document.' },
      ],
    },
  });
  await grantAccess('public', () => app.register(swaggerUi, { routePrefix: '/docs' }));
}
