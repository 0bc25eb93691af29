/**
 * Property-based fuzzing of the real HTTP API: fast-check generates hostile requests (wrong types, huge and
 * broken strings, invalid UTF-8, deep nesting, prototype keys, numbers JSON cannot store, wrong content types,
 * truncated and duplicate-key bodies, odd paths, queries and keys), mixed with valid requests and mutations
 * of valid ones, and sends them byte for byte over raw sockets to a listening server: one at a time, or a
 * few at once on parallel connections (so that the service's group commit mixes them). Every answer must be
 * 2xx or a 4xx problem+json, never a 5xx, a hang or a dropped connection; requests cut off mid-body must
 * leave the server answering. A model of what acknowledged (2xx) writes stored is compared with the store
 * after every write and, in full, at the end: rejected requests change nothing.
 *
 * FUZZ_RUNS (default 5000) sets the number of property runs on SQLite (a run is one request, or a burst of
 * 2 to 4); PostgreSQL gets a fifth of them. FUZZ_SEED replays a campaign (the seed is printed); every
 * failure also writes the exact bytes of its request to a file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SessionWithEvents } from '../../src/schemas/records.js';
import { testBackends, type Backend } from '../support/backends.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// ---------------------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------------------

function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

const RUNS = envInteger('FUZZ_RUNS', 5000);
const SEED = envInteger('FUZZ_SEED', Math.floor(Math.random() * 0x7fffffff));
/** Longest wait for one complete response. */
const REQUEST_TIMEOUT_MS = 10_000;
/** The campaign stops after this many kinds of failure (all are reported). */
const MAX_FAILURE_KINDS = 40;
/** Server time moves by TICK_SECONDS every TICK_EVERY requests, so that released batches seal. */
const TICK_EVERY = 150;
const TICK_SECONDS = 250;

const ADMIN_KEY = 'fuzz-admin-key-0123456789abcdef';
const INGEST_KEY = 'fuzz-ingest-key-0123456789abcdef';
const INGEST_KEY_2 = 'fuzz-ingest-key-second-98765432';
const WRONG_KEY = 'fuzz-wrong-key-0123456789abcdef';

const APP_VARIABLES = {
  CLICKSTREAM_ADMIN_KEY: ADMIN_KEY,
  CLICKSTREAM_INGEST_KEYS: `${INGEST_KEY},${INGEST_KEY_2}`,
  CLICKSTREAM_MAX_ID_LENGTH: '256',
  CLICKSTREAM_MAX_JSON_DEPTH: '32',
  CLICKSTREAM_LATE_EVENT_GRACE_SECONDS: '600',
};

const MAX_ID_LENGTH = 256;
const PREFIX = '/api/v1/clickstream';

const ROUTES = {
  register: { method: 'POST', path: `${PREFIX}/session`, internal: false },
  events: { method: 'POST', path: `${PREFIX}/session/events`, internal: false },
  irrelevant: { method: 'POST', path: `${PREFIX}/session/irrelevant`, internal: false },
  getSession: { method: 'GET', path: `${PREFIX}/session`, internal: false },
  release: { method: 'POST', path: `${PREFIX}/internal/batch/release`, internal: true },
  batchSessions: { method: 'GET', path: `${PREFIX}/internal/batch/sessions`, internal: true },
  batches: { method: 'GET', path: `${PREFIX}/internal/batches`, internal: true },
  batch: { method: 'GET', path: `${PREFIX}/internal/batch`, internal: true },
} as const;
type RouteName = keyof typeof ROUTES;
const WRITE_ROUTES: readonly RouteName[] = ['register', 'events', 'irrelevant', 'release'];
const READ_ROUTES: readonly RouteName[] = ['getSession', 'batchSessions', 'batches', 'batch'];

const range = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);
/** Ids the generators share, so that requests meet each other: retries, conflicts, events on sessions. */
const SESSION_POOL = range('fz-s-', 40);
const BASELINE_SESSIONS = range('base-s-', 12);
const OBJECT_POOL = range('o-', 16);
const EVENT_POOL = range('e-', 24);
const RELEASE_POOL = range('rel-', 6);

// ---------------------------------------------------------------------------------------------------------
// Raw JSON: a tree that serializes to any bytes, valid JSON or not
// ---------------------------------------------------------------------------------------------------------

type TimestampForm =
  'plain' | 'milliseconds' | 'microseconds' | 'fraction' | 'dot-zero' | 'exponent' | 'string' | 'negative';

/**
 * Ids known only when a request is sent, picked by index: any registered session, one of the last few
 * registered (so that requests meet: retries, conflicts, events on fresh sessions), or a known batch.
 */
type RefPool = 'session' | 'recent' | 'batch';

type Raw =
  /** Verbatim text: numbers, literals, garbage. */
  | { readonly t: 'lit'; readonly text: string }
  /** A string written by JSON.stringify (lone surrogates and control characters escaped). */
  | { readonly t: 'str'; readonly value: string }
  /** A string whose inside is written verbatim: broken escapes, raw control characters. */
  | { readonly t: 'rawStr'; readonly inner: string }
  /** Verbatim bytes (invalid UTF-8). */
  | { readonly t: 'bytes'; readonly bytes: Uint8Array }
  /** Parts written one after the other. */
  | { readonly t: 'seq'; readonly parts: readonly Raw[] }
  /** A timestamp relative to server time when the request is sent. */
  | { readonly t: 'ts'; readonly offset: number; readonly form: TimestampForm }
  /** An id known when the request is sent: a registered session, a known batch. */
  | { readonly t: 'ref'; readonly pool: RefPool; readonly index: number }
  /** `open` × times, middle, `close` × closeTimes: deep nesting without deep trees. */
  | {
      readonly t: 'nest';
      readonly open: string;
      readonly middle: string;
      readonly close: string;
      readonly times: number;
      readonly closeTimes: number;
    }
  | { readonly t: 'arr'; readonly items: readonly Raw[] }
  | { readonly t: 'obj'; readonly entries: readonly (readonly [Raw, Raw])[] };

const lit = (text: string): Raw => ({ t: 'lit', text });
const str = (value: string): Raw => ({ t: 'str', value });
const rawStr = (inner: string): Raw => ({ t: 'rawStr', inner });
const arr = (items: readonly Raw[]): Raw => ({ t: 'arr', items });
const obj = (entries: readonly (readonly [string, Raw])[]): Raw => ({
  t: 'obj',
  entries: entries.map(([key, value]) => [str(key), value] as const),
});
const NULL = lit('null');

/** A JSON value as a raw tree (keys in their own order, `__proto__` included as an own key). */
function fromJson(value: unknown): Raw {
  if (value === null || value === undefined) return NULL;
  if (typeof value === 'string') return str(value);
  if (typeof value === 'number' || typeof value === 'boolean') return lit(JSON.stringify(value));
  if (Array.isArray(value)) return arr(value.map(fromJson));
  return obj(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, fromJson(v)] as const));
}

/** What a raw tree needs from the moment it is sent. */
interface SendContext {
  readonly now: number;
  readonly ref: (pool: RefPool, index: number) => string;
  readonly space: string;
}

function timestampText(offset: number, form: TimestampForm, now: number): string {
  const at = now + offset;
  switch (form) {
    case 'plain':
      return String(at);
    case 'milliseconds':
      return String(at * 1000 + (offset & 0x3ff));
    case 'microseconds':
      return String(at * 1_000_000);
    case 'fraction':
      return `${at}.5`;
    case 'dot-zero':
      return `${at}.0`;
    case 'exponent':
      return `${at / 1e9}e9`;
    case 'string':
      return JSON.stringify(String(at));
    case 'negative':
      return String(-at);
  }
}

