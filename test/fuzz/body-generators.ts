/**
 * Generators of request bodies per write route: valid bodies (ids shared with the other generators so that
 * requests meet), valid bodies with one to three things broken, bodies with every field of a hostile
 * value, and garbage; each with what happens to its bytes after serialization (truncated, BOM, invalid
 * bytes inserted) and the whitespace between tokens.
 */
import fc from 'fast-check';
import type { BodyRoute } from './routes.js';
import {
  applyMutation,
  arr,
  fromJson,
  lit,
  NULL,
  obj,
  str,
  type Mutation,
  type Raw,
  type RefPool,
} from './raw-json.js';
import { BASELINE_SESSIONS, EVENT_POOL, OBJECT_POOL, RELEASE_POOL, SESSION_POOL } from './settings.js';
import {
  hostileKey,
  hostileNumber,
  hostileValue,
  invalidUtf8,
  jsonValue,
  oneOfStrings,
  randomJson,
  words,
} from './value-generators.js';

// ----- valid bodies -----

/** An optional field: absent, null (read as absent) or a value. */
function optional(value: fc.Arbitrary<Raw>): fc.Arbitrary<Raw | undefined> {
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 5 },
    { arbitrary: fc.constant(NULL), weight: 1 },
    { arbitrary: value, weight: 4 },
  );
}

function objectOf(fields: readonly (readonly [string, Raw | undefined])[]): Raw {
  return obj(fields.filter((field): field is readonly [string, Raw] => field[1] !== undefined));
}

const plainId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,30}$/).map(str);
const unicodeId = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map(str);
const sessionRef = fc
  .tuple(fc.constantFrom<RefPool>('session', 'recent'), fc.nat())
  .map(([pool, index]): Raw => ({ t: 'ref', pool, index }));

const newSessionId = fc.oneof(
  { arbitrary: oneOfStrings(SESSION_POOL).map(str), weight: 4 },
  { arbitrary: plainId, weight: 3 },
  { arbitrary: unicodeId, weight: 1 },
  { arbitrary: sessionRef, weight: 2 },
  { arbitrary: oneOfStrings(BASELINE_SESSIONS).map(str), weight: 1 },
);
const knownSessionId = fc.oneof(
  { arbitrary: sessionRef, weight: 6 },
  { arbitrary: oneOfStrings(SESSION_POOL).map(str), weight: 2 },
  { arbitrary: oneOfStrings(BASELINE_SESSIONS).map(str), weight: 2 },
  { arbitrary: plainId, weight: 1 },
);

const validTimestamp = fc
  .integer({ min: -86_000, max: 290 })
  .map((offset): Raw => ({ t: 'ts', offset, form: 'plain' }));
const plainMeta = fc
  .array(fc.tuple(fc.string({ maxLength: 8 }), jsonValue), { maxLength: 4 })
  .map((entries): Raw => ({ t: 'obj', entries: entries.map(([key, value]) => [str(key), fromJson(value)] as const) }));
/** A meta object; now and then with a number JSON can write but not every reader can hold. */
const metaObject: fc.Arbitrary<Raw> = fc.oneof(
  { arbitrary: plainMeta, weight: 12 },
  {
    arbitrary: fc
      .tuple(plainMeta, fc.string({ maxLength: 6 }), hostileNumber)
      .map(([meta, key, value]): Raw =>
        meta.t === 'obj' ? { t: 'obj', entries: [...meta.entries, [str(key), value]] } : meta,
      ),
    weight: 1,
  },
);

const validResult = (objectId: string) =>
  fc
    .record({
      rank: optional(fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => lit(JSON.stringify(d)))),
      meta: optional(metaObject),
      alias: fc.boolean(),
    })
    .map(({ rank, meta, alias }) =>
      objectOf([
        ['object_id', str(objectId)],
        ['rank', rank],
        [alias ? 'item_info' : 'meta', meta],
      ]),
    );

