/**
 * The oracle: what the service should answer and store. The model records what the acknowledged (2xx)
 * writes stored, from the bodies as the service parses them and the answers it gave; it throws
 * ModelMismatch when an answer is impossible (a re-registration with another batch, events counted wrong,
 * a write acknowledged that should have been a conflict or closed, a refusal of what the model says is
 * fine) and says what a session must look like when read back from the store or over HTTP. A write is the
 * body of a single client route or an item of an ingest body: both go through the same rules, accepted
 * (`applyItem`) or refused (`judgeRefusal`). `responseProblems` holds the invariants of every answer (2xx
 * JSON or 4xx problem+json, a request id). Also the canonical JSON text that comparisons use.
 */
import { createHash } from 'node:crypto';
import type { ErrorCode } from '../../src/domain/errors.js';
import type { SessionWithEvents } from '../../src/schemas/records.js';
import { headerOf, type HttpResponse } from './raw-client.js';
import type { Prepared } from './request-bytes.js';
import { INGEST_SECTIONS, ITEM_CODES, ROUTES, type IngestSection, type ItemRoute } from './routes.js';
import { MAX_ID_LENGTH, MAX_INGEST_ITEMS, MAX_JSON_DEPTH, MAX_RETRIED_BODY_BYTES } from './settings.js';

/** JSON text with sorted keys; numbers JSON cannot hold are written so that they never equal null. */
export function canonical(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : `<non-finite ${value}>`;
  if (value === undefined) return '<undefined>';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(record[key])}`).join(',')}}`;
}

/** Where two canonical texts part: the store's text and the model's around the first difference. */
export function difference(stored: string, model: string): string {
  let at = 0;
  while (at < stored.length && at < model.length && stored[at] === model[at]) at++;
  const around = (text: string) => JSON.stringify(text.slice(Math.max(0, at - 120), at + 160));
  return `at character ${at}, the store has …${around(stored)}… and the model …${around(model)}…`;
}

export class ModelMismatch extends Error {}

/** Where a parsed body holds numbers JSON cannot write back (1e400 reads as Infinity, then stores as null). */
export function nonFinitePaths(value: unknown, at: string): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [at || '(body)'];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) =>
    nonFinitePaths(item, Array.isArray(value) ? `${at}[${key}]` : `${at}${at ? '.' : ''}${key}`),
  );
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelMismatch(`${what} is not a JSON object: ${canonical(value).slice(0, 200)}`);
  }
  return value as Record<string, unknown>;
}
function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ModelMismatch(`${what} is not a string: ${canonical(value).slice(0, 200)}`);
  return value;
}
function asInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ModelMismatch(`${what} is not an integer: ${canonical(value).slice(0, 200)}`);
  }
  return value;
}
function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ModelMismatch(`${what} is not an array: ${canonical(value).slice(0, 200)}`);
  return value;
}
const given = (value: unknown): boolean => value !== undefined && value !== null;
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
}

/** An id as the service accepts it (so that looking it up in a store is meaningful on every backend). */
export function isPlausibleId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    codePoints(value) <= MAX_ID_LENGTH &&
    value.isWellFormed() &&
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    !/[\u0000-\u001f\u007f-\u009f]/.test(value)
  );
}

interface ModelEvent {
  readonly event_id: string;
  readonly object_id: string;
  readonly event_type: string;
  readonly created_at: number;
  readonly created_at_given: boolean;
  readonly meta: unknown;
}

interface SessionContent {
  readonly session_id: string;
  readonly search_query: unknown;
  readonly search_results: readonly { object_id: string; position: number; rank: unknown; meta: unknown }[];
  readonly search_meta: unknown;
  readonly payload_filter: unknown;
  readonly sort_by: unknown;
  readonly user_id: unknown;
  readonly created_at: number;
  readonly created_at_given: boolean;
}

interface ModelSession {
  readonly session: SessionContent;
  readonly batch_id: string;
  readonly session_number: number;
  irrelevant: boolean;
  readonly events: Map<string, ModelEvent>;
}

interface ModelRelease {
  readonly batch_id: string;
  readonly released_at: number;
  readonly sealed_at: number;
}