function serialize(raw: Raw, ctx: SendContext, out: Buffer[]): void {
  const text = (s: string) => out.push(Buffer.from(s, 'utf8'));
  switch (raw.t) {
    case 'lit':
      text(raw.text);
      return;
    case 'str':
      text(JSON.stringify(raw.value));
      return;
    case 'rawStr':
      text(`"${raw.inner}"`);
      return;
    case 'bytes':
      out.push(Buffer.from(raw.bytes));
      return;
    case 'seq':
      for (const part of raw.parts) serialize(part, ctx, out);
      return;
    case 'ts':
      text(timestampText(raw.offset, raw.form, ctx.now));
      return;
    case 'ref':
      text(JSON.stringify(ctx.ref(raw.pool, raw.index)));
      return;
    case 'nest':
      text(raw.open.repeat(raw.times) + raw.middle + raw.close.repeat(raw.closeTimes));
      return;
    case 'arr':
      text('[');
      raw.items.forEach((item, i) => {
        if (i > 0) text(`,${ctx.space}`);
        serialize(item, ctx, out);
      });
      text(']');
      return;
    case 'obj':
      text('{');
      raw.entries.forEach(([key, value], i) => {
        if (i > 0) text(`,${ctx.space}`);
        serialize(key, ctx, out);
        text(`:${ctx.space}`);
        serialize(value, ctx, out);
      });
      text('}');
      return;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Mutations of raw trees: break one thing of a valid body
// ---------------------------------------------------------------------------------------------------------

type Mutation =
  | { readonly op: 'replace'; readonly at: number; readonly value: Raw }
  | { readonly op: 'wrap'; readonly at: number; readonly inArray: boolean }
  | { readonly op: 'delete'; readonly at: number; readonly entry: number }
  | { readonly op: 'duplicate'; readonly at: number; readonly entry: number }
  | { readonly op: 'dupKey'; readonly at: number; readonly entry: number; readonly value: Raw; readonly first: boolean }
  | { readonly op: 'addField'; readonly at: number; readonly entry: number; readonly key: Raw; readonly value: Raw }
  | { readonly op: 'renameKey'; readonly at: number; readonly entry: number; readonly key: Raw };

const isContainer = (raw: Raw): boolean => raw.t === 'arr' || raw.t === 'obj';

function countNodes(raw: Raw, containersOnly: boolean): number {
  const own = !containersOnly || isContainer(raw) ? 1 : 0;
  if (raw.t === 'arr') return own + raw.items.reduce((n, item) => n + countNodes(item, containersOnly), 0);
  if (raw.t === 'obj') return own + raw.entries.reduce((n, [, value]) => n + countNodes(value, containersOnly), 0);
  return own;
}

/** The tree with its `target`-th node (pre-order; values only, or containers only) replaced by `edit(node)`. */
function editNode(root: Raw, target: number, containersOnly: boolean, edit: (node: Raw) => Raw): Raw {
  let counter = 0;
  const walk = (node: Raw): Raw => {
    if (!containersOnly || isContainer(node)) {
      if (counter === target) {
        counter++;
        return edit(node);
      }
      counter++;
    }
    if (node.t === 'arr') return { t: 'arr', items: node.items.map(walk) };
    if (node.t === 'obj') return { t: 'obj', entries: node.entries.map(([key, value]) => [key, walk(value)] as const) };
    return node;
  };
  return walk(root);
}

function splice<T>(items: readonly T[], index: number, remove: number, ...insert: T[]): T[] {
  const copy = [...items];
  copy.splice(index, remove, ...insert);
  return copy;
}

function applyMutation(root: Raw, mutation: Mutation): Raw {
  if (mutation.op === 'replace' || mutation.op === 'wrap') {
    const at = mutation.at % countNodes(root, false);
    return editNode(root, at, false, (node) => {
      if (mutation.op === 'replace') return mutation.value;
      return mutation.inArray ? arr([node]) : obj([['value', node]]);
    });
  }
  const containers = countNodes(root, true);
  if (containers === 0) return root;
  return editNode(root, mutation.at % containers, true, (node) => {
    if (node.t === 'arr') {
      const size = node.items.length;
      const index = size === 0 ? 0 : mutation.entry % size;
      const item = node.items[index];
      switch (mutation.op) {
        case 'delete':
          return { t: 'arr', items: splice(node.items, index, 1) };
        case 'duplicate':
          return item ? { t: 'arr', items: splice(node.items, index, 0, item) } : node;
        case 'dupKey':
        case 'addField':
          return { t: 'arr', items: splice(node.items, index, 0, mutation.value) };
        case 'renameKey':
          return { t: 'arr', items: splice(node.items, index, 1, mutation.key) };
      }
    }
    if (node.t !== 'obj') return node;
    const size = node.entries.length;
    const index = size === 0 ? 0 : mutation.entry % size;
    const entry = node.entries[index];
    switch (mutation.op) {
      case 'delete':
        return { t: 'obj', entries: splice(node.entries, index, 1) };
      case 'duplicate':
        return entry ? { t: 'obj', entries: splice(node.entries, index + 1, 0, entry) } : node;
      case 'dupKey': {
        if (!entry) return node;
        const twin = [entry[0], mutation.value] as const;
        return { t: 'obj', entries: splice(node.entries, mutation.first ? index : index + 1, 0, twin) };
      }
      case 'addField':
        return { t: 'obj', entries: splice(node.entries, index, 0, [mutation.key, mutation.value] as const) };
      case 'renameKey':
        return entry ? { t: 'obj', entries: splice(node.entries, index, 1, [mutation.key, entry[1]] as const) } : node;
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------------

const oneOfStrings = (values: readonly string[]) => fc.constantFrom(...values);
/** A list written as one string, split at spaces. */
const words = (text: string): string[] => text.split(' ');
const codePoint = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCodePoint(c));

/** Characters that break things: C0 and C1 controls, lone surrogates, quotes, separators, noncharacters. */
const hostileChar = fc.oneof(
  codePoint(0x00, 0x1f),
  codePoint(0x7f, 0x9f),
  codePoint(0xd800, 0xdfff),
  oneOfStrings(['"', '\\', '/', '\u2028', '\u2029', '\ufeff', '\ufffe', '\uffff', '\u{10ffff}', '\u{1f600}', 'é']),
  codePoint(0x20, 0x7e),
);

const hostileText = fc
  .array(fc.oneof(hostileChar, fc.string({ unit: 'grapheme', maxLength: 4 })), { minLength: 1, maxLength: 24 })
  .map((parts) => parts.join(''));

const INVALID_UTF8: readonly (readonly number[])[] = [
  [0xff],
  [0xfe],
  [0xc3, 0x28],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80],
  [0xbf, 0xbf],
];

const invalidUtf8 = fc.oneof(
  fc.constantFrom(...INVALID_UTF8).map((bytes) => Uint8Array.from(bytes)),
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map((bytes) => bytes.map((b) => b | 0x80)),
);

/** Escapes JSON does not have or that make lone surrogates and control characters; raw tabs and newlines. */
const BROKEN_ESCAPES = [
  ...words(String.raw`\ud800 \udfff \udc00\ud800 \ud83d \ud83d\ude00 \u0000 \u001f \u007f \x41 \u12 \u{41} \U0041`),
  ...words(String.raw`\' \ \a \/ \b\f\n\r\t \ufeff \u2028 \ufffe \uD800\u0041`),
  '\t',
  '\u0001',
  '\n',
];

/** Strings that ids, queries and metas must survive (or refuse with a 4xx). */
const hostileString: fc.Arbitrary<Raw> = fc.oneof(
  fc.constant(str('')),
  oneOfStrings([' ', '\t', 'null', 'true', '0', '{}', '[]', '\\', '"', '__proto__', 'constructor']).map(str),
  hostileText.map(str),
  hostileText.map((text) => rawStr(text)),
  fc.string({ unit: 'binary', maxLength: 40 }).map(str),
  fc
    .tuple(
      oneOfStrings(['a', 'é', '\u{1f600}', '\u0000', '\u0085', '\ud800', 'ab', '"', '\\']),
      fc.oneof(
        { arbitrary: fc.constantFrom(255, 256, 257, 511, 512, 513, 16_383, 16_385, 65_535, 65_537), weight: 4 },
        { arbitrary: fc.integer({ min: 1, max: 70_000 }), weight: 3 },
        { arbitrary: fc.integer({ min: 70_000, max: 300_000 }), weight: 2 },
        // Over the 2 MiB body limit.
        { arbitrary: fc.constantFrom(2_097_152, 2_200_000), weight: 1 },
      ),
    )
    .map(([unit, times]) => str(unit.repeat(times))),
  fc
    .array(fc.oneof(oneOfStrings(BROKEN_ESCAPES), fc.string({ maxLength: 4 })), { minLength: 1, maxLength: 6 })
    .map((parts) => rawStr(parts.join(''))),
  fc
    .tuple(fc.string({ maxLength: 6 }), invalidUtf8, fc.string({ maxLength: 6 }))
    .map(([before, bytes, after]): Raw => ({
      t: 'seq',
      parts: [lit(`"${before.replace(/["\\]/g, '')}`), { t: 'bytes', bytes }, lit(`${after.replace(/["\\]/g, '')}"`)],
    })),
);

/** Numbers JSON can write but the store cannot keep, and numbers that are not JSON at all. */
const hostileNumber: fc.Arbitrary<Raw> = fc.oneof(
  oneOfStrings([
    ...words('1e309 -1e309 1e400 -1E400 1E+400 1.7976931348623157e308 1.8e308 5e-324 1e-400 -0 -0.0 0.0 1e21'),
    ...words('123456789012345678901234567890 -123456789012345678901234567890 9007199254740993 9223372036854775808'),
    ...words('NaN Infinity -Infinity +1 01 .5 1. 0x10 1e --1 1_000'),
    '1'.padEnd(401, '0'),
    `0.${'1'.repeat(400)}`,
  ]).map(lit),
  // Overflow without a three-digit exponent or 309 digits: a long mantissa times a short exponent.
  fc
    .tuple(fc.integer({ min: 200, max: 308 }), fc.integer({ min: 0, max: 99 }), fc.boolean())
    .map(([digits, exponent, negative]) => lit(`${negative ? '-' : ''}${'9'.repeat(digits)}e${exponent}`)),
  fc.double().map((d) => lit(Number.isFinite(d) ? JSON.stringify(d) : String(d))),
  fc.integer().map((i) => lit(String(i))),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((b) => lit(b.toString())),
);

const hostileTimestamp: fc.Arbitrary<Raw> = fc
  .tuple(
    fc.oneof(fc.integer({ min: -90_000, max: 1_000 }), fc.integer({ min: -400_000, max: 400_000 })),
    fc.constantFrom<TimestampForm>(
      'plain',
      'milliseconds',
      'microseconds',
      'fraction',
      'dot-zero',
      'exponent',
      'string',
      'negative',
    ),
  )
  .map(([offset, form]): Raw => ({ t: 'ts', offset, form }));

/** Nesting around the depth limit and far beyond it, balanced or not. */
const deepNesting: fc.Arbitrary<Raw> = fc
  .tuple(
    fc.oneof(fc.integer({ min: 26, max: 36 }), fc.constantFrom(64, 1000, 100_000)),
    fc.constantFrom(
      ['[', '0', ']'],
      ['{"a":', '0', '}'],
      ['[{"a":', '0', '}]'],
      ['{"__proto__":', '{}', '}'],
      ['["\\"[",', '0', ']'],
    ),
    fc.constantFrom('balanced', 'unclosed', 'overclosed'),
  )
  .map(([times, [open, middle, close], shape]): Raw => {
    const closeTimes = shape === 'balanced' ? times : shape === 'unclosed' ? Math.floor(times / 2) : times + 1;
    return { t: 'nest', open, middle, close, times, closeTimes };
  });

/** Prototype keys, plain and spelled with JSON escapes (written verbatim between quotes). */
const PROTO_KEYS = words(
  String.raw`__proto__ constructor prototype __proto__ __proto__ __proto__ constructor constructor`,
);

/** Keys an attacker or a sloppy client sends. */
const hostileKey: fc.Arbitrary<Raw> = fc.oneof(
  oneOfStrings(PROTO_KEYS).map((key) => rawStr(key)),
  oneOfStrings([
    ...words('session_id events search_results search_query meta item_info rank object_id event_id event_type'),
    ...words('created_at release_id user_id unknown SESSION_ID hasOwnProperty toString valueOf'),
    '',
    ' ',
    'session_id ',
    'session\u0000id',
  ]).map(str),
  hostileText.map(str),
);

const protoObject: fc.Arbitrary<Raw> = fc.oneof(
  fc
    .constantFrom(...PROTO_KEYS)
    .map((key): Raw => ({ t: 'obj', entries: [[rawStr(key), obj([['polluted', lit('true')]])]] })),
  fc.constant(obj([['constructor', obj([['prototype', obj([['polluted', lit('true')]])]])]])),
  fc.constant(obj([['constructor', lit('1')]])),
  fc.constant(obj([['prototype', obj([])]])),
);

/** Any JSON value, small. */
const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 2, stringUnit: 'grapheme' }));
const randomJson: fc.Arbitrary<Raw> = jsonValue.map(fromJson);

/** Values of the wrong type for any field. */
const wrongType: fc.Arbitrary<Raw> = oneOfStrings(
  words('true false null 0 -1 1.5 "x" "" [] {} [null] [""] [{}] {"":""}'),
).map(lit);

const bigArray: fc.Arbitrary<Raw> = fc
  .tuple(fc.constantFrom(1000, 1001, 2000), fc.constantFrom('{}', '"x"', '0', '{"object_id":"o"}'))
  .map(([count, item]) => lit(`[${Array.from({ length: count }, () => item).join(',')}]`));

const hostileValue: fc.Arbitrary<Raw> = fc.oneof(
  { arbitrary: wrongType, weight: 4 },
  { arbitrary: hostileString, weight: 4 },
  { arbitrary: hostileNumber, weight: 3 },
  { arbitrary: hostileTimestamp, weight: 2 },
  { arbitrary: deepNesting, weight: 1 },
  { arbitrary: protoObject, weight: 1 },
  { arbitrary: randomJson, weight: 2 },
  { arbitrary: bigArray, weight: 1 },
);

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

type BodyRoute = 'register' | 'events' | 'irrelevant' | 'release';
const VALID_BODIES: Readonly<Record<BodyRoute, fc.Arbitrary<Raw>>> = {
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

type PostOp =
  | { readonly op: 'none' }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'append'; readonly text: string }
  | { readonly op: 'bom' }
  | { readonly op: 'insertBytes'; readonly at: number; readonly bytes: Uint8Array };

interface BodySpec {
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

const bodyOf = (raw: fc.Arbitrary<Raw>, post: fc.Arbitrary<PostOp> = postOp): fc.Arbitrary<BodySpec> =>
  fc.record({ raw, post, space });

/** A valid body of `route`, then 1..3 things broken. */
const mutatedBody = (route: BodyRoute): fc.Arbitrary<Raw> =>
  fc
    .tuple(VALID_BODIES[route], fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([raw, mutations]) => mutations.reduce(applyMutation, raw));

/** Every field of `route` present, each valid-looking or of a hostile value, plus perhaps unknown fields. */
const fieldsBody = (route: BodyRoute): fc.Arbitrary<Raw> =>
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

const anyBody: fc.Arbitrary<Raw> = fc.oneof(
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

// ----- everything else of a request -----

interface AuthSpec {
  readonly label: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly queryKey: string | null;
}
const auth = (label: string, headers: readonly (readonly [string, string])[], queryKey: string | null = null) =>
  fc.constant<AuthSpec>({ label, headers, queryKey });

const hostileAuth: fc.Arbitrary<AuthSpec> = fc.oneof(
  auth('none', []),
  auth('wrong-bearer', [['Authorization', `Bearer ${WRONG_KEY}`]]),
  auth('wrong-x-api-key', [['X-API-Key', WRONG_KEY]]),
  auth('basic', [['Authorization', `Basic ${Buffer.from(`u:${ADMIN_KEY}`).toString('base64')}`]]),
  auth('bearer-only', [['Authorization', 'Bearer']]),
  auth('bearer-two-words', [['Authorization', `Bearer ${ADMIN_KEY} ${ADMIN_KEY}`]]),
  auth('raw-key', [['Authorization', ADMIN_KEY]]),
  auth('empty-authorization', [['Authorization', '']]),
  auth('empty-x-api-key', [['X-API-Key', '']]),
  auth('prefix-key', [['Authorization', `Bearer ${ADMIN_KEY.slice(0, -1)}`]]),
  auth('longer-key', [['X-API-Key', `${INGEST_KEY}x`]]),
  auth('latin1-key', [['X-API-Key', `${INGEST_KEY.slice(0, -1)}\u00e9`]]),
  auth('two-x-api-keys', [
    ['X-API-Key', INGEST_KEY],
    ['X-API-Key', INGEST_KEY_2],
  ]),
  auth('admin-in-url', [], ADMIN_KEY),
  auth('wrong-in-url', [], WRONG_KEY),
  auth('empty-in-url', [], ''),
  auth('ingest-on-internal', [['Authorization', `Bearer ${INGEST_KEY}`]]),
  auth('ingest-in-url', [], INGEST_KEY),
);

function authFor(route: RouteName): fc.Arbitrary<AuthSpec> {
  const admin = [
    { arbitrary: auth('admin-bearer', [['Authorization', `Bearer ${ADMIN_KEY}`]]), weight: 6 },
    { arbitrary: auth('admin-x-api-key', [['X-API-Key', ADMIN_KEY]]), weight: 2 },
    { arbitrary: auth('admin-bearer-lowercase', [['authorization', `bearer   ${ADMIN_KEY}  `]]), weight: 1 },
  ];
  if (ROUTES[route].internal) return fc.oneof(...admin, { arbitrary: hostileAuth, weight: 2 });
  return fc.oneof(
    ...admin,
    { arbitrary: auth('ingest-bearer', [['Authorization', `Bearer ${INGEST_KEY}`]]), weight: 4 },
    { arbitrary: auth('ingest2-x-api-key', [['X-API-Key', INGEST_KEY_2]]), weight: 2 },
    { arbitrary: auth('ingest-in-url', [], INGEST_KEY), weight: 2 },
    { arbitrary: hostileAuth, weight: 3 },
  );
}

const contentType: fc.Arbitrary<string | null> = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 30 },
  {
    arbitrary: oneOfStrings([
      'application/json; charset=utf-8',
      'Application/JSON',
      'application/json;charset=UTF-8',
      'application/json; charset=latin1',
      'application/json ;',
      'application/json, text/plain',
    ]),
    weight: 3,
  },
  {
    arbitrary: oneOfStrings(['text/plain', 'text/plain;charset=UTF-8', 'TEXT/PLAIN', 'text/plain; charset=iso-8859-1']),
    weight: 4,
  },
  {
    arbitrary: fc.oneof(
      fc.constant(null),
      oneOfStrings([
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'application/octet-stream',
        'application/jsonp',
        'application/problem+json',
        'text/json',
        'json',
        '*/*',
        '',
      ]),
    ),
    weight: 4,
  },
);

const extraHeaders: fc.Arbitrary<readonly (readonly [string, string])[]> = fc.oneof(
  { arbitrary: fc.constant([]), weight: 8 },
  {
    arbitrary: fc.array(
      fc.oneof(
        fc.stringMatching(/^[\w.:-]{1,40}$/).map((id) => ['X-Request-Id', id] as const),
        fc.string({ maxLength: 200 }).map((id) => ['X-Request-Id', withoutControls(id)] as const),
        fc.constant(['Accept', 'text/html'] as const),
        fc.constant(['Accept-Encoding', 'gzip, br'] as const),
        fc.constant(['Content-Encoding', 'gzip'] as const),
        fc.constant(['Origin', 'https://evil.example'] as const),
        fc.constant(['X-Forwarded-For', '10.0.0.1, 127.0.0.1'] as const),
        fc.constant(['Cookie', 'a=b; __proto__=c'] as const),
      ),
      { maxLength: 3 },
    ),
    weight: 1,
  },
);

/** Percent-encodes bytes outside RFC 3986's unreserved set. */
function percentEncode(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
const encodeText = (text: string) => percentEncode(Buffer.from(text, 'utf8'));

type QueryText =
  { readonly t: 'text'; readonly text: string } | { readonly t: 'ref'; readonly pool: RefPool; readonly index: number };
interface QueryPart {
  readonly key: string;
  readonly value: QueryText | null;
}
const qtext = (text: string): QueryText => ({ t: 'text', text });

const queryNumber: fc.Arbitrary<QueryText> = fc.oneof(
  fc.integer({ min: -2, max: 1002 }).map((n) => qtext(String(n))),
  fc.integer({ min: 9990, max: 10_010 }).map((n) => qtext(String(n))),
  oneOfStrings([
    ...words('1e3 1.5 1e400 -0 NaN Infinity -Infinity 0x10 abc 9223372036854775807 9223372036854775808'),
    ...words('99999999999999999999 1e19 1e300 %00 1%00 +1 %201 [] %FF'),
    '',
  ]).map(qtext),
);

const queryString: fc.Arbitrary<QueryText> = fc.oneof(
  { arbitrary: hostileText.map((text) => qtext(encodeText(text))), weight: 4 },
  { arbitrary: invalidUtf8.map((bytes) => qtext(percentEncode(bytes))), weight: 4 },
  {
    arbitrary: oneOfStrings([...words(`%00 % %zz %C3%28 %ED%A0%80 %u0041 + %2B a%00b [] %5B%5D '"<> |^\``), '']).map(
      qtext,
    ),
    weight: 4,
  },
  {
    arbitrary: fc
      .tuple(fc.constantFrom('a', '%C3%A9', '%F0%9F%98%80'), fc.constantFrom(256, 257, 1000))
      .map(([unit, times]) => qtext(unit.repeat(times))),
    weight: 3,
  },
  // A request line longer than the HTTP parser takes (16 KiB).
  { arbitrary: fc.constant(qtext('%F0%9F%98%80'.repeat(2000))), weight: 1 },
);

const idQueryValue: fc.Arbitrary<QueryText> = fc.oneof(
  {
    arbitrary: fc
      .tuple(fc.constantFrom<RefPool>('session', 'recent'), fc.nat())
      .map(([pool, index]): QueryText => ({ t: 'ref', pool, index })),
    weight: 3,
  },
  { arbitrary: fc.nat().map((index): QueryText => ({ t: 'ref', pool: 'batch', index })), weight: 3 },
  { arbitrary: oneOfStrings([...SESSION_POOL.slice(0, 4), ...BASELINE_SESSIONS.slice(0, 2)]).map(qtext), weight: 1 },
  { arbitrary: queryString, weight: 3 },
);

const QUERY_KEYS = ['session_id', 'batch_id', 'after_number', 'limit', 'events_limit'] as const;
const queryPart: fc.Arbitrary<QueryPart> = fc.oneof(
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...QUERY_KEYS), fc.oneof(idQueryValue, queryNumber))
      .map(([key, value]): QueryPart => ({ key, value })),
    weight: 6,
  },
  {
    arbitrary: fc
      .tuple(
        oneOfStrings([
          'key',
          '__proto__',
          'constructor',
          'prototype',
          '__proto__[x]',
          'session_id[]',
          'limit[]',
          'x',
          '',
          '%00',
          'SESSION_ID',
        ]),
        fc.option(fc.oneof(queryString, queryNumber), { nil: null }),
      )
      .map(([key, value]): QueryPart => ({ key, value })),
    weight: 2,
  },
);

