/**
 * The batch boundary under load, end to end: real service processes, real sockets, the real database.
 *
 * While 8 client loops register 20,000 sessions (each followed by 1-2 events), a releaser releases the
 * collecting batch at least 30 times, some of them as 3-4 concurrent requests with the same release_id
 * against different processes; some sessions are registered by 2-3 concurrent requests with the same
 * session_id and content. The test process timestamps every request with one monotonic clock
 * (performance.now()), then reads every batch back through the API and checks the contract of DESIGN.md
 * ("Exactly one collecting batch", "Idempotent writes") against those timestamps.
 *
 * Timestamps are taken in this process around each request, so they are conservative: a registration
 * "began" when its first attempt was sent (a 503 may hide a commit) and was "acknowledged" when the first
 * 200 answer arrived; a release "began" when the first request of its release_id was sent and "returned"
 * when the first answer naming its batch arrived.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventInput, RegisterSessionBody } from '../../src/schemas/payloads.js';
import type {
  AddEventsResponse,
  Batch,
  BatchSessionsPage,
  RegisterSessionResponse,
  ReleaseResponse,
} from '../../src/schemas/records.js';
import { createTestDatabase, testBackends, type Backend } from '../support/backends.js';
import { id, makeEvent, makeSession, scratchDir } from '../support/factories.js';
import { startService, type ServiceProcess } from '../support/service-process.js';

const SESSION_PATH = '/api/v1/clickstream/session';
const EVENTS_PATH = '/api/v1/clickstream/session/events';
const RELEASE_PATH = '/api/v1/clickstream/internal/batch/release';
const BATCHES_PATH = '/api/v1/clickstream/internal/batches';
const BATCH_SESSIONS_PATH = '/api/v1/clickstream/internal/batch/sessions';

// The contract's numbers: do not shrink them to make the test faster.
const CLIENTS = 8;
const SESSIONS = 20_000;
const RELEASES = 32;
/** Every RETRY_GROUP_EVERY-th release is sent as 3 or 4 concurrent requests with one release_id. */
const RETRY_GROUP_EVERY = 4;
/** Every SHARED_EVERY-th session of a client is registered by 2 or 3 concurrent requests. */
const SHARED_EVERY = 40;
/**
 * Service processes per backend. PostgreSQL: the replicas of a scaled-out deployment on one database.
 * SQLite: two processes on one file (the store serializes writers with IMMEDIATE transactions and a busy
 * timeout, so this works and puts releases and registrations in different processes).
 */
const PROCESSES: Readonly<Record<Backend, number>> = { sqlite: 2, postgres: 3 };
const PAGE = 1000;
/** Events per session are 1 or 2; a larger limit shows that no read was cut. */
const EVENTS_LIMIT = 10;
/** Problems listed in a failure message; the rest are counted. */
const LISTED_PROBLEMS = 25;

interface Counters {
  retries503: number;
}

/** A non-2xx answer other than a 503 with Retry-After: the test fails with it. */
class UnexpectedAnswer extends Error {}

/**
 * One request, retried on `503` with a Retry-After header (a busy store; idempotency makes the retry
 * safe) and counted; any other non-200 answer or a network error throws.
 */
