import { AddEventsBody, MarkIrrelevantBody, RegisterSessionBody, SessionQuery } from '../../schemas/payloads.js';
import {
  AddEventsResponse,
  MarkIrrelevantResponse,
  RegisterSessionResponse,
  SessionWithEvents,
} from '../../schemas/records.js';
import type { IngestService } from '../../services/ingest.js';
import type { App } from '../app-types.js';
import { responses } from '../schemas.js';

export const CLIENT_PREFIX = '/api/v1/clickstream';

/** Client routes: what a search application calls for every search and every interaction. */
export function registerSessionRoutes(app: App, ingest: IngestService): void {
  app.post(
    `${CLIENT_PREFIX}/session`,
    {
      config: { bodyProblems: ingest.sessionProblems },
      schema: {
        tags: ['client'],
        summary: 'Register a search session',
        description:
          'Idempotent: re-registering a session_id with the same content answers as the first time; with different content it is 409 session_conflict.',
        body: RegisterSessionBody,
        response: responses(RegisterSessionResponse, 409),
      },
    },
    (request) => ingest.registerSession(request.body),
  );

  app.get(
    `${CLIENT_PREFIX}/session`,
    {
      schema: {
        tags: ['client'],
        summary: 'A session with its events (debugging)',
        querystring: SessionQuery,
        response: responses(SessionWithEvents, 404),
      },
    },
    (request) => ingest.getSession(request.query.session_id),
  );

  app.post(
    `${CLIENT_PREFIX}/session/events`,
    {
      config: { bodyProblems: ingest.eventsProblems },
      schema: {
        tags: ['client'],
        summary: 'Add events to a registered session',
        description:
          'All or nothing. A re-sent event (same session_id and event_id, same content) counts as a duplicate; with different content it is 409 event_conflict. 404 session_not_found for an unknown session; 409 session_closed once its batch is sealed.',
        body: AddEventsBody,
        response: responses(AddEventsResponse, 404, 409),
      },
    },
    (request) => ingest.addEvents(request.body),
  );

  app.post(
    `${CLIENT_PREFIX}/session/irrelevant`,
    {
      config: { bodyProblems: ingest.irrelevantProblems },
      schema: {
        tags: ['client'],
        summary: 'Flag a session as irrelevant (bots, tests)',
        description: 'The session stays stored and carries is_irrelevant: true in every read. Idempotent.',
        body: MarkIrrelevantBody,
        response: responses(MarkIrrelevantResponse, 404, 409),
      },
    },
    (request) => ingest.markIrrelevant(request.body),
  );
}
