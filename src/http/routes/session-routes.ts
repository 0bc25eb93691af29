import { AddEventsBody, MarkIrrelevantBody, RegisterSessionBody, SessionQuery } from '../../schemas/payloads.js';
import {
  AddEventsResponse,
  MarkIrrelevantResponse,
  RegisterSessionResponse,
  SessionWithEvents,
} from '../../schemas/records.js';
import { defineRoute } from './route-definition.js';

/** Client routes: what a search application calls for every search and every interaction. */
export const SESSION_ROUTES = [
  defineRoute({
    method: 'POST',
    url: '/api/v1/clickstream/session',
    access: 'client',
    errors: ['session_conflict', 'storage_full'],
    schema: {
      tags: ['client'],
      summary: 'Register a search session',
      description:
        'Idempotent: re-registering a session_id with the same content answers as the first time; with different content it is 409 session_conflict.',
      body: RegisterSessionBody,
      response: { 200: RegisterSessionResponse },
    },
    bodyProblems: ({ ingest }) => ingest.sessionProblems,
    handler:
      ({ ingest }) =>
      (request) =>
        ingest.registerSession(request.body),
  }),

  defineRoute({
    method: 'GET',
    url: '/api/v1/clickstream/session',
    access: 'client',
    errors: ['session_not_found'],
    schema: {
      tags: ['client'],
      summary: 'A session with its events (debugging)',
      querystring: SessionQuery,
      response: { 200: SessionWithEvents },
    },
    handler:
      ({ ingest }) =>
      (request) =>
        ingest.getSession(request.query.session_id),
  }),

  defineRoute({
    method: 'POST',
    url: '/api/v1/clickstream/session/events',
    access: 'client',
    errors: ['session_not_found', 'event_conflict', 'session_closed', 'storage_full'],
    schema: {
      tags: ['client'],
      summary: 'Add events to a registered session',
      description:
        'All or nothing. A re-sent event (same session_id and event_id, same content) counts as a duplicate; with different content it is 409 event_conflict. 404 session_not_found for an unknown session; 409 session_closed once its batch is sealed.',
      body: AddEventsBody,
      response: { 200: AddEventsResponse },
    },
    bodyProblems: ({ ingest }) => ingest.eventsProblems,
    handler:
      ({ ingest }) =>
      (request) =>
        ingest.addEvents(request.body),
  }),

  defineRoute({
    method: 'POST',
    url: '/api/v1/clickstream/session/irrelevant',
    access: 'client',
    errors: ['session_not_found', 'session_closed', 'storage_full'],
    schema: {
      tags: ['client'],
      summary: 'Flag a session as irrelevant (bots, tests)',
      description: 'The session stays stored and carries is_irrelevant: true in every read. Idempotent.',
      body: MarkIrrelevantBody,
      response: { 200: MarkIrrelevantResponse },
    },
    bodyProblems: ({ ingest }) => ingest.irrelevantProblems,
    handler:
      ({ ingest }) =>
      (request) =>
        ingest.markIrrelevant(request.body),
  }),
];
