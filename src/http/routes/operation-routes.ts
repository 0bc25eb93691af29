import { Type } from 'typebox';
import { JsonObject } from '../../schemas/json-schemas.js';
import { checkReady } from '../../services/health.js';
import { defineRoute } from './route-definition.js';

const Status = Type.Object({ status: Type.String() });

/**
 * Where a person starts (`/`), liveness and readiness for load balancers and orchestrators, and the API's
 * own description.
 */
export const OPERATION_ROUTES = [
  defineRoute({
    method: 'GET',
    url: '/',
    access: 'public',
    errors: [],
    // JSON, not a redirect to /docs: a script that probes the root gets an answer it can read, and a
    // person in a browser sees where to go.
    schema: {
      tags: ['operations'],
      summary: 'Where to go from here',
      response: {
        200: Type.Object({
          service: Type.String(),
          docs: Type.String({ description: 'The API, browsable (Swagger UI).' }),
          openapi: Type.String({ description: 'The OpenAPI 3.1 document.' }),
          health: Type.String(),
          ready: Type.String(),
        }),
      },
    },
    handler: () => () => ({
      service: 'clickstream collector: search sessions and their events, released in batches for training',
      docs: '/docs',
      openapi: '/openapi.json',
      health: '/health',
      ready: '/ready',
    }),
  }),

  defineRoute({
    method: 'GET',
    url: '/health',
    access: 'public',
    errors: [],
    schema: { tags: ['operations'], summary: 'The process is up', response: { 200: Status } },
    handler: () => () => ({ status: 'ok' }),
  }),

  defineRoute({
    method: 'GET',
    url: '/ready',
    access: 'public',
    errors: ['service_unavailable', 'storage_full'],
    // Probes read any status but 2xx as "not ready", and most expect 503; the code says why.
    errorStatus: { storage_full: 503 },
    schema: {
      tags: ['operations'],
      summary: 'The store is reachable and has space',
      description:
        '503 service_unavailable while the store cannot be reached; 503 storage_full while it has no space left for writes.',
      response: { 200: Status },
    },
    handler:
      ({ store }) =>
      async () => {
        await checkReady(store);
        return { status: 'ready' };
      },
  }),

  defineRoute({
    method: 'GET',
    url: '/openapi.json',
    access: 'public',
    errors: [],
    schema: { tags: ['operations'], summary: 'This OpenAPI 3.1 document', response: { 200: JsonObject() } },
    handler:
      ({ openapi }) =>
      () =>
        openapi(),
  }),
];
