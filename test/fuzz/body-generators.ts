/**
 * Generators of request bodies per write route: valid bodies (ids shared with the other generators so that
 * requests meet), valid bodies with one to three things broken, bodies with every field of a hostile
 * value, and garbage; each with what happens to its bytes after serialization (truncated, BOM, invalid
 * bytes inserted) and the whitespace between tokens.
 */
import fc from 'fast-check';
import type { BodyRoute, IngestSection } from './routes.js';
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
import {
  BASELINE_SESSIONS,
  EVENT_POOL,
  MAX_INGEST_ITEMS,
  OBJECT_POOL,
  RELEASE_POOL,
  SESSION_POOL,
} from './settings.js';
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

const fewResults: fc.Arbitrary<Raw[]> = fc
  .uniqueArray(oneOfStrings(OBJECT_POOL), { maxLength: 6 })
  .chain((ids) => (ids.length === 0 ? fc.constant<Raw[]>([]) : fc.tuple(...ids.map(validResult))));
/** Close to the limit of results per session (1000), and just over it. */
const manyResults: fc.Arbitrary<Raw[]> = fc
  .constantFrom(999, 1000, 1001)
  .map((count) => Array.from({ length: count }, (_, i) => obj([['object_id', str(`many-${i}`)]])));

const sessionBody = (results: fc.Arbitrary<Raw[]>, sessionId = newSessionId): fc.Arbitrary<Raw> =>
  fc
    .record({
      sessionId,
      query: fc.oneof(
        fc.string({ maxLength: 30 }).map(str),
        fc.constant(str('')),
        fc.string({ unit: 'grapheme', maxLength: 20 }).map(str),
        metaObject,
        fc.array(jsonValue, { maxLength: 3 }).map(fromJson),
      ),
      results,
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

const validSessionBody = sessionBody(
  fc.oneof({ arbitrary: fewResults, weight: 40 }, { arbitrary: manyResults, weight: 1 }),
);
/**
 * A registration with a few results (an ingest body carries several; the limits are the single route's),
 * more often of a new id, so that events in the same body find a session they can be added to.
 */
const fewSessionBody = sessionBody(
  fewResults,
  fc.oneof({ arbitrary: plainId, weight: 3 }, { arbitrary: newSessionId, weight: 2 }),
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

const eventsBody = (events: fc.Arbitrary<Raw[]>): fc.Arbitrary<Raw> =>
  fc.tuple(knownSessionId, events).map(([sessionId, list]) =>
    obj([
      ['session_id', sessionId],
      ['events', arr(list)],
    ]),
  );
const fewEvents = fc.array(validEvent, { maxLength: 6 });
const validEventsBody = eventsBody(
  fc.oneof({ arbitrary: fewEvents, weight: 40 }, { arbitrary: manyEvents, weight: 1 }),
);
/** Events groups of a few events, for ingest bodies (see fewSessionBody). */
const fewEventsBody = eventsBody(fc.array(validEvent, { maxLength: 4 }));

const validIrrelevantBody: fc.Arbitrary<Raw> = knownSessionId.map((sessionId) => obj([['session_id', sessionId]]));

const validReleaseBody: fc.Arbitrary<Raw> = fc
  .oneof({ arbitrary: oneOfStrings(RELEASE_POOL).map(str), weight: 5 }, { arbitrary: plainId, weight: 1 })
  .map((releaseId) => obj([['release_id', releaseId]]));

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

/** A valid body, then 1..3 things broken. */
const broken = (valid: fc.Arbitrary<Raw>): fc.Arbitrary<Raw> =>
  fc
    .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([raw, mutations]) => mutations.reduce(applyMutation, raw));

// ----- ingest bodies: items of the single routes in one body -----

/** The value of `key` in a raw object, if it is one and has the key. */
function entryOf(raw: Raw, key: string): Raw | undefined {
  if (raw.t !== 'obj') return undefined;
  return raw.entries.find(([name]) => name.t === 'str' && name.value === key)?.[1];
}

/** A raw object with the value of `key` edited (and added when `add`); anything else as it is. */
function withEntry(raw: Raw, key: string, edit: (value: Raw | undefined) => Raw, add = false): Raw {
  if (raw.t !== 'obj') return raw;
  const has = entryOf(raw, key) !== undefined;
  if (!has && !add) return raw;
  const entries = has
    ? raw.entries.map(([name, value]) =>
        name.t === 'str' && name.value === key ? ([name, edit(value)] as const) : ([name, value] as const),
      )
    : [...raw.entries, [str(key), edit(undefined)] as const];
  return { t: 'obj', entries };
}

/**
 * A copy of an item that differs from it where its route compares content, so that one of the two is
 * refused with a conflict (which one depends on which commits first, when both are in one section).
 */
function conflicting(item: Raw, section: IngestSection, salt: number): Raw {
  if (section === 'sessions') return withEntry(item, 'search_query', () => str(`another query ${salt}`), true);
  if (section === 'events') {
    return withEntry(item, 'events', (events) =>
      events?.t === 'arr' && events.items[0]
        ? arr([withEntry(events.items[0], 'object_id', () => str(`o-other-${salt}`)), ...events.items.slice(1)])
        : (events ?? arr([])),
    );
  }
  return item;
}

/** Items mostly valid, some broken as single routes' bodies are, a few of any value. */
const itemOf = (valid: fc.Arbitrary<Raw>) =>
  fc.oneof(
    { arbitrary: valid, weight: 8 },
    { arbitrary: broken(valid), weight: 3 },
    { arbitrary: hostileValue, weight: 1 },
  );

/** Which session of the body's own registrations an item names (by index), or null for another id. */
const ownSession = fc.option(fc.nat(), { nil: null, freq: 3 });

/** Re-sent items (the same item twice) and conflicting ones, in one section: what a retrying client sends. */
interface Echo {
  readonly section: IngestSection;
  readonly from: number;
  readonly to: number;
  readonly conflict: boolean;
}
const echo: fc.Arbitrary<Echo> = fc.record({
  section: fc.constantFrom<IngestSection>('sessions', 'events', 'irrelevant'),
  from: fc.nat(),
  to: fc.nat(),
  conflict: fc.boolean(),
});

/**
 * One section of far more items than usual: up to the limit of items per section (items refused one by
 * one: a registration without fields costs no write), and just over it (the body refused whole).
 */
const bigSection: fc.Arbitrary<readonly [IngestSection, Raw[]]> = fc.oneof(
  fc
    .constantFrom(MAX_INGEST_ITEMS - 1, MAX_INGEST_ITEMS, MAX_INGEST_ITEMS + 1)
    .map((count): readonly [IngestSection, Raw[]] => ['sessions', Array.from({ length: count }, () => obj([]))]),
  fc.constant<readonly [IngestSection, Raw[]]>([
    'irrelevant',
    Array.from({ length: MAX_INGEST_ITEMS + 1 }, (_, index): Raw => ({ t: 'ref', pool: 'recent', index })),
  ]),
);

/**
 * An ingest body: registrations, events groups (some on sessions registered in the same body) and
 * irrelevant flags, valid items mixed with broken ones, re-sent and conflicting copies among them; the
 * sections in either order, empty ones left out or sent as [].
 */
const mixedIngestBody: fc.Arbitrary<Raw> = fc
  .record({
    sessions: fc.array(itemOf(fewSessionBody), { maxLength: 4 }),
    events: fc.array(fc.tuple(ownSession, itemOf(fewEventsBody)), { maxLength: 4 }),
    irrelevant: fc.array(
      fc.tuple(ownSession, fc.oneof({ arbitrary: knownSessionId, weight: 6 }, { arbitrary: hostileValue, weight: 1 })),
      { maxLength: 3 },
    ),
    echoes: fc.array(echo, { maxLength: 2 }),
    empty: fc.constantFrom('omit', 'omit', 'send'),
    reversed: fc.boolean(),
  })
  .map(({ sessions, events, irrelevant, echoes, empty, reversed }) => {
    const ids = sessions.flatMap((item) => entryOf(item, 'session_id') ?? []);
    const own = (index: number | null): Raw | undefined =>
      index === null || ids.length === 0 ? undefined : ids[index % ids.length];
    const sections: Record<IngestSection, Raw[]> = {
      sessions,
      events: events.map(([index, item]) => {
        const id = own(index);
        return id ? withEntry(item, 'session_id', () => id) : item;
      }),
      irrelevant: irrelevant.map(([index, id]) => own(index) ?? id),
    };
    echoes.forEach(({ section, from, to, conflict }, salt) => {
      const items = sections[section];
      const original = items[from % Math.max(1, items.length)];
      if (!original) return;
      const copy = conflict ? conflicting(original, section, salt) : original;
      sections[section] = [...items.slice(0, to % (items.length + 1)), copy, ...items.slice(to % (items.length + 1))];
    });
    const order: IngestSection[] = reversed
      ? ['irrelevant', 'events', 'sessions']
      : ['sessions', 'events', 'irrelevant'];
    return obj(
      order.flatMap((section) =>
        sections[section].length > 0 || empty === 'send' ? [[section, arr(sections[section])] as const] : [],
      ),
    );
  });

/** Now and then a body of one huge section. */
const validIngestBody: fc.Arbitrary<Raw> = fc.oneof(
  { arbitrary: mixedIngestBody, weight: 40 },
  { arbitrary: bigSection.map(([section, items]) => obj([[section, arr(items)]])), weight: 1 },
);
export const VALID_BODIES: Readonly<Record<BodyRoute, fc.Arbitrary<Raw>>> = {
  register: validSessionBody,
  events: validEventsBody,
  irrelevant: validIrrelevantBody,
  ingest: validIngestBody,
  release: validReleaseBody,
};
const FIELDS: Readonly<Record<BodyRoute, readonly string[]>> = {
  register: words('session_id search_query search_results search_meta payload_filter sort_by user_id created_at'),
  events: ['session_id', 'events'],
  irrelevant: ['session_id'],
  ingest: ['sessions', 'events', 'irrelevant'],
  release: ['release_id'],
};

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
export const mutatedBody = (route: BodyRoute): fc.Arbitrary<Raw> => broken(VALID_BODIES[route]);

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
