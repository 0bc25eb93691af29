import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { makeEvents, makeSession, scratchDir } from '../support/factories.js';
import { runCliProcess, startService, type ServiceProcess } from '../support/service-process.js';

const ADMIN = 'admin-key-for-the-log-test-0001';
const INGEST = 'ingest-key-for-the-log-test-0002';
const WRONG = 'wrong-key-for-the-log-test-0003';

/** Writes `request` as it is to the port and returns everything the server answered before closing. */
async function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => {
      resolve(answer);
    });
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer within 10 s; got ${JSON.stringify(answer)}`)));
  });
}

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
    // A request Node's parser refuses: its raw bytes, keys included, reach the client-error log line.
    const raw = await rawExchange(
      guarded.port,
      `POST /api/v1/clickstream/session?key=${INGEST} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nBad Header Line\r\n\r\n`,
    );
    assert.match(raw, /^HTTP\/1\.1 400/);

    guarded.child.kill('SIGTERM');
    assert.equal((await guarded.exited).code, 0);
    const logs = `${guarded.logLines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n${guarded.stderr()}`;
    assert.ok(guarded.logLines.length > 3, 'the service should have logged at trace level');
    for (const secret of [ADMIN, INGEST, WRONG]) {
      assert.ok(!logs.includes(secret), `the logs hold ${secret}:\n${logs}`);
      // Buffers are logged as their bytes: look for the key's bytes too.
      assert.ok(!logs.includes([...Buffer.from(secret)].join(',')), `the logs hold the bytes of ${secret}`);
    }
  });

  it('answers requests the HTTP parser refuses as problem+json, echoing nothing of them', async () => {
    const open = await service({});
    const long = await rawExchange(
      open.port,
      `GET /api/v1/clickstream/internal/batches?x=${'a'.repeat(17_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    );
    const [head = '', body = ''] = long.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 431 /);
    assert.match(head, /content-type: application\/problem\+json/i);
    const problem = JSON.parse(body) as { status: number; code: string; request_id: string };
    assert.equal(problem.status, 431);
    assert.equal(problem.code, 'header_too_large');
    assert.ok(head.toLowerCase().includes(`x-request-id: ${problem.request_id}`));
    const garbled = await rawExchange(open.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n`);
    assert.match(garbled, /^HTTP\/1\.1 400 /);
    assert.match(garbled, /"code":"bad_request"/);
  });

  it('limits browser-form bodies to 64 KiB over a real socket, declared or chunked', async () => {
    const guarded = await service({ CLICKSTREAM_INGEST_KEYS: INGEST });
    // Declared too long: refused from the headers, without waiting for a body that never comes.
    const declared = await rawExchange(
      guarded.port,
      `POST /api/v1/clickstream/session?key=${INGEST} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n`,
    );
    assert.match(declared, /^HTTP\/1\.1 413/);
    assert.match(declared, /limited to 65536 bytes/);
    // Chunked, no length: the parser measures what came.
    const body = JSON.stringify(makeSession({ search_meta: { pad: 'x'.repeat(40_000) }, user_id: 'u'.repeat(200) }));
    const half = Math.floor(body.length / 2);
    const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
    const padded = `${body.slice(0, half)}${' '.repeat(30_000)}${body.slice(half)}`;
    const chunked = await rawExchange(
      guarded.port,
      `POST /api/v1/clickstream/session HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${INGEST}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(padded.slice(0, 40_000))}${chunk(padded.slice(40_000))}0\r\n\r\n`,
    );
    assert.match(chunked, /^HTTP\/1\.1 413/);
    assert.match(chunked, /as text\/plain is limited to 65536 bytes/);
  });
});
