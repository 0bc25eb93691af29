/**
 * The oracle: what the service should answer and store. The model records what the acknowledged (2xx)
 * writes stored, from the bodies as the service parses them and the answers it gave; it throws
 * ModelMismatch when an answer is impossible (a re-registration with another batch, events counted wrong)
 * and says what a session must look like when read back from the store or over HTTP. `responseProblems`
 * holds the invariants of every answer (2xx JSON or 4xx problem+json, a request id). Also the canonical
 * JSON text that comparisons use.
 */
import type { ErrorCode } from '../../src/domain/errors.js';
import type { SessionWithEvents } from '../../src/schemas/records.js';
import { headerOf, type HttpResponse } from './raw-client.js';
import type { Prepared } from './request-bytes.js';
import { ROUTES } from './routes.js';
import { MAX_ID_LENGTH } from './settings.js';

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

interface ModelSession {
  readonly session: {
    readonly session_id: string;
    readonly search_query: unknown;
    readonly search_results: readonly { object_id: string; position: number; rank: unknown; meta: unknown }[];
    readonly search_meta: unknown;
    readonly payload_filter: unknown;
    readonly sort_by: unknown;
    readonly user_id: unknown;
    readonly created_at: number;
    readonly created_at_given: boolean;
  };
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

export class Model {
  readonly sessions = new Map<string, ModelSession>();
  /** Registered session ids in registration order (what `ref` requests pick from). */
  readonly sessionOrder: string[] = [];
  readonly releases = new Map<string, ModelRelease>();
  readonly batchIds: string[] = [];
  /** Session ids that acknowledged writes of the campaign touched (the baseline check skips them). */
  readonly touched = new Set<string>();

  private noteBatch(batchId: string): void {
    if (!this.batchIds.includes(batchId)) this.batchIds.push(batchId);
  }

  /** Records what an acknowledged (2xx) request stored; throws ModelMismatch when its answer is impossible. */
  apply(request: Prepared, answer: unknown, exactCounts = true): void {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    switch (request.route) {
      case 'register':
        this.register(parsedBody(request.body), asRecord(answer, 'the answer'), request.now);
        return;
      case 'events':
        this.addEvents(parsedBody(request.body), asRecord(answer, 'the answer'), request.now, exactCounts);
        return;
      case 'irrelevant':
        this.markIrrelevant(parsedBody(request.body), asRecord(answer, 'the answer'));
        return;
      case 'release':
        this.release(parsedBody(request.body), asRecord(answer, 'the answer'));
        return;
      default:
        throw new ModelMismatch(`${request.method} on the read route ${request.route} answered 2xx`);
    }
  }

  private register(value: unknown, answer: Record<string, unknown>, now: number): void {
    const body = asRecord(value, 'the body');
    const sessionId = asString(body.session_id, 'session_id');
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
    const session: ModelSession['session'] = {
      session_id: sessionId,
      search_query: body.search_query,
      search_results: results,
      search_meta: body.search_meta ?? null,
      payload_filter: body.payload_filter ?? null,
      sort_by: body.sort_by ?? null,
      user_id: body.user_id ?? null,
      created_at: createdAtGiven ? asInteger(body.created_at, 'created_at') : now,
      created_at_given: createdAtGiven,
    };
    const batchId = asString(answer.batch_id, 'the answer batch_id');
    const sessionNumber = asInteger(answer.session_number, 'the answer session_number');
    const stored = this.sessions.get(sessionId);
    if (asString(answer.session_id, 'the answer session_id') !== sessionId) {
      throw new ModelMismatch(`the answer names session ${String(answer.session_id)}, not ${sessionId}`);
    }
    if (stored) {
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

  private addEvents(value: unknown, answer: Record<string, unknown>, now: number, exactCounts: boolean): void {
    const body = asRecord(value, 'the body');
    const sessionId = asString(body.session_id, 'session_id');
    const session = this.sessions.get(sessionId);
    if (!session) throw new ModelMismatch(`events were acknowledged for the unregistered session ${sessionId}`);
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
    let stored = 0;
    for (const event of byId.values()) {
      if (session.events.has(event.event_id)) continue;
      session.events.set(event.event_id, event);
      stored++;
    }
    this.touched.add(sessionId);
    const expected = { session_id: sessionId, stored, duplicates: inputs.length - stored };
    const sum = (a: Record<string, unknown>) => Number(a.stored) + Number(a.duplicates);
    const same = exactCounts
      ? canonical(expected) === canonical(answer)
      : answer.session_id === sessionId && sum(answer) === inputs.length;
    if (!same) {
      throw new ModelMismatch(`events answered ${canonical(answer)}, the model expected ${canonical(expected)}`);
    }
  }

  private markIrrelevant(value: unknown, answer: Record<string, unknown>): void {
    const sessionId = asString(asRecord(value, 'the body').session_id, 'session_id');
    const session = this.sessions.get(sessionId);
    if (!session) throw new ModelMismatch(`the unregistered session ${sessionId} was flagged irrelevant`);
    if (answer.session_id !== sessionId || answer.is_irrelevant !== true) {
      throw new ModelMismatch(`irrelevant answered ${canonical(answer)}`);
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
