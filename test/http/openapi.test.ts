import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import type { TSchema } from 'typebox';
import { ERROR_CODES, type ErrorCode } from '../../src/domain/errors.js';
import {
  AddEventsBody,
  MarkIrrelevantBody,
  RegisterSessionBody,
  ReleaseBatchBody,
} from '../../src/schemas/payloads.js';
import { ROUTES } from '../../src/http/routes/route-list.js';
import { IngestBody } from '../../src/schemas/ingest-payloads.js';
import { ClaimBody, CompleteBody, CreateTaskBody, FailBody, HeartbeatBody } from '../../src/schemas/tasks.js';
import type { RouteDeclaration } from '../../src/http/routes/route-definition.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const API = '/api/v1/clickstream';
const INTERNAL = `${API}/internal`;
const TASK = '/api/v1/fine-tuning/task';

interface MediaType {
  schema?: Record<string, unknown>;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}
interface ResponseObject {
  description?: string;
  content?: Record<string, MediaType>;
}
interface Operation {
  summary?: string;
  description?: string;
  requestBody?: { required?: boolean; content?: Record<string, MediaType> };
  responses?: Record<string, ResponseObject>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

/** The statuses of the codes a test needs, written out here so that the document is checked, not copied. */
const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  validation_failed: 400,
  invalid_json: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  forbidden: 403,
  not_found: 404,
  session_not_found: 404,
  batch_not_found: 404,
  no_sessions_to_release: 404,
  batch_not_released: 409,
  session_conflict: 409,
  event_conflict: 409,
  session_closed: 409,
  task_not_found: 404,
  task_conflict: 409,
  task_processing: 409,
  task_finished: 409,
  lease_lost: 409,
  internal_error: 500,
  service_unavailable: 503,
  storage_full: 507,
};

function statusOf(route: RouteDeclaration, code: ErrorCode): number {
  const status = route.errorStatus?.[code] ?? STATUS_OF[code];
  assert.ok(status, `the test does not know the status of ${code}: add it to STATUS_OF`);
  return status;
}

/**
 * What a route of this app (no keys, no rate limit) answers with: its declared codes, those of a body or a
 * query string, 403 for requests from another host or page, 503 where a key would be needed, and 500.
 */
function expectedCodes(route: RouteDeclaration): ErrorCode[] {
  const body: ErrorCode[] = ['validation_failed', 'invalid_json', 'payload_too_large', 'unsupported_media_type'];
  return [
    ...route.errors,
    ...(route.schema.body
      ? body
      : route.schema.querystring || route.schema.params
        ? (['validation_failed'] as const)
        : []),
    'forbidden',
    ...(route.access === 'public' ? [] : (['service_unavailable'] as const)),
    'internal_error',
  ];
}

interface Route {
  readonly method: string;
  readonly path: string;
}

/** `/batch/:id` as OpenAPI writes it: `/batch/{id}`. */
function toOpenApiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}');
}

/** The routes the document must describe: the route list's (plugins' routes are files and preflights). */
const documented: readonly Route[] = ROUTES.map((route) => ({ method: route.method, path: route.url }));

function operationOf(doc: OpenApiDocument, route: Route): Operation | undefined {
  return doc.paths[toOpenApiPath(route.path)]?.[route.method.toLowerCase()];
}

function describeRoute(route: Route): string {
  return `${route.method} ${route.path}`;
}

/** The `examples` keyword of a payload schema, where the seed's examples live. */
function examplesOf(schema: TSchema): unknown {
  return 'examples' in schema ? schema.examples : undefined;
}