const validSessionBody: fc.Arbitrary<Raw> = fc
  .record({
    sessionId: newSessionId,
    query: fc.oneof(
      fc.string({ maxLength: 30 }).map(str),
      fc.constant(str('')),
      fc.string({ unit: 'grapheme', maxLength: 20 }).map(str),
      metaObject,
      fc.array(jsonValue, { maxLength: 3 }).map(fromJson),
    ),
    results: fc.oneof(
      {
        arbitrary: fc
          .uniqueArray(oneOfStrings(OBJECT_POOL), { maxLength: 6 })
          .chain((ids) => (ids.length === 0 ? fc.constant<Raw[]>([]) : fc.tuple(...ids.map(validResult)))),
        weight: 40,
      },
      // Close to the limit of results per session (1000), and just over it.
      {
        arbitrary: fc
          .constantFrom(999, 1000, 1001)
          .map((count) => Array.from({ length: count }, (_, i) => obj([['object_id', str(`many-${i}`)]]))),
        weight: 1,
      },
    ),
    searchMeta: optional(metaObject),
    payloadFilter: optional(metaObject),
    sortBy: optional(metaObject),
    userId: optional(fc.oneof(plainId, unicodeId)),
    createdAt: optional(validTimestamp),
  })
  .map((s) =>
    objectOf([
      ['session_id', s.sessionId],
      ['search_query', s.query],
      ['search_results', arr(s.results)],
      ['search_meta', s.searchMeta],
      ['payload_filter', s.payloadFilter],
      ['sort_by', s.sortBy],
      ['user_id', s.userId],
      ['created_at', s.createdAt],
    ]),
  );

const validEvent: fc.Arbitrary<Raw> = fc
  .record({
    eventId: fc.oneof({ arbitrary: oneOfStrings(EVENT_POOL).map(str), weight: 4 }, { arbitrary: plainId, weight: 1 }),
    objectId: fc.oneof({ arbitrary: oneOfStrings(OBJECT_POOL).map(str), weight: 5 }, { arbitrary: plainId, weight: 1 }),
    eventType: optional(oneOfStrings(['click', 'view', 'purchase', 'add_to_cart', 'клик', '\u{1f600}']).map(str)),
    createdAt: optional(validTimestamp),
    meta: optional(metaObject),
    alias: fc.boolean(),
  })
  .map((e) =>
    objectOf([
      ['event_id', e.eventId],
      ['object_id', e.objectId],
      ['event_type', e.eventType],
      ['created_at', e.createdAt],
      [e.alias ? 'item_info' : 'meta', e.meta],
    ]),
  );

/** Close to the limit of events per request (1000), and just over it: ids from a run-wide prefix. */
const manyEvents: fc.Arbitrary<Raw[]> = fc
  .tuple(fc.constantFrom(999, 1000, 1001), fc.stringMatching(/^[a-z]{1,4}$/))
  .map(([count, prefix]) =>
    Array.from({ length: count }, (_, i) =>
      obj([
        ['event_id', str(`${prefix}-${i}`)],
        ['object_id', str(OBJECT_POOL[i % OBJECT_POOL.length] ?? 'o-0')],
      ]),
    ),
  );

const validEventsBody: fc.Arbitrary<Raw> = fc
  .tuple(
    knownSessionId,
    fc.oneof({ arbitrary: fc.array(validEvent, { maxLength: 6 }), weight: 40 }, { arbitrary: manyEvents, weight: 1 }),
  )
  .map(([sessionId, events]) =>
    obj([
      ['session_id', sessionId],
      ['events', arr(events)],
    ]),
  );

const validIrrelevantBody: fc.Arbitrary<Raw> = knownSessionId.map((sessionId) => obj([['session_id', sessionId]]));

const validReleaseBody: fc.Arbitrary<Raw> = fc
  .oneof({ arbitrary: oneOfStrings(RELEASE_POOL).map(str), weight: 5 }, { arbitrary: plainId, weight: 1 })
  .map((releaseId) => obj([['release_id', releaseId]]));

