/**
 * The wire contract: one TypeBox schema per payload. The HTTP layer validates with them and generates the
 * OpenAPI document from them; services take their static types. Structure lives here; the configurable
 * limits (id length, counts, sizes, time window) are checked by the domain so that their messages can
 * name the limit and its variable.
 */
import { Type, type Static } from 'typebox';
import { DEFAULT_LIMITS, PAGE_LIMITS } from '../domain/limits.js';
import { JsonObject, OrNull } from './json-schemas.js';

const Id = (description: string) =>
  Type.String({
    description: `${description}. 1..${DEFAULT_LIMITS.maxIdLength} characters by default (CLICKSTREAM_MAX_ID_LENGTH), no control characters.`,
  });

/** An id in a query string: never stored, only looked up, so the shape is all that is checked here. */
export const QueryId = (description: string) =>
  Type.String({ description, minLength: 1, pattern: '^[^\\u0000-\\u001F\\u007F]+$' });

const Timestamp = (description: string) =>
  // No example value: any fixed time falls out of the accepted window (CLICKSTREAM_TIME_WINDOW_PAST_SECONDS) sooner
  // or later, and an example that answers 400 misleads; the body examples leave it to the server's clock.
  // `x-expects` words what a type error says (http/problem.ts): "must be integer UTC seconds", not "an integer".
  Type.Integer({
    description: `${description}. Integer UTC seconds (not milliseconds).`,
    'x-expects': 'integer UTC seconds',
  });

const Meta = (description: string) => OrNull(JsonObject({ description }));

const SearchQuery = Type.Unsafe<string | Record<string, unknown> | unknown[]>({
  type: ['string', 'object', 'array'],
  description: 'The query as the user typed it (a string, possibly empty) or a structured query (object or array).',
});

export const SearchResultInput = Type.Object(
  {
    object_id: Id('Identifier of the result object'),
    rank: Type.Optional(OrNull(Type.Number({ description: 'Score or rank given by the search engine.' }))),
    meta: Type.Optional(
      Meta(
        `Any data about the result (${DEFAULT_LIMITS.maxMetaBytes} bytes serialized by default, CLICKSTREAM_MAX_META_BYTES).`,
      ),
    ),
    item_info: Type.Optional(Meta('Alias of meta, as sent by EmbeddingStudio clients.')),
  },
  { additionalProperties: false },
);

export const RegisterSessionBody = Type.Object(
  {
    session_id: Id('Unique search session identifier'),
    search_query: SearchQuery,
    search_results: Type.Array(SearchResultInput, {
      description:
        'Results in the order shown (position = index). May be empty. At most 1000 (CLICKSTREAM_MAX_RESULTS_PER_SESSION); object_ids must be unique.',
    }),
    search_meta: Type.Optional(
      Meta(
        `Any data about the search (${DEFAULT_LIMITS.maxSearchMetaBytes} bytes by default, CLICKSTREAM_MAX_SEARCH_META_BYTES).`,
      ),
    ),
    payload_filter: Type.Optional(Meta('EmbeddingStudio payload filter, stored with the search context.')),
    sort_by: Type.Optional(Meta('EmbeddingStudio sort order, stored with the search context.')),
    user_id: Type.Optional(OrNull(Id('Your user identifier'))),
    created_at: Type.Optional(OrNull(Timestamp('Session start; default: server time'))),
  },
  {
    additionalProperties: false,
    examples: [
      {
        session_id: 'c327c30bd3db459093e5f5d254bdd144',
        search_query: 'user search query',
        search_results: [
          { object_id: '2f827cbb9fe544cdaca44b2dafd37785', rank: 0.3, item_info: {} },
          { object_id: 'e000f005dc1343ea8ddf234c557832a5' },
          { object_id: '96365929fa5b4286b3a04639cbc7c1d5' },
        ],
        search_meta: {},
        user_id: 'b604bbb1a57a418d925ebc9d615de99a',
      },
    ],
  },
);
export type RegisterSessionBody = Static<typeof RegisterSessionBody>;
export type SearchResultInput = Static<typeof SearchResultInput>;

