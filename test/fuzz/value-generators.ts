/**
 * Generators of hostile values (fast-check arbitraries of raw JSON trees): strings with control characters,
 * lone surrogates and invalid UTF-8, huge strings, numbers JSON or the store cannot hold, odd timestamps,
 * deep nesting, prototype keys, values of the wrong type. The body generators put them in bodies; the
 * request generators reuse the texts for queries.
 */
import fc from 'fast-check';
import { fromJson, lit, obj, rawStr, str, type Raw, type TimestampForm } from './raw-json.js';

export const oneOfStrings = (values: readonly string[]) => fc.constantFrom(...values);
/** A list written as one string, split at spaces. */
export const words = (text: string): string[] => text.split(' ');
const codePoint = (min: number, max: number) => fc.integer({ min, max }).map((c) => String.fromCodePoint(c));

/** Characters that break things: C0 and C1 controls, lone surrogates, quotes, separators, noncharacters. */
const hostileChar = fc.oneof(
  codePoint(0x00, 0x1f),
  codePoint(0x7f, 0x9f),
  codePoint(0xd800, 0xdfff),
  oneOfStrings(['"', '\\', '/', '\u2028', '\u2029', '\ufeff', '\ufffe', '\uffff', '\u{10ffff}', '\u{1f600}', 'é']),
  codePoint(0x20, 0x7e),
);

export const hostileText = fc
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

export const invalidUtf8 = fc.oneof(
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
export const hostileNumber: fc.Arbitrary<Raw> = fc.oneof(
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
export const hostileKey: fc.Arbitrary<Raw> = fc.oneof(
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
export const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 2, stringUnit: 'grapheme' }));
export const randomJson: fc.Arbitrary<Raw> = jsonValue.map(fromJson);

/** Values of the wrong type for any field. */
const wrongType: fc.Arbitrary<Raw> = oneOfStrings(
  words('true false null 0 -1 1.5 "x" "" [] {} [null] [""] [{}] {"":""}'),
).map(lit);

const bigArray: fc.Arbitrary<Raw> = fc
  .tuple(fc.constantFrom(1000, 1001, 2000), fc.constantFrom('{}', '"x"', '0', '{"object_id":"o"}'))
  .map(([count, item]) => lit(`[${Array.from({ length: count }, () => item).join(',')}]`));

export const hostileValue: fc.Arbitrary<Raw> = fc.oneof(
  { arbitrary: wrongType, weight: 4 },
  { arbitrary: hostileString, weight: 4 },
  { arbitrary: hostileNumber, weight: 3 },
  { arbitrary: hostileTimestamp, weight: 2 },
  { arbitrary: deepNesting, weight: 1 },
  { arbitrary: protoObject, weight: 1 },
  { arbitrary: randomJson, weight: 2 },
  { arbitrary: bigArray, weight: 1 },
);