/** The query a read route expects, each parameter perhaps broken. */
function readQuery(route: RouteName): fc.Arbitrary<readonly QueryPart[]> {
  const sessionId = fc.oneof(
    {
      arbitrary: fc
        .tuple(fc.constantFrom<RefPool>('session', 'recent'), fc.nat())
        .map(([pool, index]): QueryText => ({ t: 'ref', pool, index })),
      weight: 4,
    },
    { arbitrary: idQueryValue, weight: 1 },
  );
  const batchId = fc.oneof(
    { arbitrary: fc.nat().map((index): QueryText => ({ t: 'ref', pool: 'batch', index })), weight: 4 },
    { arbitrary: idQueryValue, weight: 1 },
  );
  const number = (min: number, max: number) =>
    fc.oneof(
      { arbitrary: fc.integer({ min, max }).map((n) => qtext(String(n))), weight: 3 },
      { arbitrary: queryNumber, weight: 1 },
    );
  const opt = (key: string, value: fc.Arbitrary<QueryText>) =>
    fc.option(
      value.map((v): QueryPart => ({ key, value: v })),
      { nil: undefined },
    );
  const parts = (...items: fc.Arbitrary<QueryPart | undefined>[]) =>
    fc.tuple(...items).map((list) => list.filter((part): part is QueryPart => part !== undefined));
  switch (route) {
    case 'getSession':
      return parts(sessionId.map((value): QueryPart => ({ key: 'session_id', value })));
    case 'batch':
      return parts(batchId.map((value): QueryPart => ({ key: 'batch_id', value })));
    case 'batches':
      return parts(opt('limit', number(1, 1000)));
    case 'batchSessions':
      return parts(
        batchId.map((value): QueryPart => ({ key: 'batch_id', value })),
        opt('after_number', number(0, 50)),
        opt('limit', number(1, 1000)),
        opt('events_limit', number(0, 10_000)),
      );
    default:
      return fc.constant([]);
  }
}

