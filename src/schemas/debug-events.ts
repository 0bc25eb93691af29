/**
 * The events debugger (GET /internal/debug/events): what was recorded of a rejected request, or of a
 * sampled accepted one, with its secrets removed (http/debug-record.ts), and the query that pages them.
 */
import { Type, type Static } from 'typebox';
import { ERROR_CODES } from '../domain/errors.js';
import { OrNull } from './json-schemas.js';
import { QueryId } from './payloads.js';

/** Records on one page of the events debugger: by default, and at most. */
export const DEBUG_PAGE_LIMITS = { default: 50, max: 200 } as const;

export const DebugEventsQuery = Type.Object(
  {
    session_id: Type.Optional(
      QueryId('Only requests that named this session_id (top-level in the body, or in the query string).'),
    ),
    code: Type.Optional(Type.Enum(ERROR_CODES, { description: 'Only requests refused with this error code.' })),
    before: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Only records older than this seq: pass the next_before of the previous page.',
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: DEBUG_PAGE_LIMITS.max,
        default: DEBUG_PAGE_LIMITS.default,
        description: 'Records on the page, newest first.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type DebugEventsQuery = Static<typeof DebugEventsQuery>;

export const DebugEvent = Type.Object({
  seq: Type.Integer({ description: 'Grows with recording order; the key of the pagination (`before`).' }),
  time: Type.Integer({ description: 'When the request was answered, integer UTC seconds.' }),
  method: Type.String(),
  route: Type.String({
    description: "The route's template, or the path (without its query string) when no route matched.",
  }),
  url: Type.String({
    description:
      'The path and query string as received, without the parameters whose name holds key, token, secret, auth or cookie.',
  }),
  status: Type.Integer({ description: 'The HTTP status answered: 4xx or 5xx for a rejection, else a sample.' }),
  code: OrNull(Type.String({ description: "The error envelope's code; null for an accepted request." })),
  detail: OrNull(Type.String({ description: "The error envelope's detail; null for an accepted request." })),
  errors: Type.Array(Type.Object({ path: Type.String(), message: Type.String() }), {
    description: "The error envelope's errors (path and message of each offending item); empty when it had none.",
  }),
  session_id: OrNull(
    Type.String({ description: 'The top-level session_id of the body, or the session_id of the query string.' }),
  ),
  request_id: Type.String({ description: 'The x-request-id of the answer (and of the log lines).' }),
  headers: Type.Record(Type.String(), Type.String(), {
    description: 'Request headers of an allow-list (content-type, content-length, user-agent, origin, accept).',
  }),
  body: OrNull(
    Type.String({
      description:
        'The start of the body as received, at most CLICKSTREAM_DEBUG_BODY_BYTES bytes; null when none was read.',
    }),
  ),
  body_bytes: OrNull(Type.Integer({ description: 'Size of the whole body in bytes; null when none was read.' })),
  body_truncated: Type.Boolean({ description: 'True when `body` is only the start of the body.' }),
  duration_ms: Type.Number({ description: 'Time from the request to its answer, in milliseconds.' }),
});
export type DebugEvent = Static<typeof DebugEvent>;

export const DebugEventsPage = Type.Object({
  events: Type.Array(DebugEvent, { description: 'Newest first.' }),
  next_before: OrNull(
    Type.Integer({ description: 'Pass as `before` for the next (older) page; null when this page is the last.' }),
  ),
});
export type DebugEventsPage = Static<typeof DebugEventsPage>;