/** The body as the service parses it: UTF-8 (invalid bytes replaced), a leading BOM ignored. */
export function parsedBody(body: Buffer | null): unknown {
  if (body === null) throw new ModelMismatch('an acknowledged write had no body');
  let parsed = parsedBodies.get(body);
  if (parsed === undefined) {
    let text = body.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    try {
      parsed = { value: JSON.parse(text) as unknown };
    } catch (error) {
      parsed = { error: `an acknowledged write had a body that is not JSON: ${messageOf(error)}` };
    }
    parsedBodies.set(body, parsed);
  }
  if ('error' in parsed) throw new ModelMismatch(parsed.error);
  return parsed.value;
}
const parsedBodies = new WeakMap<Buffer, { value: unknown } | { error: string }>();

/**
 * The phases of a step's writes: the service could have committed a burst's writes in this order, since
 * what refers to a session comes after its registration. An ingest request has a part in three of them.
 */
export const PHASES = ['register', 'release', 'events', 'irrelevant'] as const;
export type Phase = (typeof PHASES)[number];

export interface ApplyOptions {
  /**
   * The request was alone in its step: what each of its writes stored is known exactly, and a refusal can
   * be judged against the model (in a burst, another request may have committed first).
   */
  readonly alone: boolean;
  /** Only the writes of this phase; all of them when absent. */
  readonly phase?: Phase;
}

/** The items of an ingest body by section, each the body of its single route. */
export type IngestItems = Readonly<Record<IngestSection, readonly unknown[]>>;

/**
 * The items of an ingest body, or ModelMismatch when the body had to be refused as a whole (400): not an
 * object of the three sections, a section not an array or over the limit, or no item at all.
 */
export function ingestItems(body: unknown): IngestItems {
  const envelope = asRecord(body, 'the ingest body');
  const names: readonly string[] = INGEST_SECTIONS.map(({ section }) => section);
  const unknown = Object.keys(envelope).filter((key) => !names.includes(key));
  if (unknown.length > 0) throw new ModelMismatch(`the ingest body has unknown fields ${canonical(unknown)}`);
  const section = (name: IngestSection): readonly unknown[] => {
    const items = envelope[name] ?? [];
    if (!Array.isArray(items)) throw new ModelMismatch(`the ingest body's ${name} is not an array`);
    if (items.length > MAX_INGEST_ITEMS) {
      throw new ModelMismatch(`the ingest body's ${name} has ${items.length} items, over ${MAX_INGEST_ITEMS}`);
    }
    return items;
  };
  const items = { sessions: section('sessions'), events: section('events'), irrelevant: section('irrelevant') };
  if (Object.values(items).every((list) => list.length === 0)) throw new ModelMismatch('the ingest body holds no item');
  return items;
}

/** Whether a value nests objects and arrays deeper than `limit` (looking no deeper than that). */
function deeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit === 0) return true;
  return Object.values(value).some((item) => deeperThan(item, limit - 1));
}

/** An item of an ingest body as the body of its single route: an irrelevant item is a bare session id. */
export function itemBody(route: ItemRoute, item: unknown): unknown {
  return route === 'irrelevant' ? { session_id: item } : item;
}

/** The same body of the same route, whatever its bytes (a hash, so that large bodies cost little to keep). */
function fingerprint(route: ItemRoute, body: unknown): string {
  return `${route}:${createHash('sha1').update(canonical(body)).digest('base64')}`;
}

/** The same session by the service's rule: `created_at` is compared only where both requests gave one. */
function sameSession(a: SessionContent, b: SessionContent): boolean {
  if (a.created_at_given && b.created_at_given && a.created_at !== b.created_at) return false;
  const content = ({ created_at: _at, created_at_given: _given, ...rest }: SessionContent) => canonical(rest);
  return content(a) === content(b);
}

/** The same event by the service's rule: `created_at` is compared only where both requests gave one. */
function sameEvent(a: ModelEvent, b: ModelEvent): boolean {
  if (a.created_at_given && b.created_at_given && a.created_at !== b.created_at) return false;
  return a.object_id === b.object_id && a.event_type === b.event_type && canonical(a.meta) === canonical(b.meta);
}

const eventKey = (sessionId: string, eventId: string) => `${sessionId}\u0000${eventId}`;

