import { Type } from 'typebox';
import { JsonObject } from '../../schemas/json-schemas.js';
import { checkReady } from '../../services/health.js';
import { defineRoute } from './route-definition.js';

const Status = Type.Object({ status: Type.String() });

/**
 * Where a person starts (`/`, the dashboard), liveness and readiness for load balancers and orchestrators, and the API's
 * own description.
 */
export const OPERATION_ROUTES = [
  defineRoute({
    method: 'GET',
    url: '/',
    access: 'public',
    errors: [],
    // A person opens the service's address in a browser: the dashboard (which links the API's docs).
    schema: {
      tags: ['operations'],
      summary: 'Redirects to the dashboard (/ui)',
      description: 'The API itself is described at /openapi.json and browsable at /docs.',
      response: {
        302: {
          description: 'To the dashboard, /ui.',
          headers: { location: Type.String() },
          type: 'null',
        },
      },
    },
    handler: () => (_request, reply) => reply.redirect('/ui', 302),
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
