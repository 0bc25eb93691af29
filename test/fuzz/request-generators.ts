/**
 * Generators of whole requests (templates): route, method, path variant, query, credentials, content type,
 * extra headers, body, framing (Content-Length or chunked), cut-off sockets and retries of acknowledged
 * writes; `burst` is what one property run sends. A template holds no bytes yet: ids and timestamps are
 * filled in when it is sent (see request-bytes.ts).
 */
import fc from 'fast-check';
import { anyBody, bodyOf, fieldsBody, mutatedBody, VALID_BODIES, type BodySpec } from './body-generators.js';
import type { RefPool } from './raw-json.js';
import { READ_ROUTES, ROUTES, type BodyRoute, type RouteName } from './routes.js';
import { ADMIN_KEY, BASELINE_SESSIONS, INGEST_KEY, INGEST_KEY_2, SESSION_POOL, WRONG_KEY } from './settings.js';
import { hostileText, invalidUtf8, oneOfStrings, words } from './value-generators.js';

export interface AuthSpec {
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

/** Without C0 controls and DEL, which a header value cannot hold. */
function withoutControls(text: string): string {
  let out = '';
  for (const c of text) if (c >= ' ' && c !== '\u007f') out += c;
  return out;
}

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
export const encodeText = (text: string) => percentEncode(Buffer.from(text, 'utf8'));

export type QueryText =
  { readonly t: 'text'; readonly text: string } | { readonly t: 'ref'; readonly pool: RefPool; readonly index: number };
export interface QueryPart {
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
    case 'bias':
      return parts(
        batchId.map((value): QueryPart => ({ key: 'batch_id', value })),
        opt('max_position', number(0, 20)),
        opt('event_weights', fc.constantFrom('click=1', 'click=0,purchase=2', 'x', '').map(qtext)),
      );
    case 'trainingData':
      return parts(
        batchId.map((value): QueryPart => ({ key: 'batch_id', value })),
        fc
          .constantFrom('clicks', 'skip-above', 'pbm', 'coec', 'best')
          .map((m): QueryPart => ({ key: 'method', value: qtext(m) })),
        opt('format', fc.constantFrom('jsonl', 'judgments', 'sentence-transformers', 'parquet', 'csv').map(qtext)),
        opt('test_fraction', fc.constantFrom('0.2', '0', '1', 'half').map(qtext)),
        opt('max_position', number(0, 20)),
      );
    case 'statsBatch':
      return parts(batchId.map((value): QueryPart => ({ key: 'batch_id', value })));
    case 'statsQueries':
      return parts(
        batchId.map((value): QueryPart => ({ key: 'batch_id', value })),
        opt('kind', fc.constantFrom('top', 'no_click', 'no_result', 'best', '').map(qtext)),
        opt('limit', number(0, 200)),
        opt('offset', number(0, 2000)),
      );
    case 'statsTimeline':
      return parts(opt('from', number(0, 2_000_000_000)), opt('to', number(0, 2_000_000_000)));
    case 'debugEvents':
      return parts(
        opt('session_id', sessionId),
        opt('code', fc.constantFrom('validation_failed', 'session_not_found', 'unknown_code', '').map(qtext)),
        opt('before', number(1, 1000)),
        opt('limit', number(1, 200)),
      );
    default:
      return fc.constant([]);
  }
}

export type PathVariant =
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

export interface Cut {
  /** Fraction of the body sent before the socket is closed. */
  readonly fraction: number;
  readonly mode: 'end' | 'destroy';
}

export interface Template {
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

const bodyRoute = fc.constantFrom<BodyRoute>(
  'register',
  'register',
  'events',
  'events',
  'irrelevant',
  'ingest',
  'release',
);

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
export const burst: fc.Arbitrary<readonly Template[]> = fc.oneof(
  { arbitrary: requestTemplate.map((template) => [template]), weight: 4 },
  { arbitrary: fc.array(requestTemplate, { minLength: 2, maxLength: 4 }), weight: 1 },
);