/** What `read` returns, or null when the model cannot read the body (its rules then refuse it first). */
function unlessMismatch<T>(read: () => T): T | null {
  try {
    return read();
  } catch (error) {
    if (error instanceof ModelMismatch) return null;
    throw error;
  }
}

export class Model {
  readonly sessions = new Map<string, ModelSession>();
  /** Registered session ids in registration order (what `ref` requests pick from). */
  readonly sessionOrder: string[] = [];
  readonly releases = new Map<string, ModelRelease>();
  readonly batchIds: string[] = [];
  /** Session ids that acknowledged writes of the campaign touched (the baseline check skips them). */
  readonly touched = new Set<string>();
  /**
   * Events whose stored version the commit order of the current step decided: two writes of it, the same
   * event by the service's rule but one with a `created_at` and one without, were both acknowledged. The
   * campaign reads which one the store kept (`settleEvent`) before it compares.
   */
  readonly uncertainEvents = new Map<
    string,
    { readonly sessionId: string; readonly eventId: string; readonly versions: readonly ModelEvent[] }
  >();
  /** The bodies acknowledged so far (single routes' and ingest items'): sent again, they are accepted again. */
  private readonly acceptedBodies = new Set<string>();
  /** Events first stored by a write of the current step (see `beginStep`). */
  private readonly stepEvents = new Set<string>();

  private noteBatch(batchId: string): void {
    if (!this.batchIds.includes(batchId)) this.batchIds.push(batchId);
  }

  /** A new step (one request, or a burst sent at once): writes of earlier steps have committed. */
  beginStep(): void {
    this.stepEvents.clear();
    this.uncertainEvents.clear();
  }

  /** The version of an uncertain event that the store kept; false when it kept none of them. */
  settleEvent(sessionId: string, eventId: string, stored: unknown): boolean {
    const key = eventKey(sessionId, eventId);
    const version = this.uncertainEvents.get(key)?.versions.find((v) => canonical(v) === canonical(stored));
    this.uncertainEvents.delete(key);
    if (!version) return false;
    this.sessions.get(sessionId)?.events.set(eventId, version);
    return true;
  }

  /** Records what an acknowledged (2xx) request stored; throws ModelMismatch when its answer is impossible. */
  apply(request: Prepared, answer: unknown, options: ApplyOptions = { alone: true }): void {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    const inPhase = (phase: Phase) => options.phase === undefined || options.phase === phase;
    switch (request.route) {
      case 'register':
      case 'events':
      case 'irrelevant':
        if (!inPhase(request.route)) return;
        this.applyItem(request.route, parsedBody(request.body), answer, request.now, options.alone);
        return;
      case 'release':
        if (inPhase('release')) this.release(parsedBody(request.body), asRecord(answer, 'the answer'));
        return;
      case 'ingest':
        this.ingest(parsedBody(request.body), answer, request.now, options);
        return;
      default:
        throw new ModelMismatch(`${request.method} on the read route ${request.route} answered 2xx`);
    }
  }

  /**
   * Checks a refusal by a single client route against the model; throws ModelMismatch when the model says
   * otherwise. Only for a request alone in its step that reached its route (POST on its exact path).
   */
  judgeSingleRefusal(request: Prepared, code: string): void {
    const route = request.route;
    if (route !== 'register' && route !== 'events' && route !== 'irrelevant') return;
    if (request.method !== 'POST' || request.target !== ROUTES[route].path) return;
    // Only smaller bodies are sent again: a larger one was never acknowledged before, and judging its
    // refusal (nearly always validation_failed, for a huge value) would cost its canonical text.
    if (request.body === null || request.body.length > MAX_RETRIED_BODY_BYTES) return;
    // Codes about the request rather than its body (keys, media type) say nothing the model knows.
    if (!ITEM_CODES[route].has(code as ErrorCode)) return;
    let body: unknown;
    try {
      body = parsedBody(request.body);
    } catch {
      return; // not JSON: refused before any rule of the route
    }
    // Refused for its nesting before it was parsed (and too deep for the model's recursive canonical text).
    if (deeperThan(body, MAX_JSON_DEPTH)) return;
    this.judgeRefusal(route, body, code, request.now);
  }

