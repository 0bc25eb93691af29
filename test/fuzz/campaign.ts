/**
 * One fuzzing campaign against one listening server: it turns generated bursts into requests, sends them
 * over raw sockets (one keep-alive connection per slot of a burst), checks every answer against the oracle,
 * applies the acknowledged writes to the model, compares the store with the model where a request wrote
 * and, on demand, in full, and groups the failures it finds (writing the bytes of each to a file). The test
 * file creates one per backend and drives it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionWithEvents } from '../../src/schemas/records.js';
import type { Backend } from '../support/backends.js';
import type { TestApp } from '../support/test-app.js';
import { ingestAnswerProblems, ingestOutcomes, writeTargets } from './ingest-answers.js';
import {
  canonical,
  difference,
  messageOf,
  Model,
  ModelMismatch,
  nonFinitePaths,
  pageWithSortedEvents,
  parsedBody,
  PHASES,
  problemCode,
  responseProblems,
  type Phase,
} from './model.js';
import { Connection, type HttpResponse } from './raw-client.js';
import type { RefPool } from './raw-json.js';
import { describeRequest, prepareRequest, type Prepared } from './request-bytes.js';
import type { Cut, Template } from './request-generators.js';
import { WRITE_ROUTES } from './routes.js';
import { MAX_RETRIED_BODY_BYTES } from './settings.js';

/** Longest wait for one complete response. */
const REQUEST_TIMEOUT_MS = 10_000;
/** The campaign stops after this many kinds of failure (all are reported). */
const MAX_FAILURE_KINDS = 40;
/** Server time moves by TICK_SECONDS every TICK_EVERY requests, so that released batches seal. */
const TICK_EVERY = 150;
const TICK_SECONDS = 250;

interface Failure {
  readonly run: number;
  readonly reason: string;
  readonly request: string;
  readonly file: string | null;
}

/** Failures alike (same route, same reason but for numbers and quoted text), counted, with first examples. */
interface FailureGroup {
  readonly signature: string;
  count: number;
  readonly examples: Failure[];
}

export class Campaign {
  readonly model = new Model();
  readonly byStatus = new Map<string, number>();
  readonly byLabel = new Map<string, number>();
  readonly byCode = new Map<string, number>();
  /** The items of acknowledged ingest requests, by section, status and code. */
  readonly byItem = new Map<string, number>();
  readonly failures = new Map<string, FailureGroup>();
  failureCount = 0;
  /** Acknowledged writes, re-sent by `retry` requests. */
  private readonly history: Prepared[] = [];
  /** One keep-alive connection per slot of a burst. */
  private readonly connections: (Connection | null)[] = [];
  private failureDir: string | null = null;
  /** Property runs (bursts) and requests sent. */
  run = 0;
  requests = 0;

  constructor(
    private readonly t: TestApp,
    private readonly port: number,
    private readonly backend: Backend,
  ) {}

  private count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private ref = (pool: RefPool, index: number): string => {
    const sessions = this.model.sessionOrder;
    const list = pool === 'batch' ? this.model.batchIds : pool === 'recent' ? sessions.slice(-5) : sessions;
    return list[index % Math.max(1, list.length)] ?? (pool === 'batch' ? 'no-batch-yet' : 'fz-s-0');
  };

  /** Builds the exact bytes of a template, at the current server time. */
  prepare(template: Template): Prepared {
    const now = this.t.clock.now;
    if (template.retry !== null && this.history.length > 0) {
      const original = this.history[template.retry % this.history.length];
      if (original) return { ...original, label: 'retry', now };
    }
    return prepareRequest(template, this.port, now, this.ref);
  }

  private async connectionFor(slot: number): Promise<Connection> {
    const current = this.connections[slot];
    // A socket idle for long may be closed by the server just as a request goes out: start a new one.
    if (current?.usable && Date.now() - current.lastUsed < 1000) return current;
    current?.close();
    const fresh = await Connection.open(this.port);
    this.connections[slot] = fresh;
    return fresh;
  }

  private dropConnection(slot: number): void {
    this.connections[slot]?.close();
    this.connections[slot] = null;
  }

  /** Sends a complete request on the connection of `slot` and waits for the complete response. */
  async send(request: Prepared, slot = 0): Promise<HttpResponse> {
    const connection = await this.connectionFor(slot);
    try {
      const response = await connection.exchange(request.bytes, request.method === 'HEAD', REQUEST_TIMEOUT_MS);
      // Bytes after the response on a connection kept open would be taken for the next response.
      if (response.keepAlive && response.extraBytes > 0) {
        this.fail(request, `${response.extraBytes} bytes came after the response on a kept-alive connection`);
      }
      if (!response.keepAlive || response.extraBytes > 0) this.dropConnection(slot);
      return response;
    } catch (error) {
      this.dropConnection(slot);
      throw error;
    }
  }

