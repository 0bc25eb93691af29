/**
 * Crash safety, end to end: a real service process is killed with SIGKILL at random moments while 8 client
 * loops (keep-alive fetch) register sessions, post events for registered sessions, send bodies of both
 * (with irrelevant flags) to POST /ingest and retry earlier requests, and after each kill a new process is
 * started on the same store and the clients go on.
 *
 * The clients keep a ledger of every write they sent. A write is acknowledged when a request of it got a
 * 2xx answer; an item of an ingest body (a registration, a group of events, a flag) is a write of its own,
 * acknowledged when the request got a 2xx answer and the item's entry in it is 200. A request cut by a
 * kill (a connection error, an incomplete answer) or answered 503 has an unknown outcome (for an ingest
 * body, each of its items has). Some unknown writes are retried later, as a real client would (a retry
 * must then answer as for a whole write, never for part of one; an ingest body is retried whole); the
 * others are abandoned. At the end:
 * - every acknowledged write is in the store with its content (through the last restarted service for a
 *   sample, then through the store itself, opened after the final stop, for all), an acknowledged flag too;
 * - every unknown write is there completely or not at all (the API is all or nothing per request);
 * - nothing is there that no client sent (no session is flagged that no client flagged);
 * - the store passes its integrity check (`checkIntegrity()` and `clickstream check`).
 *
 * Kill moments and the clients' choices come from a PRNG seeded per run. The seed is printed;
 * CLICKSTREAM_TEST_CRASH_SEED=<seed> replays those choices (the interleaving with the machine's timing
 * cannot be replayed exactly).
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import type { IngestBody, IngestResults, ItemRefused } from '../../src/schemas/ingest-payloads.js';
import type { AddEventsBody, EventInput, RegisterSessionBody, SearchResultInput } from '../../src/schemas/payloads.js';
import type {
  AddEventsResponse,
  RegisterSessionResponse,
  SessionWithEvents,
  StoredEvent,
  StoredSession,
} from '../../src/schemas/records.js';
import { createStore } from '../../src/storage/create-store.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import { createTestDatabase, testBackends, type Backend } from '../support/backends.js';
import { id, makeSession, nowSeconds, scratchDir } from '../support/factories.js';
import { databaseUrl, runCliProcess, startService, type ServiceProcess } from '../support/service-process.js';

const SESSION_PATH = '/api/v1/clickstream/session';
const EVENTS_PATH = '/api/v1/clickstream/session/events';
const INGEST_PATH = '/api/v1/clickstream/ingest';

// The contract's numbers: do not shrink them to make the test faster.
const CLIENTS = 8;
const MIN_KILLS: Readonly<Record<Backend, number>> = { sqlite: 20, postgres: 5 };
/** How long a service runs after it listens before it is killed, in ms: uniform in [low, high). */
const UPTIME_MS: Readonly<Record<Backend, readonly [number, number]>> = {
  sqlite: [150, 1000],
  postgres: [300, 1500],
};
/** This share of the kills lands within EARLY_KILL_MS of the start, while the clients reconnect. */
const EARLY_KILL_SHARE = 0.2;
const EARLY_KILL_MS = 80;
/** A kill lands this many ms (at most) after a request was sent. */
const KILL_AFTER_SEND_MS = 4;
/** How long the clients go on against the last restarted service before they stop. */
const LAST_RUN_MS = 500;
/** What a client does next: shares of the operations (the rest retries an unknown write). */
const SHARE_REGISTER = 0.25;
const SHARE_EVENTS = 0.42;
const SHARE_INGEST = 0.13;
const SHARE_RETRY_ACKED = 0.12;
/** An ingest body: this many new sessions (uniform in [low, high)) and groups of events on acknowledged ones. */
const INGEST_SESSIONS: readonly [number, number] = [1, 4];
const INGEST_OTHER_EVENTS: readonly [number, number] = [0, 3];
/** Shares of an ingest body's new sessions that get events in it, and of its sessions that it flags. */
const INGEST_EVENTS_SHARE = 0.7;
const INGEST_FLAG_SHARE = 0.2;
/** Share of unknown writes a client retries later; the others are abandoned. */
const RETRY_UNKNOWN_SHARE = 0.5;
/** A request to a service that was not killed and gives no answer in this time is a hang: a failure. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Acknowledged sessions read back through the last restarted service's GET (all unknown ones are). */
const HTTP_SAMPLE = 300;
const READ_CONCURRENCY = 8;
const PAGE = 1000;
/** Problems listed in a failure message; the rest are counted. */
const LISTED_PROBLEMS = 25;

