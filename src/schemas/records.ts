/**
 * What the service answers with. These schemas are the single definition of the records that the store
 * returns and the API serialises: the domain and storage types are their static types.
 */
import { Type, type Static } from 'typebox';
import { ERROR_CODES } from '../domain/errors.js';
import { JsonObject, OrNull } from './json-schemas.js';

const NullableObject = (description: string) => OrNull(JsonObject({ description }));

export const StoredSearchResult = Type.Object({
  object_id: Type.String(),
  position: Type.Integer({ description: '0-based index in search_results as registered.' }),
  rank: Type.Union([Type.Number(), Type.Null()]),
  meta: NullableObject('meta (or item_info) as registered, or null.'),
});
export type StoredSearchResult = Static<typeof StoredSearchResult>;

export const StoredEvent = Type.Object({
  event_id: Type.String(),
  object_id: Type.String(),
  event_type: Type.String(),
  created_at: Type.Integer({ description: 'UTC seconds (server time when the client gave none).' }),
  position: Type.Union([Type.Integer(), Type.Null()], {
    description: "Position of object_id in the session's results; null when it was not among them.",
  }),
  meta: NullableObject('meta (or item_info) as sent, or null.'),
});
export type StoredEvent = Static<typeof StoredEvent>;

export const StoredSession = Type.Object({
  session_id: Type.String(),
  batch_id: Type.String(),
  session_number: Type.Integer({ description: 'Registration order within the batch, from 1 (gaps allowed).' }),
  // anyOf rather than a type list: the response serializer needs one branch per JSON type.
  search_query: Type.Union([Type.String(), JsonObject(), Type.Array(Type.Unknown())], {
    description: 'The query as registered: a string or a structured query.',
  }),
  search_results: Type.Array(StoredSearchResult),
  search_meta: NullableObject('As registered, or null.'),
  payload_filter: NullableObject('As registered, or null.'),
  sort_by: NullableObject('As registered, or null.'),
  user_id: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.Integer({ description: 'UTC seconds (server time when the client gave none).' }),
  is_irrelevant: Type.Boolean(),
});
export type StoredSession = Static<typeof StoredSession>;

export const SessionWithEvents = Type.Object({
  ...StoredSession.properties,
  events: Type.Array(StoredEvent, { description: 'In order of created_at, then arrival.' }),
  events_truncated: Type.Boolean({ description: 'True when events_limit cut the list.' }),
});
export type SessionWithEvents = Static<typeof SessionWithEvents>;

export const RegisterSessionResponse = Type.Object({
  session_id: Type.String(),
  batch_id: Type.String(),
  session_number: Type.Integer(),
  created_at: Type.Integer(),
});
export type RegisterSessionResponse = Static<typeof RegisterSessionResponse>;

export const AddEventsResponse = Type.Object({
  session_id: Type.String(),
  stored: Type.Integer({ description: 'Events newly stored by this request.' }),
  duplicates: Type.Integer({ description: 'Events already stored with the same content, ignored.' }),
});
export type AddEventsResponse = Static<typeof AddEventsResponse>;

export const MarkIrrelevantResponse = Type.Object({
  session_id: Type.String(),
  is_irrelevant: Type.Literal(true),
});
export type MarkIrrelevantResponse = Static<typeof MarkIrrelevantResponse>;

export const BATCH_STATUSES = ['collecting', 'released', 'sealed', 'fine_tuning'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export const Batch = Type.Object({
  batch_id: Type.String(),
  status: Type.Enum(BATCH_STATUSES, {
    description:
      'collecting: gets new sessions; released: closed to new sessions, late events accepted until sealed_at; sealed: immutable; fine_tuning: a worker is training from it (a task is processing), then released or sealed again.',
  }),
  release_id: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.Integer({ description: 'UTC seconds when the batch began collecting.' }),
  released_at: Type.Union([Type.Integer(), Type.Null()]),
  sealed_at: Type.Union([Type.Integer(), Type.Null()]),
  session_count: Type.Integer(),
});
export type Batch = Static<typeof Batch>;

export const BatchList = Type.Object({ batches: Type.Array(Batch) });

export const ReleaseResponse = Type.Object({
  batch_id: Type.String(),
  release_id: Type.String(),
  released_at: Type.Integer(),
  sealed_at: Type.Integer(),
  session_count: Type.Integer(),
});
export type ReleaseResponse = Static<typeof ReleaseResponse>;

export const BatchSessionsPage = Type.Object({
  batch_id: Type.String(),
  sealed: Type.Boolean({ description: 'True once the batch is immutable: this page will read the same forever.' }),
  last_number: Type.Union([Type.Integer(), Type.Null()], {
    description: 'session_number of the last session on the page (pass as after_number), or null on an empty page.',
  }),
  sessions: Type.Array(SessionWithEvents),
});
export type BatchSessionsPage = Static<typeof BatchSessionsPage>;

/** RFC 9457 problem details, the body of every error. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.Enum(ERROR_CODES, { description: 'Stable identifier of the error, from a closed list.' }),
    request_id: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { description: 'RFC 9457 problem details (application/problem+json).' },
);
export type Problem = Static<typeof Problem>;