async function call<T>(
  service: ServiceProcess,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  counters: Counters,
  signal: AbortSignal,
): Promise<T> {
  for (;;) {
    signal.throwIfAborted();
    // The signal is checked between requests, not given to fetch: undici keeps one listener on it per request.
    const response = await fetch(`${service.baseUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status === 200) return JSON.parse(text) as T;
    const retryAfter = response.headers.get('retry-after');
    if (response.status === 503 && retryAfter !== null) {
      counters.retries503++;
      await sleep(Number(retryAfter) * 1000, undefined, { signal });
      continue;
    }
    throw new UnexpectedAnswer(`${method} ${path} on ${service.baseUrl}: ${response.status} ${text}`);
  }
}

/** The service at `index`, round robin: spreads clients and retries over the processes. */
function pick(services: readonly ServiceProcess[], index: number): ServiceProcess {
  const service = services[index % services.length];
  assert.ok(service, 'no service process');
  return service;
}

/** What one session's registration and events did, as seen from the clients. */
interface SessionLog {
  readonly sessionId: string;
  readonly objectIds: readonly string[];
  /** Concurrent registration requests with this session_id (1, or 2-3 for a shared session). */
  readonly copies: number;
  /** performance.now() when the (first) registration request was sent. */
  readonly start: number;
  /** performance.now() when the first 200 answer arrived. */
  readonly ack: number;
  readonly answer: RegisterSessionResponse;
  /** Events whose POST was answered 200. */
  readonly events: readonly EventInput[];
}

interface ReleaseLog {
  readonly releaseId: string;
  readonly service: number;
  readonly start: number;
  readonly end: number;
  readonly answer: ReleaseResponse;
}

/** What the clients and the releaser share while they run. */
class RunState {
  readonly sessions: SessionLog[] = [];
  readonly releases: ReleaseLog[] = [];
  readonly counters: Counters = { retries503: 0 };
  readonly abort = new AbortController();
  events = 0;
  /** The latest registration start among acknowledged sessions: the releaser never releases an empty batch. */
  latestAckedStart = Number.NEGATIVE_INFINITY;
  clientsDone = 0;
}

/** Runs the tasks together; the first failure stops the others (through the abort signal) and is thrown. */
async function runTogether(state: RunState, tasks: readonly (() => Promise<void>)[]): Promise<void> {
  let first: Error | undefined;
  await Promise.allSettled(
    tasks.map(async (task) => {
      try {
        await task();
      } catch (error) {
        first ??= error instanceof Error ? error : new Error(String(error));
        state.abort.abort();
      }
    }),
  );
  if (first !== undefined) throw first;
}

async function clientLoop(state: RunState, services: readonly ServiceProcess[], client: number): Promise<void> {
  const { signal } = state.abort;
  const perClient = SESSIONS / CLIENTS;
  try {
    for (let i = 0; i < perClient; i++) {
      signal.throwIfAborted();
      const copies = i % SHARED_EVERY === client ? 2 + (Math.floor(i / SHARED_EVERY) % 2) : 1;
      const body: RegisterSessionBody = makeSession({ session_id: id(`c${client}-${i}`) });
      const objectIds = body.search_results.map((r) => r.object_id);
      const start = performance.now();
      // The copies of a shared session go to different processes, as from different browsers.
      const answers = await Promise.all(
        Array.from({ length: copies }, async (_unused, copy) => {
          const answer = await call<RegisterSessionResponse>(
            pick(services, client + copy),
            'POST',
            SESSION_PATH,
            body,
            state.counters,
            signal,
          );
          return { answer, at: performance.now() };
        }),
      );
      const [firstAnswer, ...others] = answers;
      assert.ok(firstAnswer);
      for (const other of others) {
        assert.deepEqual(
          other.answer,
          firstAnswer.answer,
          `concurrent registrations of ${body.session_id} answered differently`,
        );
      }
      const ack = Math.min(...answers.map((a) => a.at));
      if (start > state.latestAckedStart) state.latestAckedStart = start;

      // 1 or 2 events; in every tenth session one is on an object it did not show (a null position).
      const events: EventInput[] = [makeEvent({ object_id: objectIds[i % objectIds.length] ?? 'none' })];
      if (i % 2 === 1) events.push(makeEvent({ object_id: i % 10 === 1 ? id('unseen') : (objectIds[0] ?? 'none') }));
      const added = await call<AddEventsResponse>(
        pick(services, client),
        'POST',
        EVENTS_PATH,
        { session_id: body.session_id, events },
        state.counters,
        signal,
      );
      // A retry after a 503 whose commit went through counts the events as duplicates: the sum is what matters.
      assert.equal(added.stored + added.duplicates, events.length, `events of ${body.session_id}`);
      state.events += events.length;
      state.sessions.push({
        sessionId: body.session_id,
        objectIds,
        copies,
        start,
        ack,
        answer: firstAnswer.answer,
        events,
      });
    }
  } finally {
    state.clientsDone++;
  }
}

async function releaserLoop(state: RunState, services: readonly ServiceProcess[], runId: string): Promise<void> {
  const { signal } = state.abort;
  let lastReturn = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < RELEASES; k++) {
    // Spread through the run by progress, and only when a session registered after the last release
    // returned was acknowledged: then the collecting batch cannot be empty and 404 would be a bug.
    const due = Math.ceil(((k + 1) * SESSIONS) / (RELEASES + 1));
    while (state.sessions.length < due || state.latestAckedStart <= lastReturn) {
      if (state.clientsDone === CLIENTS) {
        throw new Error(`the clients finished before release ${k + 1} of ${RELEASES} was due`);
      }
      await sleep(10, undefined, { signal });
    }
    const releaseId = `${runId}-release-${k}`;
    const copies = k % RETRY_GROUP_EVERY === RETRY_GROUP_EVERY - 1 ? 3 + (Math.floor(k / RETRY_GROUP_EVERY) % 2) : 1;
    const logs = await Promise.all(
      Array.from({ length: copies }, async (_unused, copy): Promise<ReleaseLog> => {
        const index = (k + copy) % services.length;
        const start = performance.now();
        const answer = await call<ReleaseResponse>(
          pick(services, index),
          'POST',
          RELEASE_PATH,
          { release_id: releaseId },
          state.counters,
          signal,
        );
        return { releaseId, service: index, start, end: performance.now(), answer };
      }),
    );
    state.releases.push(...logs);
    lastReturn = Math.max(...logs.map((l) => l.end));
  }
}

interface ReadSession {
  readonly batchId: string;
  readonly sessionNumber: number;
  readonly eventIds: ReadonlyMap<string, { objectId: string; position: number | null }>;
}

/** Every batch (newest first, as the API lists them) and every session of each, with all events. */
async function readBack(
  service: ServiceProcess,
  counters: Counters,
  signal: AbortSignal,
): Promise<{ batches: Batch[]; sessions: Map<string, ReadSession[]>; perBatch: Map<string, number> }> {
  const { batches } = await call<{ batches: Batch[] }>(
    service,
    'GET',
    `${BATCHES_PATH}?limit=${PAGE}`,
    undefined,
    counters,
    signal,
  );
  assert.ok(batches.length < PAGE, 'more batches than one page of /batches');
  const sessions = new Map<string, ReadSession[]>();
  const perBatch = new Map<string, number>();
  const problems: string[] = [];
  for (const batch of batches) {
    let after = 0;
    let count = 0;
    const numbers = new Set<number>();
    for (;;) {
      const query = `batch_id=${batch.batch_id}&after_number=${after}&limit=${PAGE}&events_limit=${EVENTS_LIMIT}`;
      const page = await call<BatchSessionsPage>(
        service,
        'GET',
        `${BATCH_SESSIONS_PATH}?${query}`,
        undefined,
        counters,
        signal,
      );
      for (const session of page.sessions) {
        if (numbers.has(session.session_number)) {
          problems.push(`batch ${batch.batch_id}: session_number ${session.session_number} twice`);
        }
        numbers.add(session.session_number);
        if (session.events_truncated) problems.push(`session ${session.session_id}: events truncated`);
        const list = sessions.get(session.session_id) ?? [];
        list.push({
          batchId: batch.batch_id,
          sessionNumber: session.session_number,
          eventIds: new Map(session.events.map((e) => [e.event_id, { objectId: e.object_id, position: e.position }])),
        });
        sessions.set(session.session_id, list);
      }
      count += page.sessions.length;
      if (page.last_number === null || page.sessions.length < PAGE) break;
      after = page.last_number;
    }
    perBatch.set(batch.batch_id, count);
  }
  assert.deepEqual(problems.slice(0, LISTED_PROBLEMS), [], `${problems.length} problems in the read`);
  return { batches, sessions, perBatch };
}

/** One release_id's requests folded: it began with its first request and returned with its first answer. */
interface ReleaseGroup {
  readonly releaseId: string;
  readonly batchId: string;
  readonly start: number;
  readonly end: number;
  readonly order: number;
}

const ms = (t: number) => `${t.toFixed(1)} ms`;

/** Checks the run against what was read back; returns every violation found, described with its evidence. */
function violations(
  state: RunState,
  read: { batches: Batch[]; sessions: Map<string, ReadSession[]>; perBatch: Map<string, number> },
): string[] {
  const problems: string[] = [];
  // Oldest first: the order in which batches collected.
  const order = new Map([...read.batches].reverse().map((b, index) => [b.batch_id, index]));

  // Concurrent retries of a release_id all got the same batch; different release_ids, different batches.
  const groups = new Map<string, ReleaseLog[]>();
  for (const log of state.releases) groups.set(log.releaseId, [...(groups.get(log.releaseId) ?? []), log]);
  const released: ReleaseGroup[] = [];
  const batchOfRelease = new Map<string, string>();
  for (const [releaseId, logs] of groups) {
    const batchIds = new Set(logs.map((l) => l.answer.batch_id));
    if (batchIds.size !== 1) {
      problems.push(
        `release ${releaseId}: concurrent requests got different batches: ${logs
          .map((l) => `${l.answer.batch_id} (process ${l.service}, ${ms(l.start)}..${ms(l.end)})`)
          .join(', ')}`,
      );
    }
    const batchId = logs[0]?.answer.batch_id ?? '';
    const previous = batchOfRelease.get(batchId);
    if (previous !== undefined) problems.push(`batch ${batchId} was returned for ${previous} and ${releaseId}`);
    batchOfRelease.set(batchId, releaseId);
    const batchOrder = order.get(batchId);
    if (batchOrder === undefined) {
      problems.push(`release ${releaseId}: batch ${batchId} is not listed by /batches`);
      continue;
    }
    released.push({
      releaseId,
      batchId,
      start: Math.min(...logs.map((l) => l.start)),
      end: Math.min(...logs.map((l) => l.end)),
      order: batchOrder,
    });
  }

  // /batches: every released batch is one of ours with its release_id, the newest one is collecting.
  const [collecting, ...older] = read.batches;
  if (collecting?.status !== 'collecting')
    problems.push(`the newest batch is not collecting: ${JSON.stringify(collecting)}`);
  for (const batch of older) {
    if (batch.release_id === null || batchOfRelease.get(batch.batch_id) !== batch.release_id) {
      problems.push(`batch ${batch.batch_id} (release_id ${batch.release_id}) was not released by this run`);
    }
    if (batch.session_count !== read.perBatch.get(batch.batch_id)) {
      problems.push(
        `batch ${batch.batch_id}: session_count ${batch.session_count} but ${read.perBatch.get(batch.batch_id)} sessions read`,
      );
    }
  }
  if (read.batches.length !== groups.size + 1) {
    problems.push(`${read.batches.length} batches listed for ${groups.size} release_ids`);
  }

  // Releases by start and by return, with suffix minima and prefix maxima of their batch order.
  const byStart = [...released].sort((a, b) => a.start - b.start);
  const minOrderFrom: number[] = [];
  for (let i = byStart.length - 1, min = Number.POSITIVE_INFINITY; i >= 0; i--) {
    min = Math.min(min, byStart[i]?.order ?? min);
    minOrderFrom[i] = min;
  }
  const byEnd = [...released].sort((a, b) => a.end - b.end);
  const maxOrderUpTo: number[] = [];
  for (let i = 0, max = Number.NEGATIVE_INFINITY; i < byEnd.length; i++) {
    max = Math.max(max, byEnd[i]?.order ?? max);
    maxOrderUpTo[i] = max;
  }

  const acknowledged = new Set<string>();
  for (const log of state.sessions) {
    acknowledged.add(log.sessionId);
    const found = read.sessions.get(log.sessionId) ?? [];
    // Every acknowledged session is in exactly one batch (a shared one: one session, whatever its copies).
    if (found.length !== 1) {
      problems.push(
        `session ${log.sessionId} (${log.copies} concurrent registrations) is in ${found.length} batches: ${found
          .map((f) => f.batchId)
          .join(', ')}`,
      );
      continue;
    }
    const [stored] = found;
    if (!stored) continue;
    const where = `session ${log.sessionId} (registration ${ms(log.start)}..${ms(log.ack)})`;
    if (stored.batchId !== log.answer.batch_id || stored.sessionNumber !== log.answer.session_number) {
      problems.push(
        `${where}: answered batch ${log.answer.batch_id} #${log.answer.session_number}, read in ${stored.batchId} #${stored.sessionNumber}`,
      );
    }
    const batchOrder = order.get(stored.batchId) ?? -1;

    // No batch holds a session whose registration began after the batch's release (or an older
    // release) returned: the session's batch is newer than every release that returned before it began.
    let returned = -1;
    for (let lo = 0, hi = byEnd.length - 1; lo <= hi;) {
      const mid = (lo + hi) >> 1;
      if ((byEnd[mid]?.end ?? 0) < log.start) {
        returned = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (returned >= 0 && batchOrder <= (maxOrderUpTo[returned] ?? -1)) {
      const culprit = byEnd.slice(0, returned + 1).find((r) => r.order >= batchOrder);
      problems.push(
        `${where} is in batch ${stored.batchId}, released by ${culprit?.releaseId} which returned at ${ms(culprit?.end ?? 0)}, before the registration began`,
      );
    }

    // A session acknowledged before a release began is in that release's batch or an older one.
    let begun = byStart.length;
    for (let lo = 0, hi = byStart.length - 1; lo <= hi;) {
      const mid = (lo + hi) >> 1;
      if ((byStart[mid]?.start ?? 0) > log.ack) {
        begun = mid;
        hi = mid - 1;
      } else lo = mid + 1;
    }
    if (begun < byStart.length && batchOrder > (minOrderFrom[begun] ?? Number.POSITIVE_INFINITY)) {
      const culprit = byStart.slice(begun).find((r) => r.order < batchOrder);
      problems.push(
        `${where} is in batch ${stored.batchId} (order ${batchOrder}), newer than batch ${culprit?.batchId} (order ${culprit?.order}) of ${culprit?.releaseId} which began at ${ms(culprit?.start ?? 0)}, after the acknowledgement`,
      );
    }

    // Every acknowledged event is there, on the right position, and nothing else.
    for (const event of log.events) {
      const got = stored.eventIds.get(event.event_id);
      const position = log.objectIds.indexOf(event.object_id);
      if (!got) problems.push(`${where}: acknowledged event ${event.event_id} is missing`);
      else if (got.objectId !== event.object_id || got.position !== (position < 0 ? null : position)) {
        problems.push(`${where}: event ${event.event_id} read as ${JSON.stringify(got)}`);
      }
    }
    if (stored.eventIds.size !== log.events.length) {
      problems.push(`${where}: ${stored.eventIds.size} events read, ${log.events.length} sent`);
    }
  }
  for (const sessionId of read.sessions.keys()) {
    if (!acknowledged.has(sessionId)) problems.push(`session ${sessionId} was read but never acknowledged`);
  }
  return problems;
}

for (const backend of testBackends()) {
  describe(`concurrent registrations and releases on ${backend}`, { timeout: 300_000 }, () => {
    const scratch = scratchDir();
    const services: ServiceProcess[] = [];
    let dropDatabase: (() => Promise<void>) | undefined;
    after(async () => {
      await Promise.all(services.map((s) => s.kill()));
      await dropDatabase?.();
      scratch.cleanup();
    });

    it('keeps every session in exactly one batch, cut where the releases say', async (t) => {
      const overrides: Record<string, string> = {};
      if (backend === 'postgres') {
        const database = await createTestDatabase();
        dropDatabase = database.drop;
        overrides.CLICKSTREAM_DATABASE_URL = database.url;
      }
      // Started together: concurrent migrations are part of what several replicas must survive.
      const started = await Promise.allSettled(
        Array.from({ length: PROCESSES[backend] }, () => startService(scratch.dir, overrides)),
      );
      for (const result of started) if (result.status === 'fulfilled') services.push(result.value);
      for (const result of started) if (result.status === 'rejected') throw result.reason;

      const state = new RunState();
      const runId = id('run');
      const began = performance.now();
      await runTogether(state, [
        ...Array.from({ length: CLIENTS }, (_unused, client) => () => clientLoop(state, services, client)),
        () => releaserLoop(state, services, runId),
      ]);
      const wrote = performance.now();
      const [reader] = services;
      assert.ok(reader);
      const read = await readBack(reader, state.counters, state.abort.signal);
      const problems = violations(state, read);
      const seconds = (performance.now() - began) / 1000;

      const releaseIds = new Set(state.releases.map((r) => r.releaseId));
      const shared = state.sessions.filter((s) => s.copies > 1);
      const summary = {
        backend,
        processes: services.length,
        sessions: state.sessions.length,
        sharedSessions: shared.length,
        events: state.events,
        releases: releaseIds.size,
        releaseRequests: state.releases.length,
        concurrentRetryGroups: [...releaseIds].filter((r) => state.releases.filter((l) => l.releaseId === r).length > 1)
          .length,
        retries503: state.counters.retries503,
        writeSeconds: Number(((wrote - began) / 1000).toFixed(1)),
        seconds: Number(seconds.toFixed(1)),
      };
      t.diagnostic(JSON.stringify(summary));

      assert.deepEqual(problems.slice(0, LISTED_PROBLEMS), [], `${problems.length} violations`);
      assert.equal(state.sessions.length, SESSIONS);
      assert.ok(releaseIds.size >= 30, `${releaseIds.size} releases`);
      assert.ok(state.releases.length > releaseIds.size, 'no release was retried concurrently');
      assert.ok(shared.length > 0, 'no session was registered concurrently');
    });
  });
}