type PathVariant =
  | 'exact'
  | 'trailing-slash'
  | 'upper'
  | 'double-slash'
  | 'dot-segment'
  | 'percent-letter'
  | 'bad-percent'
  | 'encoded-slash'
  | 'unknown'
  | 'long'
  | 'semicolon'
  | 'absolute';
const pathVariant: fc.Arbitrary<PathVariant> = fc.oneof(
  { arbitrary: fc.constant('exact' as const), weight: 60 },
  {
    arbitrary: fc.constantFrom<PathVariant>(
      'trailing-slash',
      'upper',
      'double-slash',
      'dot-segment',
      'percent-letter',
      'bad-percent',
      'encoded-slash',
      'unknown',
      'long',
      'semicolon',
      'absolute',
    ),
    weight: 3,
  },
);

function pathOf(path: string, variant: PathVariant): string {
  const cut = path.lastIndexOf('/');
  const head = path.slice(0, cut + 1);
  const last = path.slice(cut + 1);
  switch (variant) {
    case 'exact':
      return path;
    case 'trailing-slash':
      return `${path}/`;
    case 'upper':
      return path.toUpperCase();
    case 'double-slash':
      return path.replace('/clickstream/', '/clickstream//');
    case 'dot-segment':
      return `${head}./${last}`;
    case 'percent-letter':
      return `${head}%${last.charCodeAt(0).toString(16)}${last.slice(1)}`;
    case 'bad-percent':
      return `${path}%zz`;
    case 'encoded-slash':
      return `${head.slice(0, -1)}%2F${last}`;
    case 'unknown':
      return `${head}${last}x`;
    case 'long':
      return `${path}/${'a'.repeat(3000)}`;
    case 'semicolon':
      return `${path};jsessionid=1`;
    case 'absolute':
      return `http://127.0.0.1${path}`;
  }
}

interface Cut {
  /** Fraction of the body sent before the socket is closed. */
  readonly fraction: number;
  readonly mode: 'end' | 'destroy';
}

interface Template {
  readonly label: string;
  readonly route: RouteName;
  readonly method: string;
  readonly path: PathVariant;
  readonly query: readonly QueryPart[];
  readonly auth: AuthSpec;
  readonly contentType: string | null;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: BodySpec | null;
  /** Split points (fractions) of a chunked body; null: Content-Length. */
  readonly chunks: readonly number[] | null;
  readonly cut: Cut | null;
  /** Re-send the index-th acknowledged write instead (idempotency). */
  readonly retry: number | null;
}

const framing = fc.oneof(
  { arbitrary: fc.constant(null), weight: 19 },
  { arbitrary: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }), weight: 1 },
);

const otherMethod = (route: RouteName) =>
  ROUTES[route].method === 'GET'
    ? fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH')
    : fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');

function writeRequest(label: string, route: BodyRoute, body: fc.Arbitrary<BodySpec>): fc.Arbitrary<Template> {
  return fc.record({
    label: fc.constant(label),
    route: fc.constant(route),
    method: fc.oneof({ arbitrary: fc.constant('POST'), weight: 30 }, { arbitrary: otherMethod(route), weight: 1 }),
    path: pathVariant,
    query: fc.oneof(
      { arbitrary: fc.constant([]), weight: 12 },
      { arbitrary: fc.array(queryPart, { maxLength: 3 }), weight: 1 },
    ),
    auth: authFor(route),
    contentType,
    headers: extraHeaders,
    body: body,
    chunks: framing,
    cut: fc.constant(null),
    retry: fc.constant(null),
  });
}

const bodyRoute = fc.constantFrom<BodyRoute>('register', 'register', 'events', 'events', 'irrelevant', 'release');

const validRequest = bodyRoute.chain((route) =>
  writeRequest(`valid ${route}`, route, bodyOf(VALID_BODIES[route], fc.constant({ op: 'none' } as const))),
);
const mutatedRequest = bodyRoute.chain((route) => writeRequest(`mutated ${route}`, route, bodyOf(mutatedBody(route))));
const fieldsRequest = bodyRoute.chain((route) => writeRequest(`fields ${route}`, route, bodyOf(fieldsBody(route))));
const garbageRequest = bodyRoute.chain((route) => writeRequest(`garbage ${route}`, route, bodyOf(anyBody)));
const truncatedRequest = bodyRoute.chain((route) =>
  writeRequest(
    `truncated ${route}`,
    route,
    bodyOf(
      VALID_BODIES[route],
      fc.double({ min: 0, max: 1, noNaN: true }).map((at) => ({ op: 'truncate', at }) as const),
    ),
  ),
);

const readRequest = fc.constantFrom(...READ_ROUTES).chain((route) =>
  fc.record({
    label: fc.constant(`read ${route}`),
    route: fc.constant(route),
    method: fc.oneof({ arbitrary: fc.constant('GET'), weight: 20 }, { arbitrary: otherMethod(route), weight: 1 }),
    path: pathVariant,
    query: fc.oneof(
      { arbitrary: readQuery(route), weight: 6 },
      {
        arbitrary: fc
          .tuple(readQuery(route), fc.array(queryPart, { minLength: 1, maxLength: 3 }))
          .map(([a, b]) => [...a, ...b]),
        weight: 2,
      },
      { arbitrary: fc.array(queryPart, { maxLength: 4 }), weight: 2 },
    ),
    auth: authFor(route),
    contentType: fc.constant(null),
    headers: extraHeaders,
    body: fc.constant(null),
    chunks: fc.constant(null),
    cut: fc.constant(null),
    retry: fc.constant(null),
  }),
);

const retryRequest: fc.Arbitrary<Template> = fc
  .tuple(validRequest, fc.nat())
  .map(([template, index]) => ({ ...template, label: 'retry', retry: index }));

const cutRequest: fc.Arbitrary<Template> = fc
  .tuple(validRequest, fc.double({ min: 0, max: 0.999, noNaN: true }), fc.constantFrom<Cut['mode']>('end', 'destroy'))
  .map(([template, fraction, mode]) => ({ ...template, label: 'socket cut', method: 'POST', cut: { fraction, mode } }));

const requestTemplate: fc.Arbitrary<Template> = fc.oneof(
  { arbitrary: validRequest, weight: 16 },
  { arbitrary: mutatedRequest, weight: 34 },
  { arbitrary: fieldsRequest, weight: 10 },
  { arbitrary: garbageRequest, weight: 9 },
  { arbitrary: truncatedRequest, weight: 5 },
  { arbitrary: readRequest, weight: 18 },
  { arbitrary: retryRequest, weight: 6 },
  { arbitrary: cutRequest, weight: 2 },
);

/** What one property run sends: mostly one request, sometimes a few at once. */
const burst: fc.Arbitrary<readonly Template[]> = fc.oneof(
  { arbitrary: requestTemplate.map((template) => [template]), weight: 4 },
  { arbitrary: fc.array(requestTemplate, { minLength: 2, maxLength: 4 }), weight: 1 },
);

// ---------------------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over one keep-alive socket at a time
// ---------------------------------------------------------------------------------------------------------

interface HttpResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: Buffer;
}

const headerOf = (response: HttpResponse, name: string): string | undefined => response.headers.get(name)?.join(', ');