  /**
   * The items of an acknowledged ingest request, section by section: the accepted ones applied as their
   * single routes' writes, then (alone) the refused ones judged against the model that holds them, since
   * the items of a section are applied concurrently and one may be refused because of another.
   */
  private ingest(body: unknown, answer: unknown, now: number, options: ApplyOptions): void {
    const items = ingestItems(body);
    const results = asRecord(asRecord(answer, 'the answer').results, 'the answer results');
    const mismatches: string[] = [];
    for (const { section, route } of INGEST_SECTIONS) {
      if (options.phase !== undefined && options.phase !== route) continue;
      const list = items[section];
      const entries = asArray(results[section], `results.${section}`);
      if (entries.length !== list.length) {
        throw new ModelMismatch(`results.${section} has ${entries.length} entries for ${list.length} items`);
      }
      const bodies = list.map((item) => itemBody(route, item));
      const sessionIds = bodies.map((b) => (isRecord(b) ? b.session_id : undefined));
      // Groups of events on one session are applied concurrently: which stored what is open, only the sum.
      const shared = (index: number) =>
        route === 'events' && sessionIds.some((id, other) => other !== index && id === sessionIds[index]);
      for (const accepted of [true, false]) {
        entries.forEach((entry, index) => {
          try {
            const { status, ...single } = asRecord(entry, `results.${section}[${index}]`);
            if ((status === 200) !== accepted) return;
            if (accepted) this.applyItem(route, bodies[index], single, now, options.alone && !shared(index));
            else if (options.alone) this.judgeRefusal(route, bodies[index], single.code, now);
          } catch (error) {
            if (!(error instanceof ModelMismatch)) throw error;
            mismatches.push(`${section}[${index}]: ${error.message}`);
          }
        });
      }
    }
    if (mismatches.length > 0) {
      const more = mismatches.length > 3 ? ` (and ${mismatches.length - 3} more)` : '';
      throw new ModelMismatch(`${mismatches.slice(0, 3).join('; ')}${more}`);
    }
  }

  /** An accepted write of a single client route's body (the request's, or an ingest item's). */
  private applyItem(route: ItemRoute, body: unknown, answer: unknown, now: number, exactCounts: boolean): void {
    this.acceptedBodies.add(fingerprint(route, body));
    const record = asRecord(answer, 'the answer');
    if (route === 'register') this.register(body, record, now);
    else if (route === 'events') this.addEvents(body, record, now, exactCounts);
    else this.markIrrelevant(body, record, now);
  }

  /** Throws ModelMismatch when a refusal of a body of `route` contradicts what the model holds. */
  private judgeRefusal(route: ItemRoute, body: unknown, code: unknown, now: number): void {
    // Every rule of a body is a function of the body and the stored data, which only grows: what was
    // accepted once is accepted again, but for the events of a session whose batch has since sealed.
    if (this.acceptedBodies.has(fingerprint(route, body)) && !(route === 'events' && code === 'session_closed')) {
      throw new ModelMismatch(`refused with ${String(code)}, although the same ${route} body was acknowledged`);
    }
    const sessionId = isRecord(body) && typeof body.session_id === 'string' ? body.session_id : null;
    const session = sessionId === null ? undefined : this.sessions.get(sessionId);
    const name = JSON.stringify(sessionId);
    switch (code) {
      case 'session_not_found':
        if (session) throw new ModelMismatch(`session_not_found for ${name}, which an acknowledged write registered`);
        return;
      case 'session_closed':
        if (!session || !this.isSealed(session, now) || (route === 'irrelevant' && session.irrelevant)) {
          throw new ModelMismatch(`session_closed for ${name}, which the model has open (or flagged already)`);
        }
        return;
      case 'session_conflict': {
        const content = unlessMismatch(() => this.sessionContent(body, now));
        if (!session || !content || sameSession(session.session, content)) {
          throw new ModelMismatch(`session_conflict for ${name}, which the model has not or with this content`);
        }
        return;
      }
      case 'event_conflict': {
        if (!session || this.isSealed(session, now)) {
          throw new ModelMismatch(`event_conflict for ${name}, which the model has not or closed`);
        }
        const stored = session.events;
        const events = unlessMismatch(() => this.eventsOf(body, now))?.byId.values() ?? [];
        const conflicts = [...events].some((event) => {
          const twin = stored.get(event.event_id);
          const key = eventKey(session.session.session_id, event.event_id);
          return (twin && !sameEvent(twin, event)) || this.uncertainEvents.has(key);
        });
        if (!conflicts) throw new ModelMismatch(`event_conflict for ${name}, whose stored events the body agrees with`);
        return;
      }
      default:
        // validation_failed: the model does not know every rule of a body.
        return;
    }
  }