export const VALID_BODIES: Readonly<Record<BodyRoute, fc.Arbitrary<Raw>>> = {
  register: validSessionBody,
  events: validEventsBody,
  irrelevant: validIrrelevantBody,
  release: validReleaseBody,
};
const FIELDS: Readonly<Record<BodyRoute, readonly string[]>> = {
  register: words('session_id search_query search_results search_meta payload_filter sort_by user_id created_at'),
  events: ['session_id', 'events'],
  irrelevant: ['session_id'],
  release: ['release_id'],
};

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: fc.constant(NULL) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('wrap' as const), at: fc.nat(), inArray: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), entry: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), entry: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({
      op: fc.constant('dupKey' as const),
      at: fc.nat(),
      entry: fc.nat(),
      value: fc.oneof(hostileValue, randomJson),
      first: fc.boolean(),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('addField' as const),
      at: fc.nat(),
      entry: fc.nat(),
      key: hostileKey,
      value: fc.oneof(hostileValue, randomJson),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ op: fc.constant('renameKey' as const), at: fc.nat(), entry: fc.nat(), key: hostileKey }),
    weight: 1,
  },
);

// ----- whole bodies -----

export type PostOp =
  | { readonly op: 'none' }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'append'; readonly text: string }
  | { readonly op: 'bom' }
  | { readonly op: 'insertBytes'; readonly at: number; readonly bytes: Uint8Array };

export interface BodySpec {
  readonly raw: Raw;
  readonly post: PostOp;
  readonly space: string;
}

const postOp: fc.Arbitrary<PostOp> = fc.oneof(
  { arbitrary: fc.constant({ op: 'none' } as const), weight: 40 },
  { arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((at) => ({ op: 'truncate', at }) as const), weight: 4 },
  {
    arbitrary: oneOfStrings([...words(', } ] {} x {"a":1} ,]'), ' // comment', '/* c */', '\u0000', '\n\n']).map(
      (text) => ({ op: 'append', text }) as const,
    ),
    weight: 2,
  },
  { arbitrary: fc.constant({ op: 'bom' } as const), weight: 1 },
  {
    arbitrary: fc
      .tuple(fc.double({ min: 0, max: 1, noNaN: true }), invalidUtf8)
      .map(([at, bytes]) => ({ op: 'insertBytes', at, bytes }) as const),
    weight: 2,
  },
);

const space = fc.constantFrom('', '', '', ' ', '\n\t', '\r\n ');

export const bodyOf = (raw: fc.Arbitrary<Raw>, post: fc.Arbitrary<PostOp> = postOp): fc.Arbitrary<BodySpec> =>
  fc.record({ raw, post, space });

/** A valid body of `route`, then 1..3 things broken. */
export const mutatedBody = (route: BodyRoute): fc.Arbitrary<Raw> =>
  fc
    .tuple(VALID_BODIES[route], fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([raw, mutations]) => mutations.reduce(applyMutation, raw));

/** Every field of `route` present, each valid-looking or of a hostile value, plus perhaps unknown fields. */
export const fieldsBody = (route: BodyRoute): fc.Arbitrary<Raw> =>
  fc
    .tuple(
      fc.tuple(
        ...FIELDS[route].map((field) => fc.tuple(fc.constant(field), fc.option(hostileValue, { nil: undefined }))),
      ),
      fc.array(fc.tuple(hostileKey, hostileValue), { maxLength: 2 }),
      VALID_BODIES[route],
    )
    .map(([fields, extra, valid]): Raw => {
      const validEntries = valid.t === 'obj' ? valid.entries : [];
      const entries = fields.flatMap(([field, value]): (readonly [Raw, Raw])[] => {
        if (value !== undefined) return [[str(field), value]];
        const kept = validEntries.find(([key]) => key.t === 'str' && key.value === field);
        return kept ? [kept] : [];
      });
      return { t: 'obj', entries: [...entries, ...extra] };
    });

export const anyBody: fc.Arbitrary<Raw> = fc.oneof(
  { arbitrary: hostileValue, weight: 4 },
  { arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes): Raw => ({ t: 'bytes', bytes })), weight: 2 },
  {
    arbitrary: oneOfStrings(['', ' ', '\n', 'null', '[]', '{}', '"{}"', '{', '}', '{"a"}', 'true']).map(lit),
    weight: 2,
  },
  {
    arbitrary: fc
      .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }))
      .map(([a, b]) => lit(`session_id=${encodeURIComponent(a)}&events=${encodeURIComponent(b)}`)),
    weight: 1,
  },
  {
    arbitrary: fc.constant(lit('--x\r\nContent-Disposition: form-data; name="session_id"\r\n\r\nabc\r\n--x--\r\n')),
    weight: 1,
  },
);