/** Parses one response from the front of `buffer`; null while incomplete. Throws on malformed framing. */
function parseResponse(buffer: Buffer, head: boolean, eof: boolean): { response: HttpResponse; rest: Buffer } | null {
  let start = 0;
  for (;;) {
    const end = buffer.indexOf('\r\n\r\n', start);
    if (end < 0) return null;
    const lines = buffer.subarray(start, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '')?.[1];
    if (status === undefined) throw new Error(`malformed status line ${JSON.stringify(lines[0])}`);
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`malformed header line ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
    }
    const code = Number(status);
    let at = end + 4;
    if (code >= 100 && code < 200) {
      start = at;
      continue;
    }
    const response = (body: Buffer): HttpResponse => ({ status: code, headers, body });
    if (head || code === 204 || code === 304) return { response: response(Buffer.alloc(0)), rest: buffer.subarray(at) };
    if (/chunked/i.test(headers.get('transfer-encoding')?.join(',') ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = buffer.indexOf('\r\n', at);
        if (lineEnd < 0) return null;
        const size = parseInt(buffer.subarray(at, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) throw new Error('malformed chunk size');
        if (size === 0) {
          const trailerEnd = buffer.indexOf('\r\n\r\n', lineEnd);
          if (trailerEnd < 0) return null;
          return { response: response(Buffer.concat(parts)), rest: buffer.subarray(trailerEnd + 4) };
        }
        if (buffer.length < lineEnd + 2 + size + 2) return null;
        parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
    }
    const length = headers.get('content-length')?.[0];
    if (length !== undefined) {
      const size = Number(length);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`malformed content-length ${length}`);
      if (buffer.length < at + size) return null;
      return { response: response(buffer.subarray(at, at + size)), rest: buffer.subarray(at + size) };
    }
    if (!eof) return null;
    return { response: response(buffer.subarray(at)), rest: Buffer.alloc(0) };
  }
}

class Connection {
  private buffer = Buffer.alloc(0);
  private closed = false;
  private lastError: Error | null = null;
  private wake: (() => void) | null = null;
  lastUsed = Date.now();

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    socket.on('error', (error) => {
      this.lastError = error;
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  get usable(): boolean {
    return !this.closed && !this.socket.destroyed && this.buffer.length === 0;
  }

  /** Sends a complete request and waits for its complete response. */
  async exchange(
    bytes: Buffer,
    head: boolean,
    timeoutMs: number,
  ): Promise<HttpResponse & { keepAlive: boolean; extraBytes: number }> {
    this.socket.write(bytes);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponse(this.buffer, head, this.closed);
      if (parsed) {
        this.buffer = Buffer.from(parsed.rest);
        this.lastUsed = Date.now();
        const connection = headerOf(parsed.response, 'connection') ?? '';
        // Answers made outside the application (the HTTP parser's own 400 and 431) close the socket without
        // saying so: only an answer of the application (it carries a request id) keeps the connection.
        const fromApp = parsed.response.headers.has('x-request-id');
        const keepAlive = fromApp && !this.closed && !/close/i.test(connection);
        return { ...parsed.response, keepAlive, extraBytes: parsed.rest.length };
      }
      if (this.closed) {
        const why = this.lastError ? ` (${this.lastError.message})` : '';
        throw new Error(
          `connection closed after ${this.buffer.length} bytes of an incomplete response${why}: ${escapeBytes(this.buffer, 200)}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no complete response within ${timeoutMs} ms (${this.buffer.length} bytes received)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Sends part of a request, then ends or destroys the socket; resolves when it is closed (or soon). */
  async sendCut(bytes: Buffer, mode: Cut['mode']): Promise<void> {
    if (mode === 'destroy') {
      this.socket.write(bytes, () => this.socket.destroy());
    } else {
      this.socket.end(bytes);
    }
    const deadline = Date.now() + 1000;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Printable ASCII as is, everything else as \xNN; at most `max` bytes shown. */
function escapeBytes(bytes: Uint8Array, max: number): string {
  let out = '';
  for (const byte of bytes.subarray(0, max)) {
    out +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return bytes.length > max ? `${out}... (${bytes.length} bytes)` : out;
}

// ---------------------------------------------------------------------------------------------------------
// The model of what acknowledged writes stored
// ---------------------------------------------------------------------------------------------------------

/** JSON text with sorted keys; numbers JSON cannot hold are written so that they never equal null. */
function canonical(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : `<non-finite ${value}>`;
  if (value === undefined) return '<undefined>';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`).join(',')}}`;
}

/** Where two canonical texts part: the store's text and the model's around the first difference. */
function difference(stored: string, model: string): string {
  let at = 0;
  while (at < stored.length && at < model.length && stored[at] === model[at]) at++;
  const around = (text: string) => JSON.stringify(text.slice(Math.max(0, at - 120), at + 160));
  return `at character ${at}, the store has …${around(stored)}… and the model …${around(model)}…`;
}

class ModelMismatch extends Error {}

/** Where a parsed body holds numbers JSON cannot write back (1e400 reads as Infinity, then stores as null). */
function nonFinitePaths(value: unknown, at: string): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [at || '(body)'];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) =>
    nonFinitePaths(item, Array.isArray(value) ? `${at}[${key}]` : `${at}${at ? '.' : ''}${key}`),
  );
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelMismatch(`${what} is not a JSON object: ${canonical(value).slice(0, 200)}`);
  }
  return value as Record<string, unknown>;
}
function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ModelMismatch(`${what} is not a string: ${canonical(value).slice(0, 200)}`);
  return value;
}
function asInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ModelMismatch(`${what} is not an integer: ${canonical(value).slice(0, 200)}`);
  }
  return value;
}
function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ModelMismatch(`${what} is not an array: ${canonical(value).slice(0, 200)}`);
  return value;
}
const given = (value: unknown): boolean => value !== undefined && value !== null;

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Without C0 controls and DEL, which a header value cannot hold. */
function withoutControls(text: string): string {
  let out = '';
  for (const c of text) if (c >= ' ' && c !== '\u007f') out += c;
  return out;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
}

/** An id as the service accepts it (so that looking it up in a store is meaningful on every backend). */
function isPlausibleId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    codePoints(value) <= MAX_ID_LENGTH &&
    value.isWellFormed() &&
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    !/[\u0000-\u001f\u007f-\u009f]/.test(value)
  );
}

interface ModelEvent {
  readonly event_id: string;
  readonly object_id: string;
  readonly event_type: string;
  readonly created_at: number;
  readonly created_at_given: boolean;
  readonly meta: unknown;
}

interface ModelSession {
  readonly session: {
    readonly session_id: string;
    readonly search_query: unknown;
    readonly search_results: readonly { object_id: string; position: number; rank: unknown; meta: unknown }[];
    readonly search_meta: unknown;
    readonly payload_filter: unknown;
    readonly sort_by: unknown;
    readonly user_id: unknown;
    readonly created_at: number;
    readonly created_at_given: boolean;
  };
  readonly batch_id: string;
  readonly session_number: number;
  irrelevant: boolean;
  readonly events: Map<string, ModelEvent>;
}

interface ModelRelease {
  readonly batch_id: string;
  readonly released_at: number;
  readonly sealed_at: number;
}

/** A request as sent. */
interface Prepared {
  readonly label: string;
  readonly route: RouteName;
  readonly method: string;
  readonly target: string;
  readonly bytes: Buffer;
  /** The body as the server reads it (chunks joined), or null. */
  readonly body: Buffer | null;
  readonly headerLength: number;
  readonly cut: Cut | null;
  /** A GET /session whose answer can be compared with the model. */
  readonly probeSession: string | null;
  readonly now: number;
}

/** The body as the service parses it: UTF-8 (invalid bytes replaced), a leading BOM ignored. */
function parsedBody(body: Buffer | null): unknown {
  if (body === null) throw new ModelMismatch('an acknowledged write had no body');
  let parsed = parsedBodies.get(body);
  if (parsed === undefined) {
    let text = body.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    try {
      parsed = { value: JSON.parse(text) as unknown };
    } catch (error) {
      parsed = { error: `an acknowledged write had a body that is not JSON: ${messageOf(error)}` };
    }
    parsedBodies.set(body, parsed);
  }
  if ('error' in parsed) throw new ModelMismatch(parsed.error);
  return parsed.value;
}
const parsedBodies = new WeakMap<Buffer, { value: unknown } | { error: string }>();

class Model {
  readonly sessions = new Map<string, ModelSession>();
  /** Registered session ids in registration order (what `ref` requests pick from). */
  readonly sessionOrder: string[] = [];
  readonly releases = new Map<string, ModelRelease>();
  readonly batchIds: string[] = [];
  /** Session ids that acknowledged writes of the campaign touched (the baseline check skips them). */
  readonly touched = new Set<string>();

  private noteBatch(batchId: string): void {
    if (!this.batchIds.includes(batchId)) this.batchIds.push(batchId);
  }

  /** Records what an acknowledged (2xx) request stored; throws ModelMismatch when its answer is impossible. */
  apply(request: Prepared, answer: unknown, exactCounts = true): void {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    switch (request.route) {
      case 'register':
        this.register(parsedBody(request.body), asRecord(answer, 'the answer'), request.now);
        return;
      case 'events':
        this.addEvents(parsedBody(request.body), asRecord(answer, 'the answer'), request.now, exactCounts);
        return;
      case 'irrelevant':
        this.markIrrelevant(parsedBody(request.body), asRecord(answer, 'the answer'));
        return;
      case 'release':
        this.release(parsedBody(request.body), asRecord(answer, 'the answer'));
        return;
      default:
        throw new ModelMismatch(`${request.method} on the read route ${request.route} answered 2xx`);
    }
  }

  private register(value: unknown, answer: Record<string, unknown>, now: number): void {
    const body = asRecord(value, 'the body');
    const sessionId = asString(body.session_id, 'session_id');
    const results = asArray(body.search_results, 'search_results').map((item, position) => {
      const result = asRecord(item, `search_results[${position}]`);
      return {
        object_id: asString(result.object_id, `search_results[${position}].object_id`),
        position,
        rank: result.rank ?? null,
        meta: result.meta ?? result.item_info ?? null,
      };
    });
    if (body.search_query === undefined) throw new ModelMismatch('search_query is missing');
    const createdAtGiven = given(body.created_at);
    const session: ModelSession['session'] = {
      session_id: sessionId,
      search_query: body.search_query,
      search_results: results,
      search_meta: body.search_meta ?? null,
      payload_filter: body.payload_filter ?? null,
      sort_by: body.sort_by ?? null,
      user_id: body.user_id ?? null,
      created_at: createdAtGiven ? asInteger(body.created_at, 'created_at') : now,
      created_at_given: createdAtGiven,
    };
    const batchId = asString(answer.batch_id, 'the answer batch_id');
    const sessionNumber = asInteger(answer.session_number, 'the answer session_number');
    const stored = this.sessions.get(sessionId);
    if (asString(answer.session_id, 'the answer session_id') !== sessionId) {
      throw new ModelMismatch(`the answer names session ${String(answer.session_id)}, not ${sessionId}`);
    }
    if (stored) {
      const first = {
        batch_id: stored.batch_id,
        session_number: stored.session_number,
        created_at: stored.session.created_at,
      };
      const again = { batch_id: batchId, session_number: sessionNumber, created_at: answer.created_at };
      if (canonical(first) !== canonical(again)) {
        throw new ModelMismatch(`a re-registration answered ${canonical(again)}, the first one ${canonical(first)}`);
      }
      return;
    }
    if (asInteger(answer.created_at, 'the answer created_at') !== session.created_at) {
      throw new ModelMismatch(
        `registered with created_at ${String(answer.created_at)}, expected ${session.created_at}`,
      );
    }
    this.sessions.set(sessionId, {
      session,
      batch_id: batchId,
      session_number: sessionNumber,
      irrelevant: false,
      events: new Map(),
    });
    this.sessionOrder.push(sessionId);
    this.touched.add(sessionId);
    this.noteBatch(batchId);
  }

