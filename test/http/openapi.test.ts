import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import type { TSchema } from 'typebox';
import { ERROR_CODES } from '../../src/domain/errors.js';
import {
  AddEventsBody,
  MarkIrrelevantBody,
  RegisterSessionBody,
  ReleaseBatchBody,
} from '../../src/schemas/payloads.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const API = '/api/v1/clickstream';
const INTERNAL = `${API}/internal`;

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

interface Route {
  readonly method: string;
  readonly path: string;
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Every route of the app, read from `printRoutes()`: Fastify has no public list of routes, and the app is
 * built (routes included) before a test could add an onRoute hook. The tree prints one node per line,
 * indented four columns per level; a node's path is its ancestors' segments concatenated, and the methods
 * in parentheses are the routes ending at that node (a node without them only shares a prefix).
 */
function routesFromTree(tree: string): Route[] {
  const routes: Route[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (.*)$/u.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    const node = (match[2] ?? '').trim();
    const methodsMatch = /^(.*?) \(([A-Z, ]+)\)$/.exec(node);
    const segment = methodsMatch ? (methodsMatch[1] ?? '') : node;
    stack.length = depth;
    stack.push(segment);
    if (!methodsMatch) continue;
    const path = stack.join('');
    for (const method of (methodsMatch[2] ?? '').split(',').map((m) => m.trim())) {
      if (HTTP_METHODS.has(method)) routes.push({ method, path });
    }
  }
  return routes;
}

/** `/batch/:id` as OpenAPI writes it: `/batch/{id}`. */
function toOpenApiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}');
}

function isDocsRoute(path: string): boolean {
  return path === '/docs' || path.startsWith('/docs/');
}

/**
 * Routes the document must describe: everything but swagger-ui's files, and without the HEAD routes
 * Fastify adds by itself for every GET (exposeHeadRoutes), which @fastify/swagger leaves out on purpose.
 */
function documentedRoutes(all: readonly Route[]): Route[] {
  const gets = new Set(all.filter((r) => r.method === 'GET').map((r) => r.path));
  return all.filter((r) => !isDocsRoute(r.path) && !(r.method === 'HEAD' && gets.has(r.path)));
}

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

/** The statuses a route's own description promises, e.g. "404 no_sessions_to_release". */
function statusesNamedIn(text: string | undefined): string[] {
  return [...new Set([...(text ?? '').matchAll(/\b([45]\d\d)\b/g)].map((m) => m[1] ?? ''))];
}

describe('OpenAPI document', () => {
  let test: TestApp;
  let doc: OpenApiDocument;
  let routes: Route[];

  before(async () => {
    test = await startTestApp();
    const response = await test.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(response.statusCode, 200, response.body);
    assert.match(String(response.headers['content-type']), /^application\/json/);
    doc = JSON.parse(response.body) as OpenApiDocument;
    routes = routesFromTree(test.app.printRoutes({ commonPrefix: false, includeMeta: false }));
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

  it('reads the routes of the app completely and correctly', () => {
    // The parser is checked both ways: everything it finds is a route Fastify knows, and it finds the
    // routes this test knows must exist, including those printed under a shared prefix ("es" of batches).
    assert.ok(routes.length > 0, 'no routes parsed from printRoutes()');
    for (const route of routes) {
      if (route.path.includes('*')) continue;
      assert.ok(
        test.app.hasRoute({ method: route.method, url: route.path }),
        `parsed ${describeRoute(route)} is not a route of the app`,
      );
    }
    const expected: Route[] = [
      { method: 'POST', path: `${API}/session` },
      { method: 'GET', path: `${API}/session` },
      { method: 'POST', path: `${API}/session/events` },
      { method: 'POST', path: `${API}/session/irrelevant` },
      { method: 'POST', path: `${INTERNAL}/batch/release` },
      { method: 'GET', path: `${INTERNAL}/batch/sessions` },
      { method: 'GET', path: `${INTERNAL}/batches` },
      { method: 'GET', path: `${INTERNAL}/batch` },
      { method: 'GET', path: '/health' },
      { method: 'GET', path: '/ready' },
      { method: 'GET', path: '/openapi.json' },
      { method: 'GET', path: '/docs' },
    ];
    const found = new Set(routes.map(describeRoute));
    for (const route of expected) assert.ok(found.has(describeRoute(route)), `route ${describeRoute(route)} not found`);
  });

  it('describes every route of the app except swagger-ui files', () => {
    const missing = documentedRoutes(routes)
      .filter((route) => operationOf(doc, route) === undefined)
      .map(describeRoute);
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
      [`${INTERNAL}/batch/release`]: examplesOf(ReleaseBatchBody),
    };
    const ajv = new Ajv({ strict: false, allowUnionTypes: true });
    const posts = documentedRoutes(routes).filter((r) => r.method === 'POST');
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

  it('lists the error statuses of every route as application/problem+json', () => {
    const apiRoutes = documentedRoutes(routes);
    assert.ok(apiRoutes.length >= 11);
    const required: Record<string, readonly string[]> = {
      [`POST ${API}/session`]: ['409'],
      [`POST ${API}/session/events`]: ['404', '409'],
      [`POST ${INTERNAL}/batch/release`]: ['404'],
    };
    for (const route of apiRoutes) {
      const operation = operationOf(doc, route);
      const responses = operation?.responses ?? {};
      assert.ok(responses['200'], `${describeRoute(route)} has no 200 response`);
      const statuses = [
        '400',
        '500',
        ...(required[describeRoute(route)] ?? []),
        ...statusesNamedIn(operation?.description),
      ];
      for (const status of statuses) {
        const schema = responses[status]?.content?.['application/problem+json']?.schema;
        assert.ok(schema, `${describeRoute(route)} does not list ${status} as application/problem+json`);
      }
    }
  });

  it('gives every listed error status of every route the problem+json content', () => {
    for (const route of documentedRoutes(routes)) {
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
