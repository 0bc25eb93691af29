/**
 * What an operator sees at the default log level: one line per refused or failed request, with its route,
 * status and problem code, and never a body, a key or a query string; successes only at debug.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, it } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import type { App } from '../../src/http/app-types.js';
import { createLogger } from '../../src/logger.js';
import { makeSession } from '../support/factories.js';
import { openTestStore } from '../support/test-app.js';

const INGEST = 'ingest-key-0123456789abcdef';
const SECRET = 'secret-search-text-0123';

interface Line {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

let app: App;
let cleanup: () => Promise<void>;
const lines: Line[] = [];
const raw: string[] = [];

before(async () => {
  const opened = await openTestStore('sqlite', {
    CLICKSTREAM_ADMIN_KEY: 'admin-key-0123456789abcdef',
    CLICKSTREAM_INGEST_KEYS: INGEST,
  });
  cleanup = opened.cleanup;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) {
        raw.push(text);
        lines.push(JSON.parse(text) as Line);
      }
      done();
    },
  });
  app = await buildApp({ store: opened.store, config: opened.config, logger: createLogger('info', sink) });
  await app.ready();
});
after(async () => {
  await app.close();
  await cleanup();
});

/** The request lines logged while `send` ran. */
async function linesOf(send: () => Promise<unknown>): Promise<Line[]> {
  const from = lines.length;
  await send();
  return lines.slice(from).filter((line) => line.msg.startsWith('request '));
}

it('logs a refused request at info with its route, status and code, and nothing of its body or key', async () => {
  const [refused, ...more] = await linesOf(() =>
    app.inject({
      method: 'POST',
      url: `/api/v1/clickstream/session?key=${INGEST}`,
      payload: { ...makeSession({ search_query: SECRET }), created_at: 'soon' },
    }),
  );
  assert.deepEqual(more, []);
  assert.ok(refused);
  assert.equal(refused.level, 30);
  assert.equal(refused.msg, 'request refused');
  assert.equal(refused.method, 'POST');
  assert.equal(refused.route, '/api/v1/clickstream/session');
  assert.equal(refused.status, 400);
  assert.equal(refused.code, 'validation_failed');
  assert.equal(typeof refused.ms, 'number');
  assert.equal(typeof refused.request_id, 'string');
  const text = raw.join('\n');
  assert.ok(!text.includes(SECRET), 'a body was logged');
  assert.ok(!text.includes(INGEST), 'a key was logged');
});

it('logs refusals before the route too (no key, no route), by path without its query string', async () => {
  const [unauthorized] = await linesOf(() =>
    app.inject({ method: 'GET', url: '/api/v1/clickstream/internal/batches' }),
  );
  assert.equal(unauthorized?.status, 401);
  assert.equal(unauthorized.code, 'unauthorized');
  const [missing] = await linesOf(() => app.inject({ method: 'GET', url: `/nowhere?key=${INGEST}` }));
  assert.equal(missing?.status, 404);
  assert.equal(missing.route, '/nowhere');
  assert.equal(missing.code, 'not_found');
  assert.ok(!raw.join('\n').includes(INGEST));
});

it('logs nothing for a success at info', async () => {
  const logged = await linesOf(() =>
    app.inject({ method: 'POST', url: `/api/v1/clickstream/session?key=${INGEST}`, payload: makeSession() }),
  );
  assert.deepEqual(logged, []);
});