export const EventInput = Type.Object(
  {
    event_id: Id('Event identifier, unique within its session'),
    object_id: Id('The result object the event concerns'),
    event_type: Type.Optional(OrNull(Type.String({ description: 'Kind of interaction; default "click".' }))),
    created_at: Type.Optional(OrNull(Timestamp('When it happened; default: server time'))),
    meta: Type.Optional(
      Meta(
        `Any data about the event (${DEFAULT_LIMITS.maxMetaBytes} bytes serialized by default, CLICKSTREAM_MAX_META_BYTES).`,
      ),
    ),
    item_info: Type.Optional(Meta('Alias of meta, as sent by EmbeddingStudio clients.')),
  },
  { additionalProperties: false },
);
export type EventInput = Static<typeof EventInput>;

export const AddEventsBody = Type.Object(
  {
    session_id: Id('Id of a registered search session'),
    events: Type.Array(EventInput, {
      description: `At most ${DEFAULT_LIMITS.maxEventsPerRequest} per request by default (CLICKSTREAM_MAX_EVENTS_PER_REQUEST).`,
    }),
  },
  {
    additionalProperties: false,
    examples: [
      {
        session_id: 'c327c30bd3db459093e5f5d254bdd144',
        events: [
          {
            event_id: '472cc4232af2449a97317d0057c9a2cf',
            object_id: '2f827cbb9fe544cdaca44b2dafd37785',
            item_info: {},
            event_type: 'click',
          },
          {
            event_id: '124b6bc39e9f43e7b5be6b992d94f505',
            object_id: '2f827cbb9fe544cdaca44b2dafd37785',
            item_info: {},
            event_type: 'view',
          },
          { event_id: 'b0f4adcac63b4a35a02a45f06b0b1cb9', object_id: 'e000f005dc1343ea8ddf234c557832a5' },
        ],
      },
    ],
  },
);
export type AddEventsBody = Static<typeof AddEventsBody>;

export const MarkIrrelevantBody = Type.Object(
  { session_id: Id('Id of a registered search session') },
  { additionalProperties: false, examples: [{ session_id: 'c327c30bd3db459093e5f5d254bdd144' }] },
);
export type MarkIrrelevantBody = Static<typeof MarkIrrelevantBody>;

export const ReleaseBatchBody = Type.Object(
  { release_id: Id('Unique identifier of the release (idempotency key)') },
  { additionalProperties: false, examples: [{ release_id: '090bda77a5e048d59a1e310dc20fbd6d' }] },
);
export type ReleaseBatchBody = Static<typeof ReleaseBatchBody>;

export const SessionQuery = Type.Object(
  {
    session_id: QueryId('The session to show.'),
    key: Type.Optional(Type.String({ description: 'An ingest key, for clients that cannot set headers.' })),
  },
  { additionalProperties: false },
);
export type SessionQuery = Static<typeof SessionQuery>;

export const BatchQuery = Type.Object({ batch_id: QueryId('The batch to show.') }, { additionalProperties: false });
export type BatchQuery = Static<typeof BatchQuery>;

export const BatchSessionsQuery = Type.Object(
  {
    batch_id: QueryId('The batch to read.'),
    after_number: Type.Optional(
      Type.Integer({ minimum: 0, default: 0, description: 'Exclusive: sessions with a larger session_number.' }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: PAGE_LIMITS.maxSessions,
        default: PAGE_LIMITS.defaultSessions,
        description: 'Sessions per page.',
      }),
    ),
    events_limit: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: PAGE_LIMITS.maxEventsPerSession,
        default: PAGE_LIMITS.defaultEventsPerSession,
        description: 'Most events returned per session.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type BatchSessionsQuery = Static<typeof BatchSessionsQuery>;

export const BatchesQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: PAGE_LIMITS.maxSessions,
        default: PAGE_LIMITS.defaultSessions,
        description: 'Batches to list, newest first.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type BatchesQuery = Static<typeof BatchesQuery>;