  fail(request: Prepared | null, reason: string): void {
    this.failureCount++;
    const kind = (reason.split(': ')[0] ?? reason).replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N');
    const signature = `${request?.route ?? 'store'}: ${kind.slice(0, 100)}`;
    let group = this.failures.get(signature);
    if (!group) {
      group = { signature, count: 0, examples: [] };
      this.failures.set(signature, group);
    }
    group.count++;
    if (group.examples.length >= 2) return;
    let file: string | null = null;
    if (request) {
      this.failureDir ??= mkdtempSync(join(tmpdir(), 'clickstream-fuzz-'));
      file = join(this.failureDir, `${this.backend}-run-${this.run}-${this.failureCount}.http`);
      writeFileSync(file, request.bytes);
    }
    group.examples.push({ run: this.run, reason, request: request ? describeRequest(request) : '(none)', file });
    if (this.failures.size >= MAX_FAILURE_KINDS)
      throw new Error(`stopping after ${MAX_FAILURE_KINDS} kinds of failure`);
  }

  /**
   * One generated burst: its requests are sent at once, each on a connection of its own (so that the
   * service's group commit mixes them), their answers checked, the acknowledged ones applied to the model,
   * and the store compared with the model where the requests wrote.
   */
  async step(templates: readonly Template[]): Promise<void> {
    this.run++;
    if (this.run % TICK_EVERY === 0) this.t.clock.advance(TICK_SECONDS);
    const requests = templates.map((template) => this.prepare(template));
    const alone = requests.length === 1;
    this.requests += requests.length;
    const outcomes = await Promise.all(
      requests.map(async (request, slot) => {
        this.count(this.byLabel, request.label.split(' ')[0] ?? request.label);
        if (request.cut) {
          await this.sendCut(request, request.cut);
          return null;
        }
        try {
          return { request, response: await this.send(request, slot) };
        } catch (error) {
          this.count(this.byStatus, 'none');
          this.fail(request, `no complete response: ${messageOf(error)}`);
          await this.expectAlive(request);
          return null;
        }
      }),
    );
    const answered = outcomes.filter((outcome) => outcome !== null);
    this.model.beginStep();
    for (const { request, response } of answered) {
      this.count(this.byStatus, String(response.status));
      const code = problemCode(response);
      this.count(this.byCode, code ?? String(response.status));
      for (const problem of responseProblems(request, response)) this.fail(request, problem);
      for (const problem of ingestAnswerProblems(request, response)) this.fail(request, problem);
      for (const item of ingestOutcomes(request, response)) this.count(this.byItem, item);
      if (alone && code !== null && response.status >= 400 && response.status < 500) {
        this.judgeRefusal(request, code);
      }
    }
    // Acknowledged writes in an order the service could have committed them in, phase by phase: sessions
    // before what refers to them (an ingest request has a part in several phases). Within a burst, how many
    // events each request stored depends on the commit order: only their sum is checked.
    const acknowledged = answered.flatMap(({ request, response }) => {
      // Reads change nothing, and some answer other than one JSON document (JSON Lines, Parquet).
      if (response.status >= 300 || request.method === 'HEAD' || !WRITE_ROUTES.includes(request.route)) return [];
      try {
        return [{ request, answer: JSON.parse(response.body.toString('utf8')) as unknown }];
      } catch {
        return []; // responseProblems reports it
      }
    });
    for (const phase of PHASES) {
      for (const { request, answer } of acknowledged) this.acknowledge(request, answer, alone, phase);
    }
    for (const { request } of acknowledged) this.remember(request);
    await this.settleUncertainEvents(requests[0] ?? null);
    for (const { request, response } of answered) {
      if (alone && request.probeSession !== null) this.compareRead(request, response);
    }
    for (const request of requests) {
      if (WRITE_ROUTES.includes(request.route) && !request.cut) await this.compareTouched(request);
    }
  }

  /** Applies the part of `phase` of an acknowledged (2xx) write to the model. */
  private acknowledge(request: Prepared, answer: unknown, alone: boolean, phase: Phase): void {
    try {
      this.model.apply(request, answer, { alone, phase });
    } catch (error) {
      if (!(error instanceof ModelMismatch)) throw error;
      this.fail(request, `acknowledged write does not match the model: ${error.message}`);
    }
  }