  private isSealed(session: ModelSession, now: number): boolean {
    for (const release of this.releases.values()) {
      if (release.batch_id === session.batch_id) return now >= release.sealed_at;
    }
    return false;
  }

  /** A registration's content as the service stores it. */
  private sessionContent(value: unknown, now: number): SessionContent {
    const body = asRecord(value, 'the body');
    const results = asArray(body.search_results, 'search_results').map((item, position) => {
      const result = asRecord(item, `search_results[${position}]`);
      return {
        object_id: asString(result.object_id, `search_results[${position}].object_id`),
        position,
        rank: result.rank ?? null,
        meta: result.meta ?? result.item_info ?? null,
      };
    });
    if (body.search_query === undefined) throw new ModelMismatch('search_query is missing');
    const createdAtGiven = given(body.created_at);
    return {
      session_id: asString(body.session_id, 'session_id'),
      search_query: body.search_query,
      search_results: results,
      search_meta: body.search_meta ?? null,
      payload_filter: body.payload_filter ?? null,
      sort_by: body.sort_by ?? null,
      user_id: body.user_id ?? null,
      created_at: createdAtGiven ? asInteger(body.created_at, 'created_at') : now,
      created_at_given: createdAtGiven,
    };
  }

  private register(value: unknown, answer: Record<string, unknown>, now: number): void {
    const session = this.sessionContent(value, now);
    const sessionId = session.session_id;
    const batchId = asString(answer.batch_id, 'the answer batch_id');
    const sessionNumber = asInteger(answer.session_number, 'the answer session_number');
    const stored = this.sessions.get(sessionId);
    if (asString(answer.session_id, 'the answer session_id') !== sessionId) {
      throw new ModelMismatch(`the answer names session ${String(answer.session_id)}, not ${sessionId}`);
    }
    if (stored) {
      if (!sameSession(stored.session, session)) {
        throw new ModelMismatch(`acknowledged a registration of ${sessionId} with other content (session_conflict)`);
      }
      const first = {
        batch_id: stored.batch_id,
        session_number: stored.session_number,
        created_at: stored.session.created_at,
      };
      const again = { batch_id: batchId, session_number: sessionNumber, created_at: answer.created_at };
      if (canonical(first) !== canonical(again)) {
        throw new ModelMismatch(`a re-registration answered ${canonical(again)}, the first one ${canonical(first)}`);
      }
      return;
    }
    if (asInteger(answer.created_at, 'the answer created_at') !== session.created_at) {
      throw new ModelMismatch(
        `registered with created_at ${String(answer.created_at)}, expected ${session.created_at}`,
      );
    }
    this.sessions.set(sessionId, {
      session,
      batch_id: batchId,
      session_number: sessionNumber,
      irrelevant: false,
      events: new Map(),
    });
    this.sessionOrder.push(sessionId);
    this.touched.add(sessionId);
    this.noteBatch(batchId);
  }

  /** An events body's events as the service stores them, repeats of one id collapsed as the service does. */
  private eventsOf(value: unknown, now: number): { sessionId: string; count: number; byId: Map<string, ModelEvent> } {
    const body = asRecord(value, 'the body');
    const sessionId = asString(body.session_id, 'session_id');
    const inputs = asArray(body.events, 'events');
    const byId = new Map<string, ModelEvent>();
    inputs.forEach((item, index) => {
      const input = asRecord(item, `events[${index}]`);
      const createdAtGiven = given(input.created_at);
      const event: ModelEvent = {
        event_id: asString(input.event_id, `events[${index}].event_id`),
        object_id: asString(input.object_id, `events[${index}].object_id`),
        event_type: given(input.event_type) ? asString(input.event_type, `events[${index}].event_type`) : 'click',
        created_at: createdAtGiven ? asInteger(input.created_at, `events[${index}].created_at`) : now,
        created_at_given: createdAtGiven,
        meta: input.meta ?? input.item_info ?? null,
      };
      const earlier = byId.get(event.event_id);
      if (!earlier || (!earlier.created_at_given && event.created_at_given)) byId.set(event.event_id, event);
    });
    return { sessionId, count: inputs.length, byId };
  }

