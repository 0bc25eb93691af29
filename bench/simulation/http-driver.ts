/**
 * Sends simulated sessions to a running service over HTTP, as a search front end would: each session is
 * registered (the query and the results shown, in order), then its clicks are posted; many sessions are in
 * flight at once over keep-alive connections. Then the batch is released and its id returned.
 */
import { Agent, request } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { SimulatedSession } from './users.js';
import type { World } from './world.js';

const SESSION_PATH = '/api/v1/clickstream/session';
const EVENTS_PATH = '/api/v1/clickstream/session/events';
const RELEASE_PATH = '/api/v1/clickstream/internal/batch/release';

export interface IngestedBatch {
  readonly batchId: string;
  readonly sessions: number;
  readonly clicks: number;
  /** Requests answered 200 (registrations, event posts and the release). */
  readonly requests: number;
  /** Wall time from the first registration to the release's answer. */
  readonly seconds: number;
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

/** A JSON POST client for one base URL with at most `connections` keep-alive sockets. */
export function jsonClient(
  base: string,
  connections: number,
): {
  post: (path: string, body: unknown) => Promise<Answer>;
  close: () => void;
} {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const post = (path: string, body: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': payload.length },
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`POST ${path}: no answer within 60 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  return {
    post,
    close: () => {
      agent.destroy();
    },
  };
}

function ok(what: string, answer: Answer): string {
  if (answer.status !== 200) throw new Error(`${what}: HTTP ${answer.status} ${answer.text.slice(0, 500)}`);
  return answer.text;
}

function releasedBatch(text: string): { batchId: string; sessionCount: number } {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed === 'object' && parsed !== null && 'batch_id' in parsed && 'session_count' in parsed) {
    const { batch_id: batchId, session_count: sessionCount } = parsed;
    if (typeof batchId === 'string' && typeof sessionCount === 'number') return { batchId, sessionCount };
  }
  throw new Error(`release answered ${text.slice(0, 500)}`);
}

/**
 * Registers every session and posts its clicks (`concurrency` sessions in flight), then releases the
 * collecting batch, which must then hold exactly these sessions (nothing else may write to the service).
 */
export async function ingestBatch(
  base: string,
  world: World,
  sessions: readonly SimulatedSession[],
  options: { readonly concurrency: number; readonly onProgress?: (done: number) => void },
): Promise<IngestedBatch> {
  const started = performance.now();
  const client = jsonClient(base, options.concurrency);
  let next = 0;
  let requests = 0;
  let clicks = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < sessions.length; i = next++) {
      const session = sessions[i];
      if (session === undefined) break;
      const ids = world.objectIds[session.query] ?? [];
      const objectAt = (k: number): string => ids[session.shown[k] ?? -1] ?? '';
      ok(
        `registering ${session.sessionId}`,
        await client.post(SESSION_PATH, {
          session_id: session.sessionId,
          search_query: world.queryTexts[session.query],
          search_results: session.shown.map((_, k) => ({ object_id: objectAt(k) })),
        }),
      );
      requests++;
      if (session.clicked.length > 0) {
        ok(
          `clicks of ${session.sessionId}`,
          await client.post(EVENTS_PATH, {
            session_id: session.sessionId,
            events: session.clicked.map((k) => ({
              event_id: `${session.sessionId}-click-${k}`,
              object_id: objectAt(k),
              event_type: 'click',
            })),
          }),
        );
        requests++;
        clicks += session.clicked.length;
      }
      if (options.onProgress !== undefined && (i + 1) % 10_000 === 0) options.onProgress(i + 1);
    }
  };
  try {
    const workers = Array.from({ length: options.concurrency }, worker);
    await Promise.all(workers);
    const released = releasedBatch(ok('release', await client.post(RELEASE_PATH, { release_id: randomUUID() })));
    requests++;
    if (released.sessionCount !== sessions.length) {
      throw new Error(`the release counted ${released.sessionCount} sessions, not the ${sessions.length} sent`);
    }
    return {
      batchId: released.batchId,
      sessions: sessions.length,
      clicks,
      requests,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    client.close();
  }
}