  /** What an acknowledged write leaves beyond the model: a number stored wrongly, a request to re-send. */
  private remember(request: Prepared): void {
    try {
      for (const path of nonFinitePaths(parsedBody(request.body), '')) {
        this.fail(
          request,
          `acknowledged a number that JSON.parse reads as Infinity (so it is stored as null): ${path}`,
        );
      }
    } catch (error) {
      if (!(error instanceof ModelMismatch)) throw error;
      this.fail(request, `acknowledged write does not match the model: ${error.message}`);
    }
    if (request.body && request.body.length <= MAX_RETRIED_BODY_BYTES) this.history.push(request);
  }

  /** A refusal (4xx) of a request alone in its step must agree with the model: see Model.judgeSingleRefusal. */
  private judgeRefusal(request: Prepared, code: string): void {
    try {
      this.model.judgeSingleRefusal(request, code);
    } catch (error) {
      if (!(error instanceof ModelMismatch)) throw error;
      this.fail(request, `refusal does not match the model: ${error.message}`);
    }
  }

  /** Events the step's commit order decided (Model.uncertainEvents): the model takes the version stored. */
  private async settleUncertainEvents(request: Prepared | null): Promise<void> {
    for (const { sessionId, eventId, versions } of [...this.model.uncertainEvents.values()]) {
      const [stored] = await this.t.store.findEvents(sessionId, [eventId]);
      if (!this.model.settleEvent(sessionId, eventId, stored ?? null)) {
        this.fail(
          request,
          `event ${JSON.stringify(eventId)} of ${JSON.stringify(sessionId)} is stored as ${canonical(stored ?? null)}, none of the acknowledged ${canonical(versions)}`,
        );
      }
    }
  }

  /** Sends part of a request on a socket of its own and closes it; the server must keep answering. */
  private async sendCut(request: Prepared, cut: Cut): Promise<void> {
    const bodyLength = request.bytes.length - request.headerLength;
    const sent = request.headerLength + Math.floor(bodyLength * cut.fraction);
    const connection = await Connection.open(this.port);
    await connection.sendCut(request.bytes.subarray(0, Math.min(sent, request.bytes.length - 1)), cut.mode);
    this.count(this.byStatus, 'cut');
    await this.expectAlive(request);
  }