function seedFromEnvironment(): number {
  const raw = process.env.CLICKSTREAM_TEST_CRASH_SEED;
  if (raw === undefined || raw === '') return randomInt(0, 2 ** 31);
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`CLICKSTREAM_TEST_CRASH_SEED must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return seed;
}

const SEED = seedFromEnvironment();

/** mulberry32: small, fast, and good enough to spread choices; one stream per client and per killer. */
class Random {
  private state: number;

  constructor(seed: number, stream: number) {
    this.state = (seed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [low, high). */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Removes and returns a random item (order does not matter), or undefined when there is none. */
  take<T>(items: T[]): T | undefined {
    if (items.length === 0) return undefined;
    const index = this.int(0, items.length);
    const item = items[index];
    const last = items.pop();
    if (index < items.length && last !== undefined) items[index] = last;
    return item;
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items[this.int(0, items.length)];
  }
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (reason: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting when a start fails; the killer reports that failure itself.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

const isDefined = <T>(value: T | undefined): value is T => value !== undefined;

const tail = (text: string) => (text.length > 2000 ? `...${text.slice(-2000)}` : text);

/**
 * The service processes of one run: one lives at a time. `restart()` publishes the promise of the next
 * process before it kills the current one, so a client whose request the kill cuts waits for that next
 * process. A process that exits without being killed by the test is a problem.
 */
class Fleet {
  readonly all: ServiceProcess[] = [];
  kills = 0;
  private live: ServiceProcess | undefined;
  private ready: Promise<ServiceProcess>;
  private readonly killed = new WeakSet<ServiceProcess>();
  private disposed = false;

  constructor(
    private readonly dir: string,
    private readonly env: Readonly<Record<string, string>>,
    private readonly problem: (text: string) => void,
  ) {
    const first = deferred<ServiceProcess>();
    first.reject(new Error('no service started yet'));
    this.ready = first.promise;
  }

  /** The live service, or the one being started. */
  current(): Promise<ServiceProcess> {
    return this.ready;
  }

  wasKilled(service: ServiceProcess): boolean {
    return this.killed.has(service);
  }

  /** Starts the first service. */
  async start(): Promise<ServiceProcess> {
    const next = deferred<ServiceProcess>();
    this.ready = next.promise;
    return this.launch(next);
  }

  /** SIGKILL for the live service (its in-flight requests are cut), then a new one on the same store. */
  async restart(): Promise<void> {
    const old = this.live;
    this.live = undefined;
    const next = deferred<ServiceProcess>();
    this.ready = next.promise;
    if (old !== undefined) {
      this.killed.add(old);
      const exit = await old.kill();
      if (exit.signal === 'SIGKILL') this.kills++;
    }
    await this.launch(next);
  }

  private async launch(next: Deferred<ServiceProcess>): Promise<ServiceProcess> {
    try {
      const service = await startService(this.dir, this.env);
      this.all.push(service);
      if (this.disposed) {
        this.killed.add(service);
        await service.kill();
        throw new Error('the run was torn down while a service started');
      }
      void service.exited.then((exit) => {
        if (!this.killed.has(service)) {
          this.problem(
            `the service on port ${service.port} exited by itself (code ${exit.code}, signal ${exit.signal}): ${tail(service.stderr())}`,
          );
        }
      });
      this.live = service;
      next.resolve(service);
      return service;
    } catch (error) {
      next.reject(error);
      throw error;
    }
  }

  /** Stops the live service (SIGKILL: the store must recover from that too). */
  async stop(): Promise<void> {
    const old = this.live;
    this.live = undefined;
    if (old === undefined) return;
    this.killed.add(old);
    await old.kill();
  }

  /** Kills every process this fleet started, and any it is still starting; safe to call many times. */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const service of this.all) this.killed.add(service);
    await Promise.all(this.all.map((service) => service.kill()));
  }
}

interface SessionWrite {
  readonly body: RegisterSessionBody;
  /** The first 2xx answer to a request of this write; undefined while the outcome is unknown. */
  ack: RegisterSessionResponse | undefined;
  /** Whether an ingest body flagged the session irrelevant: not at all, with an unknown outcome, or acknowledged. */
  flag: 'none' | 'sent' | 'acked';
}

interface EventsWrite {
  readonly body: AddEventsBody;
  acked: boolean;
}

type Write = SessionWrite | EventsWrite;

/** A POST /ingest body and the writes its items are, in the order of the body's sections. */
interface IngestWrite {
  readonly body: IngestBody;
  readonly sessions: readonly SessionWrite[];
  readonly events: readonly EventsWrite[];
  /** The sessions its irrelevant items flag. */
  readonly flags: readonly SessionWrite[];
}

type Sent<T> = { readonly ok: true; readonly answer: T } | { readonly ok: false };

/** Everything one backend's run shares: the services, the clients' ledger and what went wrong. */
class Run {
  readonly fleet: Fleet;
  readonly sessions: SessionWrite[] = [];
  readonly eventWrites: EventsWrite[] = [];
  /** Targets of new events and of retries of acknowledged writes. */
  readonly ackedSessions: SessionWrite[] = [];
  readonly ackedEvents: EventsWrite[] = [];
  /** Unknown writes a client will retry (taken out while a retry is in flight). */
  readonly retrySessions: SessionWrite[] = [];
  readonly retryEvents: EventsWrite[] = [];
  /** Ingest bodies: every item acknowledged (re-sent by retries), and unknown ones to retry whole. */
  readonly ackedIngests: IngestWrite[] = [];
  readonly retryIngests: IngestWrite[] = [];
  readonly problems: string[] = [];
  /** Acknowledged writes that a retry found not stored as acknowledged (the retry may have stored them again). */
  readonly lostOnRetry = new Set<Write>();
  readonly counts = {
    requests: 0,
    /** Kills that found requests in flight, and how many were in flight then (all in total). */
    killsInFlight: 0,
    inFlightAtKills: 0,
    unknownOutcomes: 0,
    retriesOfAcked: 0,
    unknownRetriedAcked: 0,
    /** Retried unknown events writes whose retry found them stored already (the cut request had committed). */
    unknownFoundCommitted: 0,
    unavailable: 0,
    strayErrors: 0,
    /** New POST /ingest bodies, and the items acknowledged in the answers to them and their retries. */
    ingestRequests: 0,
    ingestItemsAcked: 0,
  };
  inFlight = 0;
  private stopped = false;
  private sendWaiters: (() => void)[] = [];

  constructor(
    readonly backend: Backend,
    dir: string,
    env: Readonly<Record<string, string>>,
  ) {
    this.fleet = new Fleet(dir, env, (text) => {
      this.problem(text);
    });
  }

  problem(text: string): void {
    this.problems.push(text);
  }

  /** One POST. Any answer but 2xx or 503 is a problem; a cut request or a 503 is an unknown outcome. */
  async post<T>(path: string, body: unknown): Promise<Sent<T>> {
    const service = await this.fleet.current();
    this.inFlight++;
    this.counts.requests++;
    const waiters = this.sendWaiters;
    this.sendWaiters = [];
    for (const wake of waiters) wake();
    try {
      const response = await fetch(`${service.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.ok) return { ok: true, answer: JSON.parse(text) as T };
      if (response.status === 503) {
        this.counts.unavailable++;
        await sleep(100);
      } else {
        this.problem(`POST ${path} answered ${response.status}: ${text}`);
      }
      return { ok: false };
    } catch (error) {
      if (!this.fleet.wasKilled(service)) {
        if (error instanceof DOMException && error.name === 'TimeoutError') {
          this.problem(`POST ${path} on a live service got no answer within ${REQUEST_TIMEOUT_MS} ms`);
        } else {
          // A connection the service dropped although it was not killed (or it died by itself, which the
          // fleet reports): the outcome is unknown all the same.
          this.counts.strayErrors++;
        }
        await sleep(50);
      }
      return { ok: false };
    } finally {
      this.inFlight--;
    }
  }

  /** Asks the clients and the killer to finish what they are doing and stop. */
  stop(): void {
    this.stopped = true;
  }

  isStopping(): boolean {
    return this.stopped;
  }

  /** Resolves when a client starts its next request. */
  nextSend(): Promise<void> {
    return new Promise((resolve) => this.sendWaiters.push(resolve));
  }

  acknowledgeSession(write: SessionWrite, answer: RegisterSessionResponse): void {
    if (answer.session_id !== write.body.session_id) {
      this.problem(`registration of ${write.body.session_id} answered for ${answer.session_id}`);
    }
    write.ack = answer;
    this.ackedSessions.push(write);
  }

  unknownOutcome<W>(write: W, retryPool: W[], rng: Random): void {
    this.counts.unknownOutcomes++;
    if (rng.chance(RETRY_UNKNOWN_SHARE)) retryPool.push(write);
  }

  get acknowledgedWrites(): number {
    return this.ackedSessions.length + this.ackedEvents.length;
  }
}

