import { IngestBody, IngestEnvelope, IngestResponse } from '../../schemas/ingest-payloads.js';
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

  defineRoute({
    method: 'POST',
    url: '/api/v1/clickstream/ingest',
    access: 'client',
    errors: ['storage_full'],
    schema: {
      tags: ['client'],
      summary: 'Register sessions, add events and flag sessions in one request',
      description:
        'Sessions first, then events, then irrelevant flags, so a session registered in the body can take events in it. Each item is all or nothing and answered in order with its status and what its single route answers (or its code and errors, paths from the body root); the request is 200 unless the body itself is malformed, empty or over a limit. 503 when the store fails: retry the whole body, every item is idempotent. Accepts text/plain and ?key= (navigator.sendBeacon), up to 64 KiB in that form.',
      body: IngestBody,
      response: { 200: IngestResponse },
    },
    bodyEnvelope: IngestEnvelope,
    bodyProblems: ({ bulk }) => bulk.envelopeProblems,
    handler:
      ({ bulk }) =>
      (request) =>
        bulk.ingestAll(request.body),
  }),
];