  /** The status of GET /health (public: no key), asked on a connection of its own. */
  async health(): Promise<number> {
    const probe = Buffer.from(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\n\r\n`, 'latin1');
    const connection = await Connection.open(this.port);
    try {
      return (await connection.exchange(probe, false, REQUEST_TIMEOUT_MS)).status;
    } finally {
      connection.close();
    }
  }

  private async expectAlive(after: Prepared): Promise<void> {
    try {
      const status = await this.health();
      if (status !== 200) this.fail(after, `GET /health answered ${status} after this request`);
    } catch (error) {
      this.fail(after, `the server stopped answering after this request: ${messageOf(error)}`);
    }
  }

  /** GET /session of a session must show what the model holds: 200 with its content, or 404. */
  private compareRead(request: Prepared, response: HttpResponse): void {
    const id = request.probeSession;
    const expected = id === null ? undefined : this.model.sessions.get(id);
    if (response.status === 404) {
      if (expected) this.fail(request, `GET /session answered 404 for the registered session ${String(id)}`);
      return;
    }
    if (response.status !== 200) return;
    if (!expected) {
      this.fail(request, `GET /session answered 200 for ${String(id)}, which no acknowledged write registered`);
      return;
    }
    const actual = JSON.parse(response.body.toString('utf8')) as SessionWithEvents;
    if (canonical(pageWithSortedEvents(actual)) !== canonical(this.model.expectedPage(expected))) {
      this.fail(
        request,
        `GET /session ${JSON.stringify(id)} differs from the model: ${difference(canonical(pageWithSortedEvents(actual)), canonical(this.model.expectedPage(expected)))}`,
      );
    }
  }

  /** After any write request: the sessions, events and releases it named are in the store as the model says. */
  private async compareTouched(request: Prepared): Promise<void> {
    // Skipped for very large bodies (nearly all refused): the end of the campaign compares everything anyway.
    if (request.body === null || request.body.length > 256 * 1024) return;
    let body: unknown;
    try {
      body = parsedBody(request.body);
    } catch {
      return;
    }
    if (request.route === 'release') {
      for (const problem of await this.compareReleases()) this.fail(request, problem);
      return;
    }
    for (const [sessionId, eventIds] of writeTargets(request.route, body)) {
      await this.compareSession(request, sessionId, [...eventIds]);
    }
  }

  /** A session and some of its events in the store, against the model. */
  private async compareSession(request: Prepared, sessionId: string, eventIds: readonly string[]): Promise<void> {
    const session = this.model.sessions.get(sessionId);
    const stored = await this.t.store.findSession(sessionId);
    const expected = session ? canonical(this.model.expectedRecord(session)) : 'null';
    if (canonical(stored) !== expected) {
      this.fail(
        request,
        `session ${JSON.stringify(sessionId)} differs from the model: ${difference(canonical(stored), expected)}`,
      );
      return;
    }
    if (eventIds.length === 0) return;
    const byId = (a: { event_id: string }, b: { event_id: string }) => (a.event_id < b.event_id ? -1 : 1);
    const storedEvents = (await this.t.store.findEvents(sessionId, eventIds)).sort(byId);
    const modelEvents = eventIds
      .flatMap((eventId) => {
        const event = session?.events.get(eventId);
        return event ? [event] : [];
      })
      .sort(byId);
    if (canonical(storedEvents) !== canonical(modelEvents)) {
      this.fail(
        request,
        `events of ${JSON.stringify(sessionId)} differ from the model: ${difference(canonical(storedEvents), canonical(modelEvents))}`,
      );
    }
  }

  async compareReleases(): Promise<string[]> {
    const batches = await this.t.store.listBatches(100_000);
    const released = batches.filter((b) => b.release_id !== null);
    const problems: string[] = [];
    if (released.length !== this.model.releases.size) {
      problems.push(`the store holds ${released.length} released batches, the model ${this.model.releases.size}`);
    }
    for (const batch of released) {
      const expected = this.model.releases.get(batch.release_id ?? '');
      const actual = { batch_id: batch.batch_id, released_at: batch.released_at, sealed_at: batch.sealed_at };
      if (!expected || canonical(expected) !== canonical(actual)) {
        problems.push(`released batch ${canonical(batch)} is not the model's ${canonical(expected ?? null)}`);
      }
    }
    return problems;
  }

  /** Everything the store holds, session by session, as read back for training. */
  async dump(): Promise<Map<string, { batchId: string; page: SessionWithEvents }>> {
    const sessions = new Map<string, { batchId: string; page: SessionWithEvents }>();
    for (const batch of await this.t.store.listBatches(100_000)) {
      let after = 0;
      for (;;) {
        const page = await this.t.store.listBatchSessions(batch.batch_id, after, 1000, null);
        for (const session of page) sessions.set(session.session_id, { batchId: batch.batch_id, page: session });
        const last = page.at(-1);
        if (!last || page.length < 1000) break;
        after = last.session_number;
      }
    }
    return sessions;
  }

  /** The whole store against the model: nothing missing, nothing extra, nothing different. */
  async compareStore(): Promise<string[]> {
    const problems = await this.compareReleases();
    const dump = await this.dump();
    for (const [sessionId, session] of this.model.sessions) {
      const stored = dump.get(sessionId);
      if (!stored) {
        problems.push(`acknowledged session ${JSON.stringify(sessionId)} is not in the store`);
        continue;
      }
      const expected = canonical(this.model.expectedPage(session));
      const actual = canonical(pageWithSortedEvents(stored.page));
      if (expected !== actual) {
        problems.push(`session ${JSON.stringify(sessionId)} differs from the model: ${difference(actual, expected)}`);
      }
      const times = stored.page.events.map((e) => e.created_at);
      if (times.some((time, i) => i > 0 && time < (times[i - 1] ?? time))) {
        problems.push(`the events of ${JSON.stringify(sessionId)} are not in created_at order`);
      }
    }
    for (const sessionId of dump.keys()) {
      if (!this.model.sessions.has(sessionId)) {
        problems.push(`the store holds session ${JSON.stringify(sessionId)}, which no acknowledged write registered`);
      }
    }
    const counts = new Map<string, number>();
    for (const session of this.model.sessions.values())
      counts.set(session.batch_id, (counts.get(session.batch_id) ?? 0) + 1);
    for (const batch of await this.t.store.listBatches(100_000)) {
      if (batch.released_at !== null && batch.session_count !== (counts.get(batch.batch_id) ?? 0)) {
        problems.push(
          `batch ${batch.batch_id} counts ${batch.session_count} sessions; acknowledged: ${counts.get(batch.batch_id) ?? 0}`,
        );
      }
    }
    return problems;
  }

  close(): void {
    this.connections.forEach((_, slot) => {
      this.dropConnection(slot);
    });
  }
}