function newSession(rng: Random): RegisterSessionBody {
  const results: SearchResultInput[] = Array.from({ length: rng.int(1, 6) }, (_unused, index) => {
    const result: SearchResultInput = { object_id: id('object') };
    if (rng.chance(0.5)) result.rank = rng.int(0, 10_000) / 1000;
    const meta = rng.next();
    if (meta < 0.25) result.item_info = { title: `item ${index}` };
    else if (meta < 0.5) result.meta = { price: rng.int(1, 500), tags: ['a', 'b'] };
    return result;
  });
  return makeSession({
    session_id: id('crash-session'),
    search_query: rng.chance(0.7)
      ? `query ${rng.int(0, 1000)}`
      : { text: 'running shoes', filters: { size: rng.int(36, 47) } },
    search_results: results,
    ...(rng.chance(0.5) ? { created_at: nowSeconds() - rng.int(0, 600) } : {}),
  });
}

const EVENT_TYPES = ['click', 'view', 'purchase'] as const;

function newEvents(rng: Random, session: RegisterSessionBody): AddEventsBody {
  const events = Array.from({ length: rng.int(1, 5) }, (): EventInput => {
    const shown = rng.chance(0.9) ? rng.pick(session.search_results) : undefined;
    const event: EventInput = { event_id: id('event'), object_id: shown?.object_id ?? id('unseen') };
    if (rng.chance(0.6)) event.event_type = rng.pick(EVENT_TYPES) ?? 'click';
    if (rng.chance(0.5)) event.created_at = nowSeconds() - rng.int(0, 60);
    if (rng.chance(0.3)) event.meta = { dwell_ms: rng.int(0, 10_000) };
    return event;
  });
  return { session_id: session.session_id, events };
}

async function registerNew(run: Run, rng: Random): Promise<void> {
  const write: SessionWrite = { body: newSession(rng), ack: undefined, flag: 'none' };
  run.sessions.push(write);
  const sent = await run.post<RegisterSessionResponse>(SESSION_PATH, write.body);
  if (sent.ok) run.acknowledgeSession(write, sent.answer);
  else run.unknownOutcome(write, run.retrySessions, rng);
}

