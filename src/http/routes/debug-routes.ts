import { ClickstreamError } from '../../domain/errors.js';
import { DebugEventsPage, DebugEventsQuery } from '../../schemas/debug-events.js';
import { defineRoute } from './route-definition.js';

/**
 * The events debugger (http/debug-events.ts records, services/debug-events.ts keeps): rejected requests of
 * the clickstream API and a sample of accepted ones, newest first, with their secrets removed.
 */
export const DEBUG_ROUTES = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/clickstream/internal/debug/events',
    access: 'internal',
    errors: ['not_found'],
    schema: {
      tags: ['internal'],
      summary: 'Recent rejected requests and a sample of accepted ones (the events debugger)',
      description:
        'Newest first, keyset-paginated by seq (pass next_before as before). Each record has the route, status, error code, detail and paths, the session_id the request named, an allow-list of headers and the start of the body; Authorization, X-API-Key, the key query parameter and every header or parameter whose name holds key, token, secret, auth or cookie are never stored. Bounded by CLICKSTREAM_DEBUG_EVENTS_MAX_ROWS and CLICKSTREAM_DEBUG_EVENTS_MAX_AGE_SECONDS; 404 not_found when CLICKSTREAM_DEBUG_EVENTS=0.',
      querystring: DebugEventsQuery,
      response: { 200: DebugEventsPage },
    },
    handler:
      ({ debugEvents, debugEventsOn }) =>
      (request) => {
        if (!debugEventsOn) {
          throw new ClickstreamError('not_found', 'the events debugger is off (CLICKSTREAM_DEBUG_EVENTS=0)');
        }
        return debugEvents.page(request.query);
      },
  }),
];
