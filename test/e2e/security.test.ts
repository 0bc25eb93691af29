import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeEvents, makeSession, scratchDir } from '../support/factories.js';
import { runCliProcess, startService, type ServiceProcess } from '../support/service-process.js';

const ADMIN = 'admin-key-for-the-log-test-0001';
const INGEST = 'ingest-key-for-the-log-test-0002';
const WRONG = 'wrong-key-for-the-log-test-0003';

describe('safe defaults and secrets in a real service process', () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const dir = () => {
    const scratch = scratchDir();
    cleanups.push(scratch.cleanup);
    return scratch.dir;
  };
  const service = async (overrides: Record<string, string>): Promise<ServiceProcess> => {
    const started = await startService(dir(), overrides);
    cleanups.push(() => started.kill());
    return started;
  };

  it('refuses to listen on a non-loopback address without keys, naming the variable to set', async () => {
    const scratch = dir();
    const run = await runCliProcess(scratch, ['serve', '--host', '0.0.0.0']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /CLICKSTREAM_HOST \(--host\) is 0\.0\.0\.0/);
    assert.match(run.stderr, /set CLICKSTREAM_ADMIN_KEY/);
    assert.doesNotMatch(run.stdout, /listening/);
    assert.equal(existsSync(join(scratch, 'db.sqlite')), false, 'nothing should be created');
  });

  it('says so at start when it runs without keys on loopback', async () => {
    const open = await service({});
    const warning = open.logLines.find(
      (line) => typeof line !== 'string' && /no API key is set/.test(String(line.msg)),
    );
    assert.ok(warning, JSON.stringify(open.logLines));
  });

  it('listens on every address with keys, and never writes a key to its logs', async () => {
    const guarded = await service({
      CLICKSTREAM_HOST: '0.0.0.0',
      CLICKSTREAM_ADMIN_KEY: ADMIN,
      CLICKSTREAM_INGEST_KEYS: INGEST,
      CLICKSTREAM_LOG_LEVEL: 'trace',
    });
    const call = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${guarded.baseUrl}${path}`, init);
      await response.arrayBuffer();
      return response.status;
    };
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      call(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });

    const session = makeSession();
    assert.equal(await post('/api/v1/clickstream/session', session, { authorization: `Bearer ${INGEST}` }), 200);
    assert.equal(await post(`/api/v1/clickstream/session/events?key=${INGEST}`, makeEvents(session, [0])), 200);
    assert.equal(await post('/api/v1/clickstream/session', makeSession(), { 'x-api-key': WRONG }), 401);
    assert.equal(await post(`/api/v1/clickstream/session?key=${ADMIN}`, makeSession()), 401);
    assert.equal(await post(`/api/v1/clickstream/session?key=${WRONG}`, '{"broken'), 401);
    assert.equal(await post('/api/v1/clickstream/session', '{"broken', { authorization: `Bearer ${INGEST}` }), 400);
    assert.equal(
      await post('/api/v1/clickstream/internal/batch/release', { release_id: 'r' }, { 'x-api-key': INGEST }),
      403,
    );
    assert.equal(
      await post(
        '/api/v1/clickstream/internal/batch/release',
        { release_id: 'r' },
        { authorization: `Bearer ${ADMIN}` },
      ),
      200,
    );
    assert.equal(await call(`/api/v1/clickstream/internal/batches?key=${ADMIN}`), 401);
    assert.equal(await call(`/no/such/route?key=${INGEST}`), 404);

    guarded.child.kill('SIGTERM');
    assert.equal((await guarded.exited).code, 0);
    const logs = `${guarded.logLines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n${guarded.stderr()}`;
    assert.ok(guarded.logLines.length > 3, 'the service should have logged at trace level');
    for (const secret of [ADMIN, INGEST, WRONG]) assert.ok(!logs.includes(secret), `the logs hold ${secret}:\n${logs}`);
  });
});