async function postEvents(run: Run, rng: Random): Promise<void> {
  const session = rng.pick(run.ackedSessions);
  if (session === undefined) return;
  const write: EventsWrite = { body: newEvents(rng, session.body), acked: false };
  run.eventWrites.push(write);
  const sent = await run.post<AddEventsResponse>(EVENTS_PATH, write.body);
  if (sent.ok) acknowledgeNewEvents(run, write, sent.answer);
  else run.unknownOutcome(write, run.retryEvents, rng);
}

/** New events answered 200: all of them stored, none a duplicate. */
function acknowledgeNewEvents(run: Run, write: EventsWrite, answer: AddEventsResponse): void {
  const { stored, duplicates } = answer;
  if (stored !== write.body.events.length || duplicates !== 0) {
    run.problem(`new events for ${write.body.session_id} answered stored ${stored}, duplicates ${duplicates}`);
  }
  write.acked = true;
  run.ackedEvents.push(write);
}

/** Events whose outcome was unknown, answered 200 on a retry: stored now or before, never in part. */
function acknowledgeRetriedEvents(run: Run, write: EventsWrite, answer: AddEventsResponse): void {
  const { stored, duplicates } = answer;
  const count = write.body.events.length;
  if (stored === 0 && duplicates === count) run.counts.unknownFoundCommitted++;
  else if (stored !== count || duplicates !== 0) {
    run.problem(
      `retry of cut events request for ${write.body.session_id} answered stored ${stored}, duplicates ${duplicates} of ${count}: part of the request had been stored`,
    );
  }
  write.acked = true;
  run.ackedEvents.push(write);
}

/** Acknowledged events sent again: all of them duplicates, or some were lost. */
function checkAckedEventsRetry(run: Run, write: EventsWrite, answer: AddEventsResponse): void {
  const { stored, duplicates } = answer;
  if (stored !== 0 || duplicates !== write.body.events.length) {
    run.lostOnRetry.add(write);
    run.problem(
      `retry of acknowledged events ${write.body.events.map((e) => e.event_id).join(', ')} answered stored ${stored}, duplicates ${duplicates}: they were not all stored any more`,
    );
  }
}

/** An acknowledged registration sent again: it answers as the first time, or it was lost. */
function checkAckedSessionRetry(run: Run, session: SessionWrite, answer: RegisterSessionResponse): void {
  if (!isDeepStrictEqual(answer, session.ack)) {
    run.lostOnRetry.add(session);
    run.problem(
      `retry of acknowledged session ${session.body.session_id} answered ${JSON.stringify(answer)}, first ${JSON.stringify(session.ack)}`,
    );
  }
}

/**
 * An ingest body of new sessions, events for most of them and for some acknowledged sessions, and flags
 * for a few of either: each item a write of its own.
 */
async function ingestNew(run: Run, rng: Random): Promise<void> {
  run.counts.ingestRequests++;
  const sessions = Array.from({ length: rng.int(...INGEST_SESSIONS) }, (): SessionWrite => ({
    body: newSession(rng),
    ack: undefined,
    flag: 'none',
  }));
  const others = Array.from({ length: rng.int(...INGEST_OTHER_EVENTS) }, () => rng.pick(run.ackedSessions));
  const targets = [...sessions.filter(() => rng.chance(INGEST_EVENTS_SHARE)), ...others].filter(isDefined);
  const events = targets.map((session): EventsWrite => ({ body: newEvents(rng, session.body), acked: false }));
  const flags = [...sessions, rng.pick(run.ackedSessions)]
    .filter(isDefined)
    .filter(() => rng.chance(INGEST_FLAG_SHARE));
  const write: IngestWrite = {
    body: {
      sessions: sessions.map((session) => session.body),
      events: events.map((group) => group.body),
      irrelevant: flags.map((session) => session.body.session_id),
    },
    sessions,
    events,
    flags,
  };
  run.sessions.push(...sessions);
  run.eventWrites.push(...events);
  for (const session of flags) if (session.flag === 'none') session.flag = 'sent';
  const sent = await run.post<{ results: IngestResults }>(INGEST_PATH, write.body);
  if (sent.ok) acknowledgeIngest(run, write, sent.answer.results, 'new');
  else run.unknownOutcome(write, run.retryIngests, rng);
}

/**
 * The items of an ingest body against their entries in a 200 answer: every item of these bodies is valid,
 * so each must be answered 200, as its single route would for a new write (`new`), a retry of a write
 * whose outcome was unknown (`unknown`) or of an acknowledged one (`acked`).
 */