describe('OpenAPI document', () => {
  let test: TestApp;
  let doc: OpenApiDocument;

  before(async () => {
    test = await startTestApp();
    const response = await test.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(response.statusCode, 200, response.body);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    doc = JSON.parse(response.body) as OpenApiDocument;
  });

  after(async () => {
    await test.close();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    assert.equal(result.valid, true, `OpenAPI validation errors:\n${JSON.stringify(result.errors, null, 2)}`);
    assert.equal(validator.version, '3.1');
  });

  it('describes every route of the route list', () => {
    const expected: Route[] = [
      { method: 'POST', path: `${API}/session` },
      { method: 'GET', path: `${API}/session` },
      { method: 'POST', path: `${API}/session/events` },
      { method: 'POST', path: `${API}/session/irrelevant` },
      { method: 'POST', path: `${INTERNAL}/batch/release` },
      { method: 'GET', path: `${INTERNAL}/batch/sessions` },
      { method: 'GET', path: `${INTERNAL}/batches` },
      { method: 'GET', path: `${INTERNAL}/batch` },
      { method: 'GET', path: '/' },
      { method: 'GET', path: '/health' },
      { method: 'GET', path: '/ready' },
      { method: 'GET', path: '/openapi.json' },
    ];
    const listed = new Set(documented.map(describeRoute));
    for (const route of expected)
      assert.ok(listed.has(describeRoute(route)), `route ${describeRoute(route)} not listed`);
    const missing = documented.filter((route) => operationOf(doc, route) === undefined).map(describeRoute);
    assert.deepEqual(missing, [], `routes missing from the document: ${missing.join(', ')}`);
  });

  it('describes only routes that exist', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        const url = path.replace(/\{(\w+)\}/g, ':$1');
        assert.ok(
          test.app.hasRoute({ method: method.toUpperCase(), url }),
          `document describes ${method.toUpperCase()} ${path}, which is not a route`,
        );
      }
    }
  });

  it('gives every POST route a JSON request body with the seed example, valid against its schema', () => {
    const examples: Record<string, unknown> = {
      [`${API}/session`]: examplesOf(RegisterSessionBody),
      [`${API}/session/events`]: examplesOf(AddEventsBody),
      [`${API}/session/irrelevant`]: examplesOf(MarkIrrelevantBody),
      [`${API}/ingest`]: examplesOf(IngestBody),
      [`${INTERNAL}/batch/release`]: examplesOf(ReleaseBatchBody),
      [TASK]: examplesOf(CreateTaskBody),
      [`${TASK}/claim`]: examplesOf(ClaimBody),
      [`${TASK}/:id/heartbeat`]: examplesOf(HeartbeatBody),
      [`${TASK}/:id/complete`]: examplesOf(CompleteBody),
      [`${TASK}/:id/fail`]: examplesOf(FailBody),
    };
    const ajv = new Ajv({ strict: false, allowUnionTypes: true });
    const posts = documented.filter((r) => r.method === 'POST');
    assert.ok(posts.length >= 4, `expected at least 4 POST routes, found ${posts.length}`);
    for (const route of posts) {
      const body = operationOf(doc, route)?.requestBody;
      const media = body?.content?.['application/json'];
      assert.ok(media?.schema, `${describeRoute(route)} has no application/json request body schema`);
      const example = media.example ?? Object.values(media.examples ?? {})[0]?.value;
      assert.notEqual(example, undefined, `${describeRoute(route)} has no request body example`);
      const seed = examples[route.path];
      assert.ok(Array.isArray(seed), `${describeRoute(route)}: no payload schema examples known for this route`);
      assert.deepEqual(example, seed[0], `${describeRoute(route)}: example is not the payload schema's`);
      const validate = ajv.compile(media.schema);
      assert.ok(
        validate(example),
        `${describeRoute(route)}: example does not match its schema: ${JSON.stringify(validate.errors)}`,
      );
    }
  });

  it('lists, for every route, the statuses of its declared codes and only those', () => {
    for (const route of ROUTES) {
      const operation = operationOf(doc, { method: route.method, path: route.url });
      const responses = operation?.responses ?? {};
      // Success is 200, or the redirect of `/` to the dashboard.
      assert.ok(responses['200'] ?? responses['302'], `${route.method} ${route.url} has no 200 response`);
      const listed = Object.keys(responses)
        .filter((status) => !status.startsWith('2') && !status.startsWith('3'))
        .map(Number)
        .sort((a, b) => a - b);
      const expected = [...new Set(expectedCodes(route).map((code) => statusOf(route, code)))];
      assert.deepEqual(
        listed,
        expected.sort((a, b) => a - b),
        `${route.method} ${route.url}`,
      );
      // Each status names the codes it stands for.
      for (const code of route.errors) {
        const status = String(statusOf(route, code));
        assert.match(responses[status]?.description ?? '', new RegExp(`\\b${code}\\b`), `${route.url} ${status}`);
      }
    }
  });

  it('lists 401 and 429 on the guarded routes once keys and rate limits are on, and never on public ones', async () => {
    const guarded = await startTestApp('sqlite', {
      CLICKSTREAM_ADMIN_KEY: 'admin-key-0123456789abcdef',
      CLICKSTREAM_RATE_LIMIT_PER_MINUTE: '100',
    });
    try {
      const keyed = JSON.parse(
        (await guarded.app.inject({ method: 'GET', url: '/openapi.json' })).body,
      ) as OpenApiDocument;
      for (const route of ROUTES) {
        const statuses = Object.keys(operationOf(keyed, { method: route.method, path: route.url })?.responses ?? {});
        const expected = route.access === 'public' ? [] : ['401', '403', '429'];
        for (const status of ['401', '403', '429']) {
          assert.equal(statuses.includes(status), expected.includes(status), `${route.method} ${route.url} ${status}`);
        }
      }
    } finally {
      await guarded.close();
    }
  });

  it('gives health and readiness no body or key statuses, and readiness its 503s', () => {
    const statuses = (path: string) => Object.keys(doc.paths[path]?.['get']?.responses ?? {}).sort();
    // Without keys (this app's configuration) any route answers 403 to requests from another host or page.
    assert.deepEqual(statuses('/health'), ['200', '403', '500']);
    assert.deepEqual(statuses('/ready'), ['200', '403', '500', '503']);
    assert.match(doc.paths['/ready']?.['get']?.responses?.['503']?.description ?? '', /storage_full/);
  });

  it('gives every listed error status of every route the problem+json content', () => {
    for (const route of documented) {
      for (const [status, response] of Object.entries(operationOf(doc, route)?.responses ?? {})) {
        if (Number(status) < 400) continue;
        assert.ok(
          response.content?.['application/problem+json']?.schema,
          `${describeRoute(route)} ${status} is not application/problem+json`,
        );
      }
    }
  });

  it('has a Problem schema whose code enum is the closed list of error codes', () => {
    let checked = 0;
    for (const item of Object.values(doc.paths)) {
      for (const operation of Object.values(item)) {
        for (const response of Object.values(operation.responses ?? {})) {
          const schema = response.content?.['application/problem+json']?.schema;
          if (!schema) continue;
          const properties = schema['properties'] as Record<string, { enum?: unknown }> | undefined;
          const codes = properties?.['code']?.enum;
          assert.ok(Array.isArray(codes), 'Problem schema has no code enum');
          for (const code of ERROR_CODES) assert.ok(codes.includes(code), `code enum misses ${code}`);
          assert.deepEqual([...(codes as string[])].sort(), [...ERROR_CODES].sort());
          assert.deepEqual([...(schema['required'] as string[])].sort(), [
            'code',
            'detail',
            'request_id',
            'status',
            'title',
            'type',
          ]);
          checked++;
        }
      }
    }
    assert.ok(checked > 0, 'no problem+json schema found in the document');
  });

  it('serves the documentation UI at /docs as HTML', async () => {
    let url = '/docs';
    let response = await test.app.inject({ method: 'GET', url });
    for (let hops = 0; response.statusCode >= 300 && response.statusCode < 400 && hops < 5; hops++) {
      const location = response.headers.location;
      assert.ok(typeof location === 'string', `redirect from ${url} without a location`);
      url = new URL(location, `http://localhost${url}`).pathname;
      response = await test.app.inject({ method: 'GET', url });
    }
    assert.equal(response.statusCode, 200, `GET ${url}: ${response.body.slice(0, 200)}`);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.match(response.body, /<html/i);
  });
});
