import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import type { RegisterSessionResponse, SessionWithEvents } from '../../src/schemas/records.js';
import { makeSession, scratchDir } from '../support/factories.js';
import { exitWithin, startService, type ServiceProcess } from '../support/service-process.js';

const SESSION_PATH = '/api/v1/clickstream/session';

interface RawResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/**
 * Reads HTTP/1.1 responses off a raw socket. Interim responses (`100 Continue`) are returned like any
 * other; a final response needs a Content-Length, which Fastify always sends for JSON.
 */
class ResponseReader {
  private buffer = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private ended = false;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  private async more(what: string): Promise<void> {
    if (this.ended) throw new Error(`the connection closed before ${what}; got ${JSON.stringify(this.text())}`);
    await new Promise<void>((resolve) => (this.waiting = resolve));
  }

  private text(): string {
    return this.buffer.toString('utf8');
  }

  async next(): Promise<RawResponse> {
    let end = this.buffer.indexOf('\r\n\r\n');
    while (end < 0) {
      await this.more('the end of the response head');
      end = this.buffer.indexOf('\r\n\r\n');
    }
    const [statusLine = '', ...headerLines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
    const headers = new Map<string, string>();
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = status >= 200 ? Number(headers.get('content-length') ?? '0') : 0;
    while (this.buffer.length < end + 4 + length) await this.more('the end of the response body');
    const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(end + 4 + length);
    return { status, headers, body };
  }
}

async function openSocket(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('graceful shutdown of the real process', { timeout: 120_000 }, () => {
  const scratch = scratchDir();
  const services: ServiceProcess[] = [];
  const sockets: Socket[] = [];
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(services.map((s) => s.kill()));
    scratch.cleanup();
  });

  it('on SIGTERM finishes a request whose body is still arriving, answers 200, exits 0 and keeps the session', async () => {
    const service = await startService(scratch.dir);
    services.push(service);
    const session = makeSession();
    const body = Buffer.from(JSON.stringify(session), 'utf8');
    const cut = Math.floor(body.length / 2);

    const socket = await openSocket(service.port);
    sockets.push(socket);
    socket.on('error', () => undefined);
    const reader = new ResponseReader(socket);
    // `Expect: 100-continue` makes the server say when it has parsed the head and started the request, so
    // the signal below certainly arrives while the request is in flight (and not before the server even
    // read it, which would test nothing). The connection is keep-alive (HTTP/1.1's default): the service
    // must close it itself once the in-flight answer is sent, instead of waiting for the client.
    socket.write(
      [
        `POST ${SESSION_PATH} HTTP/1.1`,
        `Host: 127.0.0.1:${service.port}`,
        'Content-Type: application/json',
        `Content-Length: ${body.length}`,
        'Expect: 100-continue',
        '',
        '',
      ].join('\r\n'),
    );
    const interim = await reader.next();
    assert.equal(interim.status, 100, 'the server should accept the request head with 100 Continue');
    socket.write(body.subarray(0, cut));
    // Let the first half reach the server before the signal.
    await sleep(100);

    assert.equal(service.child.kill('SIGTERM'), true, 'SIGTERM should be delivered');
    const exitBound = exitWithin(service, 5000);
    await sleep(300);
    assert.equal(service.child.exitCode, null, 'the service must wait for the in-flight request');
    socket.write(body.subarray(cut));

    const response = await reader.next();
    assert.equal(response.status, 200, response.body);
    const acknowledged = JSON.parse(response.body) as RegisterSessionResponse;
    assert.equal(acknowledged.session_id, session.session_id);
    assert.equal(typeof acknowledged.batch_id, 'string');
    assert.equal(acknowledged.session_number, 1);

    const exit = await exitBound;
    assert.deepEqual(exit, { code: 0, signal: null }, service.stderr());
    const messages = service.logLines.map((line) => (typeof line === 'string' ? line : line.msg));
    assert.ok(messages.includes('stopped'), 'the service should log that it stopped cleanly');
    assert.ok(
      !messages.includes('closing connections of requests still in flight'),
      'the request finished by itself; no connection should have been cut',
    );

    // The acknowledged session is in the file: a new service on the same store returns it.
    const again = await startService(scratch.dir);
    services.push(again);
    const read = await fetch(`${again.baseUrl}${SESSION_PATH}?session_id=${encodeURIComponent(session.session_id)}`);
    assert.equal(read.status, 200);
    const stored = (await read.json()) as SessionWithEvents;
    assert.equal(stored.session_id, session.session_id);
    assert.equal(stored.batch_id, acknowledged.batch_id);
    assert.deepEqual(
      stored.search_results.map((r) => r.object_id),
      session.search_results.map((r) => r.object_id),
    );
    await again.kill();
  });

  it('exits 0 on SIGINT as well', async () => {
    const service = await startService(scratch.dir);
    services.push(service);
    const health = await fetch(`${service.baseUrl}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    assert.equal(service.child.kill('SIGINT'), true, 'SIGINT should be delivered');
    const exit = await exitWithin(service, 5000);
    assert.deepEqual(exit, { code: 0, signal: null }, service.stderr());
  });
});