  private addEvents(value: unknown, answer: Record<string, unknown>, now: number, exactCounts: boolean): void {
    const { sessionId, count, byId } = this.eventsOf(value, now);
    const session = this.sessions.get(sessionId);
    if (!session) throw new ModelMismatch(`events were acknowledged for the unregistered session ${sessionId}`);
    if (this.isSealed(session, now)) {
      throw new ModelMismatch(`events were acknowledged for ${sessionId}, whose batch is sealed (session_closed)`);
    }
    let stored = 0;
    for (const event of byId.values()) {
      const key = eventKey(sessionId, event.event_id);
      const twin = session.events.get(event.event_id);
      if (!twin) {
        session.events.set(event.event_id, event);
        this.stepEvents.add(key);
        stored++;
        continue;
      }
      // An uncertain event is stored as one of its versions: a write the same as any of them may be accepted.
      const versions = this.uncertainEvents.get(key)?.versions ?? [twin];
      if (!versions.some((version) => sameEvent(version, event))) {
        throw new ModelMismatch(
          `acknowledged event ${event.event_id} of ${sessionId} as ${canonical(event)}, stored as ${canonical(twin)} (event_conflict)`,
        );
      }
      // Both written in this step: the store keeps whichever committed first.
      if (this.stepEvents.has(key) && versions.every((version) => canonical(version) !== canonical(event))) {
        this.uncertainEvents.set(key, { sessionId, eventId: event.event_id, versions: [...versions, event] });
      }
    }
    this.touched.add(sessionId);
    const expected = { session_id: sessionId, stored, duplicates: count - stored };
    const sum = (a: Record<string, unknown>) => Number(a.stored) + Number(a.duplicates);
    const same = exactCounts
      ? canonical(expected) === canonical(answer)
      : answer.session_id === sessionId && sum(answer) === count;
    if (!same) {
      throw new ModelMismatch(`events answered ${canonical(answer)}, the model expected ${canonical(expected)}`);
    }
  }

  private markIrrelevant(value: unknown, answer: Record<string, unknown>, now: number): void {
    const sessionId = asString(asRecord(value, 'the body').session_id, 'session_id');
    const session = this.sessions.get(sessionId);
    if (!session) throw new ModelMismatch(`the unregistered session ${sessionId} was flagged irrelevant`);
    if (answer.session_id !== sessionId || answer.is_irrelevant !== true) {
      throw new ModelMismatch(`irrelevant answered ${canonical(answer)}`);
    }
    if (!session.irrelevant && this.isSealed(session, now)) {
      throw new ModelMismatch(`${sessionId} was flagged irrelevant after its batch sealed (session_closed)`);
    }
    session.irrelevant = true;
    this.touched.add(sessionId);
  }

  private release(value: unknown, answer: Record<string, unknown>): void {
    const releaseId = asString(asRecord(value, 'the body').release_id, 'release_id');
    const batchId = asString(answer.batch_id, 'the answer batch_id');
    if (answer.release_id !== releaseId) throw new ModelMismatch(`release answered ${canonical(answer)}`);
    const release: ModelRelease = {
      batch_id: batchId,
      released_at: asInteger(answer.released_at, 'released_at'),
      sealed_at: asInteger(answer.sealed_at, 'sealed_at'),
    };
    const earlier = this.releases.get(releaseId);
    if (earlier && canonical(earlier) !== canonical(release)) {
      throw new ModelMismatch(`release ${releaseId} answered ${canonical(release)}, first ${canonical(earlier)}`);
    }
    this.releases.set(releaseId, release);
    this.noteBatch(batchId);
  }

  /** A session as `store.findSession` returns it. */
  expectedRecord(session: ModelSession): unknown {
    return {
      ...session.session,
      batch_id: session.batch_id,
      session_number: session.session_number,
      is_irrelevant: session.irrelevant,
    };
  }