  private addEvents(value: unknown, answer: Record<string, unknown>, now: number, exactCounts: boolean): void {
    const body = asRecord(value, 'the body');
    const sessionId = asString(body.session_id, 'session_id');
    const session = this.sessions.get(sessionId);
    if (!session) throw new ModelMismatch(`events were acknowledged for the unregistered session ${sessionId}`);
    const inputs = asArray(body.events, 'events');
    const byId = new Map<string, ModelEvent>();
    inputs.forEach((item, index) => {
      const input = asRecord(item, `events[${index}]`);
      const createdAtGiven = given(input.created_at);
      const event: ModelEvent = {
        event_id: asString(input.event_id, `events[${index}].event_id`),
        object_id: asString(input.object_id, `events[${index}].object_id`),
        event_type: given(input.event_type) ? asString(input.event_type, `events[${index}].event_type`) : 'click',
        created_at: createdAtGiven ? asInteger(input.created_at, `events[${index}].created_at`) : now,
        created_at_given: createdAtGiven,
        meta: input.meta ?? input.item_info ?? null,
      };
      const earlier = byId.get(event.event_id);
      if (!earlier || (!earlier.created_at_given && event.created_at_given)) byId.set(event.event_id, event);
    });
    let stored = 0;
    for (const event of byId.values()) {
      if (session.events.has(event.event_id)) continue;
      session.events.set(event.event_id, event);
      stored++;
    }
    this.touched.add(sessionId);
    const expected = { session_id: sessionId, stored, duplicates: inputs.length - stored };
    const sum = (a: Record<string, unknown>) => Number(a.stored) + Number(a.duplicates);
    const same = exactCounts
      ? canonical(expected) === canonical(answer)
      : answer.session_id === sessionId && sum(answer) === inputs.length;
    if (!same) {
      throw new ModelMismatch(`events answered ${canonical(answer)}, the model expected ${canonical(expected)}`);
    }
  }

  private markIrrelevant(value: unknown, answer: Record<string, unknown>): void {
    const sessionId = asString(asRecord(value, 'the body').session_id, 'session_id');
    const session = this.sessions.get(sessionId);
    if (!session) throw new ModelMismatch(`the unregistered session ${sessionId} was flagged irrelevant`);
    if (answer.session_id !== sessionId || answer.is_irrelevant !== true) {
      throw new ModelMismatch(`irrelevant answered ${canonical(answer)}`);
    }
    session.irrelevant = true;
    this.touched.add(sessionId);
  }

  private release(value: unknown, answer: Record<string, unknown>): void {
    const releaseId = asString(asRecord(value, 'the body').release_id, 'release_id');
    const batchId = asString(answer.batch_id, 'the answer batch_id');
    if (answer.release_id !== releaseId) throw new ModelMismatch(`release answered ${canonical(answer)}`);
    const release: ModelRelease = {
      batch_id: batchId,
      released_at: asInteger(answer.released_at, 'released_at'),
      sealed_at: asInteger(answer.sealed_at, 'sealed_at'),
    };
    const earlier = this.releases.get(releaseId);
    if (earlier && canonical(earlier) !== canonical(release)) {
      throw new ModelMismatch(`release ${releaseId} answered ${canonical(release)}, first ${canonical(earlier)}`);
    }
    this.releases.set(releaseId, release);
    this.noteBatch(batchId);
  }

  /** A session as `store.findSession` returns it. */
  expectedRecord(session: ModelSession): unknown {
    return {
      ...session.session,
      batch_id: session.batch_id,
      session_number: session.session_number,
      is_irrelevant: session.irrelevant,
    };
  }

  /** A session as `store.listBatchSessions` returns it (events sorted by id). */
  expectedPage(session: ModelSession): unknown {
    const { created_at_given: _given, ...fields } = session.session;
    const positions = new Map(session.session.search_results.map((r) => [r.object_id, r.position]));
    return {
      ...fields,
      batch_id: session.batch_id,
      session_number: session.session_number,
      is_irrelevant: session.irrelevant,
      events_truncated: false,
      events: [...session.events.values()]
        .sort((a, b) => (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0))
        .map(({ created_at_given: _g, ...event }) => ({ ...event, position: positions.get(event.object_id) ?? null })),
    };
  }
}

