/**
 * The ceiling of bench/run.ts: the fastest a Node process can answer the benchmark's requests on this
 * machine with the same load generator. A bare `node:http` server that reads each body, JSON-parses it and
 * answers a small JSON shaped like the service's answer (the session_id is echoed, because the mixed
 * scenario's load script follows it from a registration to that session's event posts). No framework,
 * no validation, no storage: whatever the service does beyond this is its own cost.
 *
 * Usage (by the benchmark only): node --import tsx bench/lib/ceiling-server.ts <port>
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const port = Number(process.argv[2] ?? '0');

function sessionIdOf(value: unknown): string | null {
  return typeof value === 'object' && value !== null && 'session_id' in value && typeof value.session_id === 'string'
    ? value.session_id
    : null;
}

function eventCountOf(value: unknown): number {
  return typeof value === 'object' && value !== null && 'events' in value && Array.isArray(value.events)
    ? value.events.length
    : 0;
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': text.length });
  response.end(text);
}

function handle(request: IncomingMessage, response: ServerResponse, text: string): void {
  const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      answer(response, 400, { code: 'invalid_json' });
      return;
    }
  }
  const sessionId = sessionIdOf(parsed);
  if (path.endsWith('/session/events')) {
    answer(response, 200, { session_id: sessionId, stored: eventCountOf(parsed), duplicates: 0 });
  } else if (path.endsWith('/session')) {
    answer(response, 200, { session_id: sessionId, batch_id: 'ceiling', session_number: 1, created_at: 0 });
  } else {
    answer(response, 200, { ok: true });
  }
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    handle(request, response, Buffer.concat(chunks).toString('utf8'));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address !== null ? address.port : port}`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
  });
}