  /** A session as `store.listBatchSessions` returns it (events sorted by id). */
  expectedPage(session: ModelSession): unknown {
    const { created_at_given: _given, ...fields } = session.session;
    const positions = new Map(session.session.search_results.map((r) => [r.object_id, r.position]));
    return {
      ...fields,
      batch_id: session.batch_id,
      session_number: session.session_number,
      is_irrelevant: session.irrelevant,
      events_truncated: false,
      events: [...session.events.values()]
        .sort((a, b) => (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0))
        .map(({ created_at_given: _g, ...event }) => ({ ...event, position: positions.get(event.object_id) ?? null })),
    };
  }
}

export function pageWithSortedEvents(session: SessionWithEvents): unknown {
  return {
    ...session,
    events: [...session.events].sort((a, b) => (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0)),
  };
}

// ----- what every answer must look like -----

/** The `code` of a problem answer, if it is one. */
export function problemCode(response: HttpResponse): string | null {
  try {
    const problem = JSON.parse(response.body.toString('utf8')) as unknown;
    const code = typeof problem === 'object' && problem !== null ? (problem as Record<string, unknown>).code : null;
    return typeof code === 'string' ? code : null;
  } catch {
    return null;
  }
}

/**
 * Codes any request may meet before it reaches a route, whatever the route documents: a path variant no
 * route serves, a URL or request line the router or Node's parser refuses.
 */
function answerableAnywhere(code: string): boolean {
  return ['not_found', 'bad_request', 'header_too_large', 'request_timeout'].includes(code);
}

/** The invariants every answer keeps, among them: a refusal's code is one its route documents. */
export function responseProblems(request: Prepared, response: HttpResponse): string[] {
  const problems: string[] = [];
  const { status } = response;
  const type = headerOf(response, 'content-type') ?? '';
  const body = response.body.toString('utf8');
  if (!((status >= 200 && status < 300) || (status >= 400 && status < 500))) {
    problems.push(`answered ${status}: ${body.slice(0, 500)}`);
  }
  if (!headerOf(response, 'x-request-id')) problems.push(`answered ${status} without an x-request-id`);
  if (status >= 400 && status < 500) {
    if (!/^application\/problem\+json\b/i.test(type)) {
      problems.push(
        `answered ${status} as ${type || 'no content type'}, not application/problem+json: ${body.slice(0, 300)}`,
      );
    } else if (request.method !== 'HEAD') {
      try {
        const problem = JSON.parse(body) as unknown;
        const record = typeof problem === 'object' && problem !== null ? (problem as Record<string, unknown>) : {};
        if (record.status !== status)
          problems.push(`answered ${status} with a problem whose status is ${String(record.status)}`);
        if (typeof record.code !== 'string') problems.push(`answered ${status} with a problem without a string code`);
        else if (!answerableAnywhere(record.code) && !ROUTES[request.route].codes.has(record.code as ErrorCode)) {
          problems.push(`answered ${record.code}, which ${request.route}'s documented responses do not list`);
        }
      } catch {
        problems.push(`answered ${status} with a problem body that is not JSON: ${body.slice(0, 300)}`);
      }
    }
  }
  if (status >= 200 && status < 300 && request.method !== 'HEAD' && request.route === 'trainingData') {
    // Streamed training data: JSON Lines (every line a JSON object) or Parquet (PAR1 at both ends).
    if (/^application\/vnd\.apache\.parquet\b/i.test(type)) {
      const bytes = response.body;
      if (bytes.subarray(0, 4).toString() !== 'PAR1' || bytes.subarray(-4).toString() !== 'PAR1') {
        problems.push(`answered ${status} with a Parquet body that is not a whole Parquet file`);
      }
    } else if (!/^application\/x-ndjson\b/i.test(type)) {
      problems.push(`answered ${status} as ${type || 'no content type'}`);
    } else {
      for (const line of body.split('\n').filter((l) => l !== '')) {
        try {
          JSON.parse(line);
        } catch {
          problems.push(`answered ${status} with a line that is not JSON: ${line.slice(0, 300)}`);
          break;
        }
      }
    }
  } else if (status >= 200 && status < 300 && request.method !== 'HEAD') {
    if (!/^application\/json\b/i.test(type)) problems.push(`answered ${status} as ${type || 'no content type'}`);
    try {
      JSON.parse(body);
    } catch {
      problems.push(`answered ${status} with a body that is not JSON: ${body.slice(0, 300)}`);
    }
  }
  return problems;
}