function pageWithSortedEvents(session: SessionWithEvents): unknown {
  return {
    ...session,
    events: [...session.events].sort((a, b) => (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0)),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The campaign
// ---------------------------------------------------------------------------------------------------------

interface Failure {
  readonly run: number;
  readonly reason: string;
  readonly request: string;
  readonly file: string | null;
}

/** Failures alike (same route, same reason but for numbers and quoted text), counted, with first examples. */
interface FailureGroup {
  readonly signature: string;
  count: number;
  readonly examples: Failure[];
}

class Campaign {
  readonly model = new Model();
  readonly byStatus = new Map<string, number>();
  readonly byLabel = new Map<string, number>();
  readonly byCode = new Map<string, number>();
  readonly failures = new Map<string, FailureGroup>();
  failureCount = 0;
  /** Acknowledged writes, re-sent by `retry` requests. */
  private readonly history: Prepared[] = [];
  /** One keep-alive connection per slot of a burst. */
  private readonly connections: (Connection | null)[] = [];
  private failureDir: string | null = null;
  /** Property runs (bursts) and requests sent. */
  run = 0;
  requests = 0;

  constructor(
    private readonly t: TestApp,
    private readonly port: number,
    private readonly backend: Backend,
  ) {}

  private count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private ref = (pool: RefPool, index: number): string => {
    const sessions = this.model.sessionOrder;
    const list = pool === 'batch' ? this.model.batchIds : pool === 'recent' ? sessions.slice(-5) : sessions;
    return list[index % Math.max(1, list.length)] ?? (pool === 'batch' ? 'no-batch-yet' : 'fz-s-0');
  };

  /** Builds the exact bytes of a template, at the current server time. */
  prepare(template: Template): Prepared {
    const now = this.t.clock.now;
    if (template.retry !== null && this.history.length > 0) {
      const original = this.history[template.retry % this.history.length];
      if (original) return { ...original, label: 'retry', now };
    }
    const route = ROUTES[template.route];
    const ctx: SendContext = { now, ref: this.ref, space: template.body?.space ?? '' };
    const query = template.query.map((part) => {
      if (part.value === null) return part.key;
      const value = part.value.t === 'text' ? part.value.text : encodeText(this.ref(part.value.pool, part.value.index));
      return `${part.key}=${value}`;
    });
    if (template.auth.queryKey !== null) query.push(`key=${encodeText(template.auth.queryKey)}`);
    const path = pathOf(route.path, template.path);
    const target = query.length > 0 ? `${path}?${query.join('&')}` : path;

    let body: Buffer | null = null;
    if (template.body) {
      const out: Buffer[] = [];
      serialize(template.body.raw, ctx, out);
      body = postProcess(Buffer.concat(out), template.body.post);
    }
    const head = [`${template.method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${this.port}`];
    for (const [name, value] of template.auth.headers) head.push(`${name}: ${value}`);
    if (template.contentType !== null && body !== null) head.push(`Content-Type: ${template.contentType}`);
    for (const [name, value] of template.headers) head.push(`${name}: ${value}`);
    let payload: Buffer = Buffer.alloc(0);
    if (body !== null && template.chunks !== null) {
      head.push('Transfer-Encoding: chunked');
      payload = chunked(body, template.chunks);
    } else if (body !== null) {
      head.push(`Content-Length: ${body.length}`);
      payload = body;
    } else if (template.method === 'POST' || template.method === 'PUT' || template.method === 'PATCH') {
      head.push('Content-Length: 0');
    }
    const headerBytes = Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1');
    const onlySessionId =
      template.route === 'getSession' &&
      template.method === 'GET' &&
      template.path === 'exact' &&
      template.query.length === 1 &&
      template.query[0]?.key === 'session_id' &&
      template.query[0].value?.t === 'ref';
    return {
      label: template.label,
      route: template.route,
      method: template.method,
      target,
      bytes: Buffer.concat([headerBytes, payload]),
      body,
      headerLength: headerBytes.length,
      cut: template.cut,
      probeSession: onlySessionId ? new URLSearchParams(target.split('?')[1]).get('session_id') : null,
      now,
    };
  }

  private async connectionFor(slot: number): Promise<Connection> {
    const current = this.connections[slot];
    // A socket idle for long may be closed by the server just as a request goes out: start a new one.
    if (current?.usable && Date.now() - current.lastUsed < 1000) return current;
    current?.close();
    const fresh = await Connection.open(this.port);
    this.connections[slot] = fresh;
    return fresh;
  }

  private dropConnection(slot: number): void {
    this.connections[slot]?.close();
    this.connections[slot] = null;
  }

  /** Sends a complete request on the connection of `slot` and waits for the complete response. */
  async send(request: Prepared, slot = 0): Promise<HttpResponse> {
    const connection = await this.connectionFor(slot);
    try {
      const response = await connection.exchange(request.bytes, request.method === 'HEAD', REQUEST_TIMEOUT_MS);
      // Bytes after the response on a connection kept open would be taken for the next response.
      if (response.keepAlive && response.extraBytes > 0) {
        this.fail(request, `${response.extraBytes} bytes came after the response on a kept-alive connection`);
      }
      if (!response.keepAlive || response.extraBytes > 0) this.dropConnection(slot);
      return response;
    } catch (error) {
      this.dropConnection(slot);
      throw error;
    }
  }

  fail(request: Prepared | null, reason: string): void {
    this.failureCount++;
    const kind = (reason.split(': ')[0] ?? reason).replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N');
    const signature = `${request?.route ?? 'store'}: ${kind.slice(0, 100)}`;
    let group = this.failures.get(signature);
    if (!group) {
      group = { signature, count: 0, examples: [] };
      this.failures.set(signature, group);
    }
    group.count++;
    if (group.examples.length >= 2) return;
    let file: string | null = null;
    if (request) {
      this.failureDir ??= mkdtempSync(join(tmpdir(), 'clickstream-fuzz-'));
      file = join(this.failureDir, `${this.backend}-run-${this.run}-${this.failureCount}.http`);
      writeFileSync(file, request.bytes);
    }
    group.examples.push({ run: this.run, reason, request: request ? describeRequest(request) : '(none)', file });
    if (this.failures.size >= MAX_FAILURE_KINDS)
      throw new Error(`stopping after ${MAX_FAILURE_KINDS} kinds of failure`);
  }

  /**
   * One generated burst: its requests are sent at once, each on a connection of its own (so that the
   * service's group commit mixes them), their answers checked, the acknowledged ones applied to the model,
   * and the store compared with the model where the requests wrote.
   */
  async step(templates: readonly Template[]): Promise<void> {
    this.run++;
    if (this.run % TICK_EVERY === 0) this.t.clock.advance(TICK_SECONDS);
    const requests = templates.map((template) => this.prepare(template));
    const alone = requests.length === 1;
    this.requests += requests.length;
    const outcomes = await Promise.all(
      requests.map(async (request, slot) => {
        this.count(this.byLabel, request.label.split(' ')[0] ?? request.label);
        if (request.cut) {
          await this.sendCut(request, request.cut);
          return null;
        }
        try {
          return { request, response: await this.send(request, slot) };
        } catch (error) {
          this.count(this.byStatus, 'none');
          this.fail(request, `no complete response: ${messageOf(error)}`);
          await this.expectAlive(request);
          return null;
        }
      }),
    );
    const answered = outcomes.filter((outcome) => outcome !== null);
    for (const { request, response } of answered) {
      this.count(this.byStatus, String(response.status));
      this.count(this.byCode, problemCode(response) ?? String(response.status));
      for (const problem of responseProblems(request, response)) this.fail(request, problem);
    }
    // Acknowledged writes in an order the service could have committed them in: sessions before what refers
    // to them. Within a burst, how many events each request stored depends on the commit order: only their
    // sum is checked.
    const order: readonly RouteName[] = ['register', 'release', 'events', 'irrelevant'];
    const acknowledged = answered
      .filter(({ request, response }) => response.status < 300 && request.method !== 'HEAD')
      .sort((a, b) => order.indexOf(a.request.route) - order.indexOf(b.request.route));
    for (const { request, response } of acknowledged) this.acknowledge(request, response, alone);
    for (const { request, response } of answered) {
      if (alone && request.probeSession !== null) this.compareRead(request, response);
    }
    for (const request of requests) {
      if (WRITE_ROUTES.includes(request.route) && !request.cut) await this.compareTouched(request);
    }
  }

  /** Applies an acknowledged (2xx) request to the model. */
  private acknowledge(request: Prepared, response: HttpResponse, exactCounts: boolean): void {
    try {
      this.model.apply(request, JSON.parse(response.body.toString('utf8')), exactCounts);
      if (!WRITE_ROUTES.includes(request.route)) return;
      for (const path of nonFinitePaths(parsedBody(request.body), '')) {
        this.fail(
          request,
          `acknowledged a number that JSON.parse reads as Infinity (so it is stored as null): ${path}`,
        );
      }
      if (request.body && request.body.length <= 100_000) this.history.push(request);
    } catch (error) {
      if (!(error instanceof ModelMismatch)) throw error;
      this.fail(request, `acknowledged write does not match the model: ${error.message}`);
    }
  }

  /** Sends part of a request on a socket of its own and closes it; the server must keep answering. */
  private async sendCut(request: Prepared, cut: Cut): Promise<void> {
    const bodyLength = request.bytes.length - request.headerLength;
    const sent = request.headerLength + Math.floor(bodyLength * cut.fraction);
    const connection = await Connection.open(this.port);
    await connection.sendCut(request.bytes.subarray(0, Math.min(sent, request.bytes.length - 1)), cut.mode);
    this.count(this.byStatus, 'cut');
    await this.expectAlive(request);
  }

  /** The status of GET /health (public: no key), asked on a connection of its own. */
  async health(): Promise<number> {
    const probe = Buffer.from(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\n\r\n`, 'latin1');
    const connection = await Connection.open(this.port);
    try {
      return (await connection.exchange(probe, false, REQUEST_TIMEOUT_MS)).status;
    } finally {
      connection.close();
    }
  }

  private async expectAlive(after: Prepared): Promise<void> {
    try {
      const status = await this.health();
      if (status !== 200) this.fail(after, `GET /health answered ${status} after this request`);
    } catch (error) {
      this.fail(after, `the server stopped answering after this request: ${messageOf(error)}`);
    }
  }

  /** GET /session of a session must show what the model holds: 200 with its content, or 404. */
  private compareRead(request: Prepared, response: HttpResponse): void {
    const id = request.probeSession;
    const expected = id === null ? undefined : this.model.sessions.get(id);
    if (response.status === 404) {
      if (expected) this.fail(request, `GET /session answered 404 for the registered session ${String(id)}`);
      return;
    }
    if (response.status !== 200) return;
    if (!expected) {
      this.fail(request, `GET /session answered 200 for ${String(id)}, which no acknowledged write registered`);
      return;
    }
    const actual = JSON.parse(response.body.toString('utf8')) as SessionWithEvents;
    if (canonical(pageWithSortedEvents(actual)) !== canonical(this.model.expectedPage(expected))) {
      this.fail(
        request,
        `GET /session ${JSON.stringify(id)} differs from the model: ${difference(canonical(pageWithSortedEvents(actual)), canonical(this.model.expectedPage(expected)))}`,
      );
    }
  }

  /** After any write request: the sessions, events and releases it named are in the store as the model says. */
  private async compareTouched(request: Prepared): Promise<void> {
    // Skipped for very large bodies (nearly all refused): the end of the campaign compares everything anyway.
    if (request.body === null || request.body.length > 256 * 1024) return;
    let body: unknown;
    try {
      body = parsedBody(request.body);
    } catch {
      return;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
    const fields = body as Record<string, unknown>;
    if (request.route === 'release') {
      for (const problem of await this.compareReleases()) this.fail(request, problem);
      return;
    }
    const sessionId = fields.session_id;
    if (!isPlausibleId(sessionId)) return;
    const session = this.model.sessions.get(sessionId);
    const stored = await this.t.store.findSession(sessionId);
    const expected = session ? canonical(this.model.expectedRecord(session)) : 'null';
    if (canonical(stored) !== expected) {
      this.fail(
        request,
        `session ${JSON.stringify(sessionId)} differs from the model: ${difference(canonical(stored), expected)}`,
      );
      return;
    }
    if (request.route !== 'events' || !Array.isArray(fields.events)) return;
    const eventIds = [
      ...new Set(
        fields.events.flatMap((e: unknown) =>
          typeof e === 'object' && e !== null && isPlausibleId((e as Record<string, unknown>).event_id)
            ? [(e as Record<string, string>).event_id]
            : [],
        ),
      ),
    ].filter((eventId): eventId is string => typeof eventId === 'string');
    if (eventIds.length === 0) return;
    const byId = (a: { event_id: string }, b: { event_id: string }) => (a.event_id < b.event_id ? -1 : 1);
    const storedEvents = (await this.t.store.findEvents(sessionId, eventIds)).sort(byId);
    const modelEvents = eventIds
      .flatMap((eventId) => {
        const event = session?.events.get(eventId);
        return event ? [event] : [];
      })
      .sort(byId);
    if (canonical(storedEvents) !== canonical(modelEvents)) {
      this.fail(
        request,
        `events of ${JSON.stringify(sessionId)} differ from the model: ${difference(canonical(storedEvents), canonical(modelEvents))}`,
      );
    }
  }

  async compareReleases(): Promise<string[]> {
    const batches = await this.t.store.listBatches(100_000);
    const released = batches.filter((b) => b.release_id !== null);
    const problems: string[] = [];
    if (released.length !== this.model.releases.size) {
      problems.push(`the store holds ${released.length} released batches, the model ${this.model.releases.size}`);
    }
    for (const batch of released) {
      const expected = this.model.releases.get(batch.release_id ?? '');
      const actual = { batch_id: batch.batch_id, released_at: batch.released_at, sealed_at: batch.sealed_at };
      if (!expected || canonical(expected) !== canonical(actual)) {
        problems.push(`released batch ${canonical(batch)} is not the model's ${canonical(expected ?? null)}`);
      }
    }
    return problems;
  }

  /** Everything the store holds, session by session, as read back for training. */
  async dump(): Promise<Map<string, { batchId: string; page: SessionWithEvents }>> {
    const sessions = new Map<string, { batchId: string; page: SessionWithEvents }>();
    for (const batch of await this.t.store.listBatches(100_000)) {
      let after = 0;
      for (;;) {
        const page = await this.t.store.listBatchSessions(batch.batch_id, after, 1000, null);
        for (const session of page) sessions.set(session.session_id, { batchId: batch.batch_id, page: session });
        const last = page.at(-1);
        if (!last || page.length < 1000) break;
        after = last.session_number;
      }
    }
    return sessions;
  }

  /** The whole store against the model: nothing missing, nothing extra, nothing different. */
  async compareStore(): Promise<string[]> {
    const problems = await this.compareReleases();
    const dump = await this.dump();
    for (const [sessionId, session] of this.model.sessions) {
      const stored = dump.get(sessionId);
      if (!stored) {
        problems.push(`acknowledged session ${JSON.stringify(sessionId)} is not in the store`);
        continue;
      }
      const expected = canonical(this.model.expectedPage(session));
      const actual = canonical(pageWithSortedEvents(stored.page));
      if (expected !== actual) {
        problems.push(`session ${JSON.stringify(sessionId)} differs from the model: ${difference(actual, expected)}`);
      }
      const times = stored.page.events.map((e) => e.created_at);
      if (times.some((time, i) => i > 0 && time < (times[i - 1] ?? time))) {
        problems.push(`the events of ${JSON.stringify(sessionId)} are not in created_at order`);
      }
    }
    for (const sessionId of dump.keys()) {
      if (!this.model.sessions.has(sessionId)) {
        problems.push(`the store holds session ${JSON.stringify(sessionId)}, which no acknowledged write registered`);
      }
    }
    const counts = new Map<string, number>();
    for (const session of this.model.sessions.values())
      counts.set(session.batch_id, (counts.get(session.batch_id) ?? 0) + 1);
    for (const batch of await this.t.store.listBatches(100_000)) {
      if (batch.released_at !== null && batch.session_count !== (counts.get(batch.batch_id) ?? 0)) {
        problems.push(
          `batch ${batch.batch_id} counts ${batch.session_count} sessions; acknowledged: ${counts.get(batch.batch_id) ?? 0}`,
        );
      }
    }
    return problems;
  }

  close(): void {
    this.connections.forEach((_, slot) => {
      this.dropConnection(slot);
    });
  }
}

function postProcess(body: Buffer, post: PostOp): Buffer {
  switch (post.op) {
    case 'none':
      return body;
    case 'truncate':
      return body.subarray(0, Math.floor(body.length * post.at));
    case 'append':
      return Buffer.concat([body, Buffer.from(post.text, 'utf8')]);
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]);
    case 'insertBytes': {
      const at = Math.floor(body.length * post.at);
      return Buffer.concat([body.subarray(0, at), Buffer.from(post.bytes), body.subarray(at)]);
    }
  }
}

