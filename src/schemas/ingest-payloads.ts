/**
 * The batched client route, POST /api/v1/clickstream/ingest: registrations, events and irrelevant flags in
 * one body, which is what a page that is closing can send in one beacon. Each item is the body of its
 * single route and is checked alone, so that one bad item is refused with its path while the others are
 * stored: the body is validated as an envelope (`IngestEnvelope`), and `IngestBody` documents the items.
 */
import { Type, type Static, type TObject, type TProperties, type TSchema } from 'typebox';
import { DEFAULT_LIMITS } from '../domain/limits.js';
import { OrNull } from './json-schemas.js';
import { AddEventsBody, RegisterSessionBody } from './payloads.js';
import { AddEventsResponse, MarkIrrelevantResponse, RegisterSessionResponse } from './records.js';

const SECTION_LIMIT = `At most ${DEFAULT_LIMITS.maxIngestItems} items by default (CLICKSTREAM_MAX_INGEST_ITEMS).`;

const SESSION_ID = Type.String({ description: 'Id of a registered search session (or one registered in this body).' });

function sections<S extends TSchema, E extends TSchema, I extends TSchema>(session: S, events: E, irrelevant: I) {
  return {
    // null is absent, as for every optional field of the API (EmbeddingStudio's clients send null).
    sessions: Type.Optional(
      OrNull(
        Type.Array(session, { description: `Bodies of POST /session, registered first, in order. ${SECTION_LIMIT}` }),
      ),
    ),
    events: Type.Optional(
      OrNull(
        Type.Array(events, {
          description: `Bodies of POST /session/events, applied after the registrations. ${SECTION_LIMIT}`,
        }),
      ),
    ),
    irrelevant: Type.Optional(
      OrNull(
        Type.Array(irrelevant, {
          description: `Session ids to flag as irrelevant (POST /session/irrelevant), applied last. ${SECTION_LIMIT}`,
        }),
      ),
    ),
  };
}

const example = {
  sessions: [
    {
      session_id: '0193a7c2d5e04b7c9a3e2f1d0c4b5a69',
      search_query: 'red shoes',
      search_results: [{ object_id: 'shoe-17', rank: 0.92 }, { object_id: 'shoe-4' }],
    },
  ],
  events: [
    {
      session_id: '0193a7c2d5e04b7c9a3e2f1d0c4b5a69',
      events: [{ event_id: '0193a7c2d9114e2f8b6c1a0d3e5f7a21', object_id: 'shoe-17', event_type: 'click' }],
    },
  ],
  irrelevant: [],
};

/** What the OpenAPI document shows: each item has the shape of its single route's body. */
export const IngestBody = Type.Object(sections(RegisterSessionBody, AddEventsBody, SESSION_ID), {
  additionalProperties: false,
  description:
    'Each item is all or nothing and answered in order; a session registered in this body may take events in it.',
  examples: [example],
});
export type IngestBody = Static<typeof IngestBody>;

/** What the body is validated with as a whole: the items are checked one by one (services/bulk-ingest.ts). */
export const IngestEnvelope = Type.Object(sections(Type.Unknown(), Type.Unknown(), Type.Unknown()), {
  additionalProperties: false,
});
export type IngestEnvelope = Static<typeof IngestEnvelope>;

const FieldErrorSchema = Type.Object({ path: Type.String(), message: Type.String() });

/** An item refused alone: its status and code as the single route would answer, and what was wrong where. */
export const ItemRefused = Type.Object({
  status: Type.Integer({ minimum: 400, maximum: 499 }),
  code: Type.String(),
  detail: Type.String(),
  errors: Type.Array(FieldErrorSchema, { description: 'Paths from the body root: sessions[2].search_query.' }),
});
export type ItemRefused = Static<typeof ItemRefused>;

const accepted = <P extends TProperties>(answer: TObject<P>) =>
  Type.Object({ status: Type.Literal(200), ...answer.properties });

export const IngestResponse = Type.Object({
  results: Type.Object({
    sessions: Type.Array(Type.Union([accepted(RegisterSessionResponse), ItemRefused])),
    events: Type.Array(Type.Union([accepted(AddEventsResponse), ItemRefused])),
    irrelevant: Type.Array(Type.Union([accepted(MarkIrrelevantResponse), ItemRefused])),
  }),
});
export type IngestResponse = Static<typeof IngestResponse>;
export type IngestResults = IngestResponse['results'];