function acknowledgeIngest(
  run: Run,
  write: IngestWrite,
  results: IngestResults,
  mode: 'new' | 'unknown' | 'acked',
): void {
  let accepted = 0;
  const refused = (entry: ItemRefused | undefined, item: string) => {
    run.problem(`ingest (${mode}) item ${item} answered ${JSON.stringify(entry)}`);
  };
  write.sessions.forEach((session, index) => {
    const entry = results.sessions[index];
    if (entry === undefined || 'code' in entry) {
      refused(entry, `sessions[${index}]`);
      return;
    }
    accepted++;
    const { status: _status, ...answer } = entry;
    if (mode === 'acked') checkAckedSessionRetry(run, session, answer);
    else run.acknowledgeSession(session, answer);
  });
  write.events.forEach((events, index) => {
    const entry = results.events[index];
    if (entry === undefined || 'code' in entry) {
      refused(entry, `events[${index}]`);
      return;
    }
    accepted++;
    const { status: _status, ...answer } = entry;
    if (mode === 'new') acknowledgeNewEvents(run, events, answer);
    else if (mode === 'unknown') acknowledgeRetriedEvents(run, events, answer);
    else checkAckedEventsRetry(run, events, answer);
  });
  write.flags.forEach((session, index) => {
    const entry = results.irrelevant[index];
    if (entry === undefined || 'code' in entry) {
      refused(entry, `irrelevant[${index}]`);
      return;
    }
    accepted++;
    session.flag = 'acked';
  });
  const items = write.sessions.length + write.events.length + write.flags.length;
  if (mode !== 'acked') run.counts.ingestItemsAcked += accepted;
  // Every item acknowledged: the body is one to re-send as a retry of acknowledged writes.
  if (mode !== 'acked' && accepted === items) run.ackedIngests.push(write);
}

/** A retry of an acknowledged write: it must answer 200 as for a stored write (not store it again). */
async function retryAcked(run: Run, rng: Random): Promise<void> {
  run.counts.retriesOfAcked++;
  const ingest = rng.chance(SHARE_INGEST) ? rng.pick(run.ackedIngests) : undefined;
  if (ingest !== undefined) {
    const sent = await run.post<{ results: IngestResults }>(INGEST_PATH, ingest.body);
    if (sent.ok) acknowledgeIngest(run, ingest, sent.answer.results, 'acked');
    return;
  }
  const events = rng.chance(0.6) ? rng.pick(run.ackedEvents) : undefined;
  if (events !== undefined) {
    const sent = await run.post<AddEventsResponse>(EVENTS_PATH, events.body);
    if (sent.ok) checkAckedEventsRetry(run, events, sent.answer);
    return;
  }
  const session = rng.pick(run.ackedSessions);
  if (session === undefined) return;
  const sent = await run.post<RegisterSessionResponse>(SESSION_PATH, session.body);
  if (sent.ok) checkAckedSessionRetry(run, session, sent.answer);
}

/**
 * A retry of a write whose outcome is unknown: it must answer as for the whole write, stored or not. An
 * ingest body is retried whole (as the route asks: every item is idempotent), since its events may be
 * on sessions that only its own registrations stored.
 */
async function retryUnknown(run: Run, rng: Random): Promise<void> {
  const ingest = rng.chance(SHARE_INGEST * 2) ? rng.take(run.retryIngests) : undefined;
  if (ingest !== undefined) {
    const sent = await run.post<{ results: IngestResults }>(INGEST_PATH, ingest.body);
    if (!sent.ok) {
      run.retryIngests.push(ingest);
      return;
    }
    run.counts.unknownRetriedAcked++;
    acknowledgeIngest(run, ingest, sent.answer.results, 'unknown');
    return;
  }
  const events = rng.chance(0.5) || run.retrySessions.length === 0 ? rng.take(run.retryEvents) : undefined;
  if (events !== undefined) {
    const sent = await run.post<AddEventsResponse>(EVENTS_PATH, events.body);
    if (!sent.ok) {
      run.retryEvents.push(events);
      return;
    }
    run.counts.unknownRetriedAcked++;
    acknowledgeRetriedEvents(run, events, sent.answer);
    return;
  }
  const session = rng.take(run.retrySessions);
  if (session === undefined) return;
  const sent = await run.post<RegisterSessionResponse>(SESSION_PATH, session.body);
  if (!sent.ok) {
    run.retrySessions.push(session);
    return;
  }
  run.counts.unknownRetriedAcked++;
  run.acknowledgeSession(session, sent.answer);
}

async function clientLoop(run: Run, rng: Random): Promise<void> {
  while (!run.isStopping()) {
    const choice = rng.next();
    if (choice < SHARE_REGISTER || run.ackedSessions.length === 0) await registerNew(run, rng);
    else if (choice < SHARE_REGISTER + SHARE_EVENTS) await postEvents(run, rng);
    else if (choice < SHARE_REGISTER + SHARE_EVENTS + SHARE_INGEST) await ingestNew(run, rng);
    else if (choice < SHARE_REGISTER + SHARE_EVENTS + SHARE_INGEST + SHARE_RETRY_ACKED) await retryAcked(run, rng);
    else await retryUnknown(run, rng);
  }
}