function chunked(body: Buffer, splits: readonly number[]): Buffer {
  const points = [...new Set(splits.map((s) => Math.floor(body.length * s)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const point of [...points, body.length]) {
    if (point <= from) continue;
    const piece = body.subarray(from, point);
    parts.push(
      Buffer.from(`${piece.length.toString(16)}${from === 0 ? ';ext=1' : ''}\r\n`, 'latin1'),
      piece,
      Buffer.from('\r\n'),
    );
    from = point;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

function describeRequest(request: Prepared): string {
  const head = request.bytes.subarray(0, request.headerLength).toString('latin1').trimEnd().replace(/\r\n/g, ' | ');
  const body = request.bytes.subarray(request.headerLength);
  return `[${request.label}] ${head.slice(0, 400)} || body ${body.length} bytes: ${escapeBytes(body, 600)}`;
}

/** The `code` of a problem answer, if it is one. */
function problemCode(response: HttpResponse): string | null {
  try {
    const problem = JSON.parse(response.body.toString('utf8')) as unknown;
    const code = typeof problem === 'object' && problem !== null ? (problem as Record<string, unknown>).code : null;
    return typeof code === 'string' ? code : null;
  } catch {
    return null;
  }
}

/** The invariants every answer keeps. */
function responseProblems(request: Prepared, response: HttpResponse): string[] {
  const problems: string[] = [];
  const { status } = response;
  const type = headerOf(response, 'content-type') ?? '';
  const body = response.body.toString('utf8');
  if (!((status >= 200 && status < 300) || (status >= 400 && status < 500))) {
    problems.push(`answered ${status}: ${body.slice(0, 500)}`);
  }
  if (!headerOf(response, 'x-request-id')) problems.push(`answered ${status} without an x-request-id`);
  if (status >= 400 && status < 500) {
    if (!/^application\/problem\+json\b/i.test(type)) {
      problems.push(
        `answered ${status} as ${type || 'no content type'}, not application/problem+json: ${body.slice(0, 300)}`,
      );
    } else if (request.method !== 'HEAD') {
      try {
        const problem = JSON.parse(body) as unknown;
        const record = typeof problem === 'object' && problem !== null ? (problem as Record<string, unknown>) : {};
        if (record.status !== status)
          problems.push(`answered ${status} with a problem whose status is ${String(record.status)}`);
        if (typeof record.code !== 'string') problems.push(`answered ${status} with a problem without a string code`);
      } catch {
        problems.push(`answered ${status} with a problem body that is not JSON: ${body.slice(0, 300)}`);
      }
    }
  }
  if (status >= 200 && status < 300 && request.method !== 'HEAD') {
    if (!/^application\/json\b/i.test(type)) problems.push(`answered ${status} as ${type || 'no content type'}`);
    try {
      JSON.parse(body);
    } catch {
      problems.push(`answered ${status} with a body that is not JSON: ${body.slice(0, 300)}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// Baseline, campaign, verdict
// ---------------------------------------------------------------------------------------------------------

/** Sessions, events, a flag and a release written through the API before the fuzzing starts. */
async function seedBaseline(campaign: Campaign, t: TestApp): Promise<void> {
  const json = (route: RouteName, body: unknown, key = ADMIN_KEY): Template => ({
    label: 'baseline',
    route,
    method: 'POST',
    path: 'exact',
    query: [],
    auth: { label: 'admin', headers: [['Authorization', `Bearer ${key}`]], queryKey: null },
    contentType: 'application/json',
    headers: [],
    body: { raw: fromJson(body), post: { op: 'none' }, space: '' },
    chunks: null,
    cut: null,
    retry: null,
  });
  const requests: Template[] = [];
  BASELINE_SESSIONS.forEach((sessionId, i) => {
    const objects = OBJECT_POOL.slice(i % 8, (i % 8) + 3);
    requests.push(
      json('register', {
        session_id: sessionId,
        search_query: i % 3 === 0 ? { text: `query ${i}`, filters: [i] } : `baseline query ${i}`,
        search_results: objects.map((objectId, p) => ({ object_id: objectId, rank: p / 2, item_info: { p } })),
        search_meta: { page: i },
        user_id: `user-${i}`,
        ...(i % 2 === 0 ? { created_at: t.clock.now - 60 * i } : {}),
      }),
      json(
        'events',
        {
          session_id: sessionId,
          events: [
            { event_id: 'e-0', object_id: objects[0] ?? 'o-0', event_type: 'click', created_at: t.clock.now - 10 },
            { event_id: 'e-1', object_id: 'unseen-object', meta: { note: 'not among the results' } },
          ],
        },
        INGEST_KEY,
      ),
    );
    if (i === 5) requests.push(json('release', { release_id: 'base-release' }));
  });
  requests.push(json('irrelevant', { session_id: BASELINE_SESSIONS.at(-1) }));
  for (const template of requests) {
    const request = campaign.prepare(template);
    const response = await campaign.send(request);
    assert.equal(response.status, 200, `baseline ${request.target}: ${response.body.toString()}`);
    campaign.model.apply(request, JSON.parse(response.body.toString('utf8')));
  }
  campaign.model.touched.clear();
}

async function fuzz(backend: Backend, runs: number): Promise<void> {
  const t = await startTestApp(backend, APP_VARIABLES);
  const started = Date.now();
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    assert.ok(address && typeof address === 'object');
    const campaign = new Campaign(t, address.port, backend);
    try {
      console.log(`fuzz ${backend}: ${runs} runs, seed ${SEED} (replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})`);
      await seedBaseline(campaign, t);
      const baseline = await campaign.dump();
      assert.equal(baseline.size, BASELINE_SESSIONS.length);
      assert.deepEqual(await campaign.compareStore(), []);

      let stopped: unknown = null;
      try {
        await fc.assert(
          fc.asyncProperty(burst, async (templates) => {
            await campaign.step(templates);
          }),
          { numRuns: runs, seed: SEED, endOnFailure: true },
        );
      } catch (error) {
        stopped = error;
      }

      // The server still answers, and the store is exactly what acknowledged writes made it.
      const health = await campaign.health();
      if (health !== 200) campaign.fail(null, `GET /health answered ${health} at the end`);
      for (const problem of await campaign.compareStore()) campaign.fail(null, problem);
      const after = await campaign.dump();
      for (const [sessionId, before] of baseline) {
        if (campaign.model.touched.has(sessionId)) continue;
        const now = after.get(sessionId);
        if (canonical(now?.page ?? null) !== canonical(before.page)) {
          campaign.fail(null, `baseline session ${sessionId} changed without an acknowledged write`);
        }
      }
      const integrity = await t.store.checkIntegrity();
      for (const problem of integrity) campaign.fail(null, `integrity check: ${problem}`);

      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const tally = (map: ReadonlyMap<string, number>) =>
        [...map.entries()]
          .sort()
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ');
      const summary =
        `fuzz ${backend}: ${campaign.requests} requests, by status {${tally(campaign.byStatus)}}, ` +
        `${campaign.failureCount} failures, ${seconds} s`;
      console.log(
        `${summary}\n  ${campaign.run} runs, seed ${SEED}; by code {${tally(campaign.byCode)}}; ` +
          `by kind {${tally(campaign.byLabel)}}; acknowledged: ${campaign.model.sessions.size} sessions, ` +
          `${campaign.model.releases.size} releases`,
      );
      if (campaign.failureCount > 0 || stopped !== null) {
        const listed = [...campaign.failures.values()]
          .map(
            (group) =>
              `- ${group.count} × ${group.signature}\n` +
              group.examples
                .map(
                  (f) =>
                    `    run ${f.run}: ${f.reason}\n      request: ${f.request}${f.file ? `\n      bytes: ${f.file}` : ''}`,
                )
                .join('\n'),
          )
          .join('\n');
        const halt = stopped === null ? '' : `\nthe campaign stopped: ${messageOf(stopped)}`;
        assert.fail(
          `${summary}\nreplay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} node --import tsx --test test/fuzz/http-fuzz.test.ts\n${listed}${halt}`,
        );
      }
      assert.deepEqual(integrity, []);
      assert.equal(campaign.run, runs);
    } finally {
      campaign.close();
    }
  } finally {
    await t.close();
  }
}

describe('HTTP fuzzing: hostile requests over real sockets', () => {
  for (const backend of testBackends()) {
    const runs = backend === 'sqlite' ? RUNS : Math.max(1, Math.floor(RUNS / 5));
    it(`${backend}: ${runs} runs of generated requests get 2xx or problem+json 4xx, and only acknowledged writes are stored`, async () => {
      await fuzz(backend, runs);
    });
  }
});
