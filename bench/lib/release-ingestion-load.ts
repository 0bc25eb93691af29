/**
 * Ingestion load of bench/scenarios/release-million.ts, run in a process of its own (forked with an IPC channel) so
 * that the load and the release are timed by different event loops. Every autocannon connection loops over
 * "register a new session (5 results), then post 1 event to it" and every request's send and answer times
 * are recorded. On `{type: 'stop'}` it stops, sends the records back and exits.
 * Usage (by the benchmark only): node --import tsx bench/lib/release-ingestion-load.ts <base url> <connections>
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

export type LoadRequestKind = 'register' | 'events';

/** One request of the load; times are epoch milliseconds (fractional), comparable across processes. */
export interface LoadRecord {
  readonly kind: LoadRequestKind;
  readonly sentAt: number;
  readonly doneAt: number;
  /** HTTP status; 0 for a request still unanswered when the load stopped (doneAt is then the stop time). */
  readonly status: number;
  /** The batch a registration landed in (from its 200 answer), else null. */
  readonly batchId: string | null;
}

export type LoadMessage =
  | { readonly type: 'started' }
  | {
      readonly type: 'records';
      readonly records: LoadRecord[];
      readonly errors: number;
      readonly errorSample: string[];
    };

const now = (): number => performance.timeOrigin + performance.now();

function batchIdOf(body: string): string | null {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'batch_id' in parsed && typeof parsed.batch_id === 'string') {
      return parsed.batch_id;
    }
  } catch {
    // Not JSON (a proxy error page, say): no batch.
  }
  return null;
}

const send = (message: LoadMessage, done: () => void = () => undefined): void => {
  if (!process.send) throw new Error('release-ingestion-load.ts must be forked with an IPC channel');
  process.send(message, () => {
    done();
  });
};

const [url = '', connectionsArg = '16'] = process.argv.slice(2);
if (!url.startsWith('http')) throw new Error(`usage: release-ingestion-load.ts <base url> <connections>, got ${url}`);

const POSITIONS = [0, 1, 2, 3, 4];
const records: LoadRecord[] = [];
// autocannon gives each connection a context object per pass over `requests`; one request per context is
// in flight at a time (pipelining 1), so the context identifies it.
const inFlight = new Map<object, { kind: LoadRequestKind; sentAt: number }>();
const sessionOf = new WeakMap<object, string>();
const errorSample: string[] = [];
let errors = 0;

function finish(context: object, status: number, body: string): void {
  const open = inFlight.get(context);
  if (!open) return;
  inFlight.delete(context);
  records.push({
    kind: open.kind,
    sentAt: open.sentAt,
    doneAt: now(),
    status,
    batchId: open.kind === 'register' && status === 200 ? batchIdOf(body) : null,
  });
}

const headers = { 'content-type': 'application/json' };
const instance = autocannon(
  {
    url,
    connections: Number(connectionsArg),
    pipelining: 1,
    duration: 3600,
    timeout: 120,
    requests: [
      {
        method: 'POST',
        path: '/api/v1/clickstream/session',
        headers,
        setupRequest: (request, context) => {
          const sessionId = randomUUID().replaceAll('-', '');
          sessionOf.set(context, sessionId);
          inFlight.set(context, { kind: 'register', sentAt: now() });
          return {
            ...request,
            body: JSON.stringify({
              session_id: sessionId,
              search_query: 'bench load query',
              search_results: POSITIONS.map((p) => ({ object_id: `obj-${p}`, rank: 1 / (p + 1) })),
              user_id: 'bench-load',
            }),
          };
        },
        onResponse: (status, body, context) => {
          finish(context, status, body);
        },
      },
      {
        method: 'POST',
        path: '/api/v1/clickstream/session/events',
        headers,
        setupRequest: (request, context) => {
          inFlight.set(context, { kind: 'events', sentAt: now() });
          return {
            ...request,
            body: JSON.stringify({
              session_id: sessionOf.get(context) ?? 'unknown',
              events: [{ event_id: 'e0', object_id: 'obj-0', event_type: 'click' }],
            }),
          };
        },
        onResponse: (status, body, context) => {
          finish(context, status, body);
        },
      },
    ],
  },
  () => {
    const stoppedAt = now();
    // Requests still unanswered count with the stop time as a lower bound of their wait.
    for (const open of inFlight.values()) {
      records.push({ ...open, doneAt: stoppedAt, status: 0, batchId: null });
    }
    if (!process.connected) process.exit(1);
    send({ type: 'records', records, errors, errorSample }, () => {
      process.exit(0);
    });
  },
);
instance.on('start', () => {
  send({ type: 'started' });
});
instance.on('reqError', (error: unknown) => {
  errors++;
  if (errorSample.length < 5) errorSample.push(String(error));
});
process.on('message', (message: unknown) => {
  if (typeof message === 'object' && message !== null && 'type' in message && message.type === 'stop') {
    instance.stop();
  }
});
// The parent died: stop rather than load a service nobody measures.
process.on('disconnect', () => {
  instance.stop();
});