/** Kills the service at random moments, at least `kills` times, each time while requests are in flight. */
async function killerLoop(run: Run, rng: Random, kills: number): Promise<void> {
  const [low, high] = UPTIME_MS[run.backend];
  while (run.counts.killsInFlight < kills && !run.isStopping()) {
    await sleep(rng.chance(EARLY_KILL_SHARE) ? rng.int(0, EARLY_KILL_MS) : rng.int(low, high));
    // The clients spend much of their time in this process (fetch is not cheap), so at a random moment the
    // service is often idle with its answers on their way. Aim closer: a few ms after a request is sent,
    // while the service reads it, writes it or answers it.
    await Promise.race([run.nextSend(), sleep(2000)]);
    const delay = rng.int(0, KILL_AFTER_SEND_MS);
    if (delay === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    else await sleep(delay);
    if (run.isStopping()) break;
    if (run.inFlight > 0) {
      run.counts.killsInFlight++;
      run.counts.inFlightAtKills += run.inFlight;
    }
    await run.fleet.restart();
  }
  await sleep(LAST_RUN_MS);
}

/** Runs the tasks together; the first failure stops the others and is thrown once all have ended. */
async function runTogether(run: Run, tasks: readonly (() => Promise<void>)[]): Promise<void> {
  const errors: unknown[] = [];
  await Promise.all(
    tasks.map(async (task) => {
      try {
        await task();
      } catch (error) {
        errors.push(error);
        run.stop();
      }
    }),
  );
  if (errors.length > 0) throw errors[0];
}

/** What a store or the service holds of one session: the session (or null) and the asked-for events. */
interface Stored {
  readonly session: StoredSession | null;
  readonly events: ReadonlyMap<string, Omit<StoredEvent, 'position'> & { readonly position?: number | null }>;
}

type Reader = (sessionId: string, eventIds: readonly string[]) => Promise<Stored>;

function storeReader(store: ClickstreamStore): Reader {
  return async (sessionId, eventIds) => {
    const session = await store.findSession(sessionId);
    const events = eventIds.length === 0 ? [] : await store.findEvents(sessionId, eventIds);
    return { session, events: new Map(events.map((e) => [e.event_id, e])) };
  };
}

function httpReader(service: ServiceProcess): Reader {
  return async (sessionId) => {
    const response = await fetch(`${service.baseUrl}${SESSION_PATH}?session_id=${encodeURIComponent(sessionId)}`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    if (response.status === 404) return { session: null, events: new Map() };
    if (response.status !== 200) throw new Error(`GET answered ${response.status}: ${text}`);
    const { events, events_truncated, ...session } = JSON.parse(text) as SessionWithEvents;
    if (events_truncated) throw new Error('GET cut the list of events');
    return { session, events: new Map(events.map((e) => [e.event_id, e])) };
  };
}

/** What differs between a registration and the stored session, or undefined when nothing does. */
function sessionDifference(write: SessionWrite, stored: StoredSession): string | undefined {
  const { body, ack } = write;
  const expected = {
    session_id: body.session_id,
    search_query: body.search_query,
    search_results: body.search_results.map((r, position) => ({
      object_id: r.object_id,
      position,
      rank: r.rank ?? null,
      meta: r.meta ?? r.item_info ?? null,
    })),
    search_meta: body.search_meta ?? null,
    user_id: body.user_id ?? null,
    ...(body.created_at === undefined || body.created_at === null ? {} : { created_at: body.created_at }),
    // What the acknowledgement said, when there was one.
    ...(ack === undefined
      ? {}
      : { batch_id: ack.batch_id, session_number: ack.session_number, created_at: ack.created_at }),
  };
  const actual = Object.fromEntries(Object.keys(expected).map((key) => [key, stored[key as keyof StoredSession]]));
  return isDeepStrictEqual(actual, expected)
    ? undefined
    : `expected ${JSON.stringify(expected)}, stored ${JSON.stringify(actual)}`;
}

function eventMatches(
  sent: EventInput,
  session: RegisterSessionBody,
  stored: Omit<StoredEvent, 'position'> & { readonly position?: number | null },
): boolean {
  const position = session.search_results.findIndex((r) => r.object_id === sent.object_id);
  return (
    stored.object_id === sent.object_id &&
    stored.event_type === (sent.event_type ?? 'click') &&
    isDeepStrictEqual(stored.meta, sent.meta ?? sent.item_info ?? null) &&
    (sent.created_at === undefined || sent.created_at === null || stored.created_at === sent.created_at) &&
    (stored.position === undefined || stored.position === (position < 0 ? null : position))
  );
}

interface Verdict {
  /** Acknowledged writes missing or not as sent. */
  readonly lost: Set<Write>;
  /** Unknown writes found stored (completely) and found absent. */
  unknownPresent: number;
  unknownAbsent: number;
  readonly problems: string[];
}

/** Runs `work` for every item with at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await work(item);
      }
    }),
  );
}

/** Checks the given sessions, with all the events the clients sent for them, against what `read` finds. */
async function verify(run: Run, sessions: readonly SessionWrite[], read: Reader): Promise<Verdict> {
  const eventsBySession = new Map<string, EventsWrite[]>();
  for (const write of run.eventWrites) {
    const list = eventsBySession.get(write.body.session_id) ?? [];
    list.push(write);
    eventsBySession.set(write.body.session_id, list);
  }
  const verdict: Verdict = { lost: new Set(), unknownPresent: 0, unknownAbsent: 0, problems: [] };
  await forEachLimited(sessions, READ_CONCURRENCY, async (write) => {
    const sessionId = write.body.session_id;
    const eventWrites = eventsBySession.get(sessionId) ?? [];
    let stored: Stored;
    try {
      stored = await read(
        sessionId,
        eventWrites.flatMap((w) => w.body.events.map((e) => e.event_id)),
      );
    } catch (error) {
      verdict.problems.push(`session ${sessionId} could not be read: ${String(error)}`);
      return;
    }
    if (stored.session === null) {
      if (write.ack !== undefined) {
        verdict.lost.add(write);
        verdict.problems.push(`acknowledged session ${sessionId} is missing`);
      } else verdict.unknownAbsent++;
    } else {
      const difference = sessionDifference(write, stored.session);
      if (difference !== undefined) {
        if (write.ack !== undefined) verdict.lost.add(write);
        verdict.problems.push(`session ${sessionId} is not as registered: ${difference}`);
      }
      if (write.ack === undefined) verdict.unknownPresent++;
      // A flag sent with an unknown outcome may be there or not; one acknowledged must, one never sent not.
      if (write.flag === 'acked' && !stored.session.is_irrelevant) {
        verdict.lost.add(write);
        verdict.problems.push(`the acknowledged irrelevant flag of ${sessionId} is missing`);
      } else if (write.flag === 'none' && stored.session.is_irrelevant) {
        verdict.problems.push(`session ${sessionId} is flagged irrelevant, which no client asked for`);
      }
    }
    for (const events of eventWrites) {
      const present = events.body.events.filter((e) => stored.events.has(e.event_id));
      const wrong = present.filter((e) => {
        const found = stored.events.get(e.event_id);
        return found === undefined || !eventMatches(e, write.body, found);
      });
      const what = `events ${events.body.events.map((e) => e.event_id).join(', ')} of ${sessionId}`;
      if (wrong.length > 0) {
        verdict.problems.push(
          `${what}: stored differently: ${wrong.map((e) => `${JSON.stringify(e)} -> ${JSON.stringify(stored.events.get(e.event_id))}`).join('; ')}`,
        );
      }
      if (events.acked) {
        if (present.length !== events.body.events.length || wrong.length > 0) {
          verdict.lost.add(events);
          verdict.problems.push(`acknowledged ${what}: ${present.length} of ${events.body.events.length} stored`);
        }
      } else if (present.length === 0) verdict.unknownAbsent++;
      else if (present.length === events.body.events.length) verdict.unknownPresent++;
      else
        verdict.problems.push(
          `cut ${what}: ${present.length} of ${events.body.events.length} stored (not all or nothing)`,
        );
    }
  });
  return verdict;
}

/** Every session and event in the store was sent by a client, and each is there once. */
async function phantoms(
  run: Run,
  store: ClickstreamStore,
): Promise<{ sessions: number; events: number; problems: string[] }> {
  const sent = new Map<string, Set<string>>();
  for (const write of run.sessions) sent.set(write.body.session_id, new Set());
  for (const write of run.eventWrites) {
    const ids = sent.get(write.body.session_id);
    for (const event of write.body.events) ids?.add(event.event_id);
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  let events = 0;
  for (const batch of await store.listBatches(PAGE)) {
    for (let afterNumber = 0; ;) {
      const page = await store.listBatchSessions(batch.batch_id, afterNumber, PAGE, null);
      for (const session of page) {
        const eventIds = sent.get(session.session_id);
        if (eventIds === undefined) problems.push(`session ${session.session_id} was never sent`);
        if (seen.has(session.session_id)) problems.push(`session ${session.session_id} is stored twice`);
        seen.add(session.session_id);
        const own = new Set<string>();
        for (const event of session.events) {
          events++;
          if (eventIds !== undefined && !eventIds.has(event.event_id)) {
            problems.push(`event ${event.event_id} of ${session.session_id} was never sent`);
          }
          if (own.has(event.event_id))
            problems.push(`event ${event.event_id} of ${session.session_id} is stored twice`);
          own.add(event.event_id);
        }
      }
      const last = page.at(-1);
      if (last === undefined || page.length < PAGE) break;
      afterNumber = last.session_number;
    }
  }
  return { sessions: seen.size, events, problems };
}

/** Cleanups run newest first, each once, all of them even when one fails. */
class Teardowns {
  private readonly pending: (() => Promise<void> | void)[] = [];

  add(cleanup: () => Promise<void> | void): void {
    this.pending.push(cleanup);
  }

  async run(): Promise<void> {
    for (let cleanup = this.pending.pop(); cleanup !== undefined; cleanup = this.pending.pop()) {
      try {
        await cleanup();
      } catch (error) {
        console.error('crash-safety teardown:', error);
      }
    }
  }
}

const formatted = (n: number) => n.toLocaleString('en-US');

function listed(problems: readonly string[]): string {
  const shown = problems.slice(0, LISTED_PROBLEMS).join('\n  ');
  const more = problems.length > LISTED_PROBLEMS ? `\n  ... and ${problems.length - LISTED_PROBLEMS} more` : '';
  return `${problems.length} problem(s) (seed ${SEED}, replay with CLICKSTREAM_TEST_CRASH_SEED=${SEED}):\n  ${shown}${more}`;
}

describe('crash safety: SIGKILL under load, restart on the same store', { timeout: 600_000 }, () => {
  console.log(`crash-safety: seed ${SEED} (replay with CLICKSTREAM_TEST_CRASH_SEED=${SEED})`);
  // Each test tears down its processes, database and files when it ends; what a test that timed out
  // still holds is torn down here.
  const teardowns = new Teardowns();
  after(() => teardowns.run());

  testBackends().forEach((backend, index) => {
    it(`${backend}: every acknowledged write survives ${MIN_KILLS[backend]}+ kills, the store stays intact`, async () => {
      try {
        await crashSafetyRun(backend, index * 100, teardowns);
      } finally {
        await teardowns.run();
      }
    });
  });
});

/** One backend's run: ingestion with kills and restarts, then every check of the file's header comment. */
async function crashSafetyRun(backend: Backend, stream: number, teardowns: Teardowns): Promise<void> {
  const started = performance.now();
  const scratch = scratchDir();
  teardowns.add(scratch.cleanup);
  let url = databaseUrl(scratch.dir);
  if (backend === 'postgres') {
    const database = await createTestDatabase();
    teardowns.add(database.drop);
    url = database.url;
  }
  const run = new Run(backend, scratch.dir, { CLICKSTREAM_DATABASE_URL: url });
  teardowns.add(() => {
    run.stop();
    return run.fleet.dispose();
  });
  const killer = new Random(SEED, stream);
  const clients = Array.from({ length: CLIENTS }, (_unused, client) => new Random(SEED, stream + 1 + client));

  await run.fleet.start();
  await runTogether(run, [
    async () => {
      try {
        await killerLoop(run, killer, MIN_KILLS[backend]);
      } finally {
        run.stop();
      }
    },
    ...clients.map((rng) => () => clientLoop(run, rng)),
  ]);
  const ingested = performance.now();

  // After the last restart: a sample of the acknowledged sessions and every unknown one, through the API.
  const last = await run.fleet.current();
  const sampler = new Random(SEED, stream + 99);
  const acked = [...run.ackedSessions];
  const sample = run.sessions.filter((w) => w.ack === undefined);
  for (let i = 0; i < HTTP_SAMPLE; i++) {
    const write = sampler.take(acked);
    if (write === undefined) break;
    sample.push(write);
  }
  const throughApi = await verify(run, sample, httpReader(last));
  await run.fleet.stop();

  // After the final stop: everything, through the store itself, then its integrity.
  const { store } = await createStore(url, { durability: 'process' });
  let verdict: Verdict;
  let extra: Awaited<ReturnType<typeof phantoms>>;
  let integrity: string[];
  try {
    verdict = await verify(run, run.sessions, storeReader(store));
    extra = await phantoms(run, store);
    integrity = await store.checkIntegrity();
  } finally {
    await store.close();
  }
  const check = await runCliProcess(scratch.dir, ['check'], { CLICKSTREAM_DATABASE_URL: url });

  const lost = new Set([...run.lostOnRetry, ...throughApi.lost, ...verdict.lost]).size;
  const ackedEvents = run.ackedEvents.reduce((sum, w) => sum + w.body.events.length, 0);
  console.log(
    `crash-safety ${backend}: ${formatted(run.acknowledgedWrites)} acknowledged writes, ${run.fleet.kills} kills, ${lost} lost (seed ${SEED})`,
  );
  console.log(
    `  ${formatted(run.ackedSessions.length)} sessions and ${formatted(run.ackedEvents.length)} event requests (${formatted(ackedEvents)} events) acknowledged; ` +
      `${formatted(run.counts.requests)} requests, ${formatted(run.counts.retriesOfAcked)} retries of acknowledged writes; ` +
      `${run.counts.killsInFlight} kills with requests in flight (${run.counts.inFlightAtKills} in flight in all); ` +
      `${run.counts.unknownOutcomes} unknown outcomes: ${run.counts.unknownRetriedAcked} acknowledged on retry (${run.counts.unknownFoundCommitted} events requests had committed), ` +
      `${verdict.unknownPresent} abandoned found stored, ${verdict.unknownAbsent} not; ` +
      `${run.counts.unavailable} 503s, ${run.counts.strayErrors} connection errors without a kill; ` +
      `${formatted(run.counts.ingestRequests)} ingest bodies, ${formatted(run.counts.ingestItemsAcked)} of their items acknowledged (${formatted(run.ackedIngests.length)} bodies whole), ` +
      `${run.sessions.filter((w) => w.flag === 'acked').length} flags acknowledged; ` +
      `store: ${formatted(extra.sessions)} sessions, ${formatted(extra.events)} events; ` +
      `${((ingested - started) / 1000).toFixed(1)} s ingesting, ${((performance.now() - started) / 1000).toFixed(1)} s in all`,
  );

  const problems = [
    ...verdict.problems.map((p) => `store after the final stop: ${p}`),
    ...throughApi.problems.map((p) => `GET after the last restart: ${p}`),
    ...run.problems.map((p) => `during the run: ${p}`),
    ...extra.problems.map((p) => `store after the final stop: ${p}`),
  ];
  assert.equal(lost, 0, `acknowledged writes lost; ${listed(problems)}`);
  assert.deepEqual(problems, [], listed(problems));
  assert.deepEqual(integrity, [], 'checkIntegrity() after the final stop');
  assert.equal(check.code, 0, `clickstream check exited ${check.code}: ${check.stdout}${check.stderr}`);
  assert.ok(run.fleet.kills >= MIN_KILLS[backend], `${run.fleet.kills} kills, want at least ${MIN_KILLS[backend]}`);
  assert.ok(run.acknowledgedWrites > 0, 'no write was acknowledged');
}
