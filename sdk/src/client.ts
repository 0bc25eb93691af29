import { backoffDelay, retryAfterMs } from './backoff.js';
import { type Batch, type BatchLimits, keyOf, nextBatch } from './batch.js';
import { newId } from './ids.js';
import { LocalShelf, CLAIM_WAIT_MS, memoryShelf, type Shelf, usableLocalStorage } from './shelf.js';
import type {
  DeliveryProblem,
  EventBody,
  FieldError,
  IngestAnswer,
  Item,
  ItemAnswer,
  JsonObject,
  SearchResult,
  SessionBody,
} from './types.js';

declare const __SDK_VERSION__: string | undefined;

/** The SDK's version (the build writes it in; `0.0.0-dev` when run from source). */
export const version: string = typeof __SDK_VERSION__ === 'string' ? __SDK_VERSION__ : '0.0.0-dev';

/** Node's process, where there is one (typed here so that the package's types need no @types/node). */
const node = (
  globalThis as { process?: { on(event: string, f: () => void): void; off(event: string, f: () => void): void } }
).process;

export interface ClientOptions {
  /** The collector's origin (and base path, if any): `https://collector.example`. */
  readonly endpoint: string;
  /** An ingest key (public: it can only write). Without keys configured on the collector, omit it. */
  readonly key?: string;
  /** How long events gather before they are sent (default 1000 ms); a full batch is sent at once. */
  readonly flushIntervalMs?: number;
  /** Most items queued; the oldest is dropped (and reported) to make room (default 5000). */
  readonly maxQueueSize?: number;
  /** Retries after the first attempt before an item is dropped (default: no limit, see retryDeadlineMs). */
  readonly maxRetries?: number;
  /** An item still undelivered this long after it was queued is dropped (default 24 h, the collector's window). */
  readonly retryDeadlineMs?: number;
  /** The first retry waits up to this long; each failure doubles it (default 500 ms). */
  readonly retryBaseDelayMs?: number;
  /** No retry waits longer (default 30 s), unless the collector's Retry-After says so. */
  readonly retryMaxDelayMs?: number;
  /** A request without an answer after this long counts as a network error (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** The fetch to send with (default: the global one). */
  readonly fetch?: typeof fetch;
  /** Send what is queued with navigator.sendBeacon when the page is hidden or left (default true). */
  readonly beacon?: boolean;
  /** Where the queue is kept: localStorage by default in browsers, `null` for memory only. */
  readonly storage?: Storage | null;
  /** Send the client's clock as created_at (default false: the collector stamps what it receives). */
  readonly clientTimestamps?: boolean;
}

export interface SearchInput {
  readonly query: SessionBody['search_query'];
  readonly results: readonly SearchResult[];
  readonly meta?: JsonObject;
  readonly userId?: string;
  /** Your own session id; by default a new time-ordered one. */
  readonly id?: string;
}

/** A registered search: what its results' interactions are recorded on. */
export interface Search {
  /** The session_id. */
  readonly id: string;
  click(objectId: string, options?: { meta?: JsonObject }): void;
  event(type: string, objectId: string, options?: { meta?: JsonObject }): void;
  markIrrelevant(): void;
}

const BODY_BYTES = 1024 * 1024;
// The collector's limit for text/plain and ?key= bodies is 64 KiB; keepalive fetches share a 64 KiB budget.
const BEACON_BYTES = 64 * 1024 - 512;
const LIMITS: BatchLimits = { items: 1000, eventsPerSession: 1000, bytes: BODY_BYTES };
const HEARTBEAT_MS = 2000;
/** How long events of a session registered elsewhere (an earlier page, another tab) wait for it. */
const ELSEWHERE_MS = 120_000;
/** How long a process that ends without closing its client waits for the last flush. */
const EXIT_FLUSH_MS = 10_000;

type Problem = Omit<DeliveryProblem, 'item'>;
type Outcome =
  | { readonly kind: 'answered'; readonly answer: IngestAnswer }
  | { readonly kind: 'retry'; readonly problem: Problem; readonly after?: number }
  | { readonly kind: 'refused'; readonly problem: Problem };

/**
 * The client: every call queues and returns at once; delivery runs behind it, one request at a time,
 * with retries, and never throws for a delivery problem (an item dropped for good is an `error` event).
 */
export class Client {
  readonly #o: ClientOptions;
  readonly #send: typeof fetch;
  readonly #url: string;
  #shelf: Shelf;
  #queue: Item[] = [];
  readonly #inflight = new Set<string>();
  /** Sessions whose registration this client saw acknowledged. */
  readonly #acked = new Set<string>();
  readonly #errors = new Set<(problem: DeliveryProblem) => void>();
  readonly #waiters: { keys: Set<string>; done: () => void }[] = [];
  readonly #cleanup: (() => void)[] = [];
  #limits = LIMITS;
  #failures = 0;
  #retryAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = 0;
  /** The items the shelf held after the last save (what another tab takes if it adopts this tab's). */
  #saved = new Set<string>();
  #sending = false;
  #closing = false;
  #closed = false;
  #dirty = false;

  constructor(options: ClientOptions) {
    this.#o = options;
    this.#send = options.fetch ?? ((input, init) => fetch(input, init));
    this.#url = `${options.endpoint.replace(/\/+$/, '')}/api/v1/clickstream/ingest`;
    const browser = typeof addEventListener === 'function' && typeof document === 'object';
    // localStorage by default in browsers; a Storage given explicitly is used anywhere (tests, web views).
    const storage = options.storage === undefined ? (browser ? usableLocalStorage() : null) : options.storage;
    this.#shelf = storage ? new LocalShelf(storage, `clickstream:${options.endpoint}:`, newId()) : memoryShelf;
    if (browser) this.#listen();
    else if (node) {
      // The event loop is empty and the client was not closed: one bounded flush, then the process may end.
      let flushed = false;
      const onExit = () => {
        if (flushed || this.#queue.length === 0) return;
        flushed = true;
        void this.flush({ timeoutMs: EXIT_FLUSH_MS });
      };
      node.on('beforeExit', onExit);
      this.#cleanup.push(() => {
        node.off('beforeExit', onExit);
      });
    }
    if (storage) {
      const tick = () => {
        this.#adopt();
      };
      const heartbeat = setInterval(tick, HEARTBEAT_MS);
      (heartbeat as { unref?: () => void }).unref?.();
      this.#cleanup.push(() => {
        clearInterval(heartbeat);
      });
      tick();
    }
  }

  /** Registers a search; its events wait for the registration (or travel behind it in one body). */
  search(input: SearchInput): Search {
    const id = input.id ?? newId();
    this.#add('s', id, {
      session_id: id,
      search_query: input.query,
      search_results: input.results,
      ...(input.meta ? { search_meta: input.meta } : {}),
      ...(input.userId ? { user_id: input.userId } : {}),
      ...this.#stamp(),
    });
    return this.session(id);
  }

  /** A search registered before (on an earlier page, say), to record more interactions on it. */
  session(id: string): Search {
    const event = (type: string, objectId: string, options?: { meta?: JsonObject }) => {
      const body: EventBody = {
        event_id: newId(),
        object_id: objectId,
        event_type: type,
        ...(options?.meta ? { meta: options.meta } : {}),
        ...this.#stamp(),
      };
      this.#add('e', id, body);
    };
    return {
      id,
      click: (objectId, options) => {
        event('click', objectId, options);
      },
      event,
      markIrrelevant: () => {
        this.#add('i', id, null);
      },
    };
  }

  /** Listens for items dropped for good; returns a function that stops listening. */
  on(_type: 'error', listener: (problem: DeliveryProblem) => void): () => void {
    this.#errors.add(listener);
    return () => this.#errors.delete(listener);
  }

  /**
   * Resolves once everything queued so far is acknowledged by the collector or dropped (and reported), or
   * after `timeoutMs` if given. In Node it keeps the process alive meanwhile.
   */
  flush(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const keys = new Set(this.#queue.map(keyOf));
    if (keys.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timeout = options.timeoutMs === undefined ? undefined : setTimeout(finish, options.timeoutMs);
      const waiter = { keys, done: finish };
      function finish() {
        clearTimeout(timeout);
        resolve();
      }
      this.#waiters.push(waiter);
      (this.#timer as { ref?: () => void } | undefined)?.ref?.();
      this.#schedule(0);
    }).finally(() => {
      const index = this.#waiters.findIndex((waiter) => waiter.keys === keys);
      if (index >= 0) this.#waiters.splice(index, 1);
    });
  }

  /**
   * Flushes (for at most `timeoutMs`, if given), then stops timers and listeners; calls made from the
   * start of close() on are reported as `closed` and not sent. With `{ flush: false }` it stops at once
   * and leaves what is queued in storage, for the next client on the same storage to send (without
   * storage, what is left is reported as `closed`).
   */
  async close(options: { readonly flush?: boolean; readonly timeoutMs?: number } = {}): Promise<void> {
    this.#closing = true;
    if (options.flush !== false)
      await this.flush(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
    this.#store();
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const stop of this.#cleanup.splice(0)) stop();
    const shelf = this.#shelf;
    if (shelf instanceof LocalShelf) {
      this.#guard(() => {
        shelf.leave();
      });
      return;
    }
    for (const item of this.#queue.splice(0)) this.#report(item, problem('closed', 'closed before it was sent'));
    this.#settleWaiters();
  }

  #stamp(): { created_at?: number } {
    return this.#o.clientTimestamps ? { created_at: Math.floor(Date.now() / 1000) } : {};
  }

  /**
   * Queues a write. Its body is copied as JSON now: a retry must send what the call said, even if the
   * caller changes its objects later, and a body that cannot be JSON is refused here, not at send time.
   */
  #add(k: Item['k'], sid: string, body: object | null): void {
    let item: Item;
    try {
      item = {
        k,
        sid,
        t: Date.now(),
        n: 0,
        ...(body ? { body: JSON.parse(JSON.stringify(body)) as object } : {}),
      } as Item;
    } catch (error) {
      this.#report({ k: 'i', sid, t: 0, n: 0 }, problem('invalid', `not JSON: ${String(error)}`), k);
      return;
    }
    if (this.#closing) {
      this.#report(item, problem('closed', 'the client is closed'));
      return;
    }
    const max = this.#o.maxQueueSize ?? 5000;
    while (this.#queue.length >= max) {
      const oldest = this.#queue.findIndex((queued) => !this.#inflight.has(keyOf(queued)));
      if (oldest < 0) break;
      const [dropped] = this.#queue.splice(oldest, 1);
      if (dropped) this.#report(dropped, problem('queue_full', `the queue holds ${max} items (maxQueueSize)`));
    }
    this.#queue.push(item);
    this.#save();
    // A full batch goes at once; otherwise events gather for the flush interval.
    this.#schedule(this.#queue.length - this.#inflight.size >= this.#limits.items ? 0 : undefined);
  }

  #schedule(delay = this.#o.flushIntervalMs ?? 1000): void {
    if (this.#closed) return;
    const at = Math.max(Date.now() + delay, this.#retryAt);
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#deliver();
    }, at - Date.now());
    // In Node a send that waits must not keep the process alive, unless a flush() waits for it.
    if (this.#waiters.length === 0) (this.#timer as { unref?: () => void }).unref?.();
  }

  async #deliver(): Promise<void> {
    if (this.#sending || this.#closed) return;
    if (Date.now() < this.#retryAt) {
      this.#schedule(0);
      return;
    }
    this.#checkTaken();
    const batch = nextBatch(this.#queue, this.#limits, (item) => this.#inflight.has(keyOf(item)));
    if (!batch) {
      this.#settleWaiters();
      return;
    }
    this.#sending = true;
    for (const item of batch.items) this.#inflight.add(keyOf(item));
    const outcome = await this.#post(batch);
    for (const item of batch.items) this.#inflight.delete(keyOf(item));
    this.#sending = false;
    this.#guard(() => {
      this.#apply(batch, outcome);
    });
    this.#save();
    this.#settleWaiters();
    if (this.#queue.length === 0) return;
    const waiting = outcome.kind === 'retry' || this.#retryAt > Date.now();
    const full = this.#queue.length >= this.#limits.items || this.#waiters.length > 0;
    this.#schedule(waiting || !full ? undefined : 0);
  }

  async #post(batch: Batch): Promise<Outcome> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#o.key) headers.authorization = `Bearer ${this.#o.key}`;
    const timeout = this.#o.requestTimeoutMs ?? 30_000;
    try {
      const response = await this.#send(this.#url, {
        method: 'POST',
        headers,
        body: batch.body,
        keepalive: batch.body.length <= BEACON_BYTES / 4,
        ...(typeof AbortSignal.timeout === 'function' ? { signal: AbortSignal.timeout(timeout) } : {}),
      });
      const text = await response.text();
      if (response.ok) {
        const answer = JSON.parse(text) as Partial<IngestAnswer>;
        const results = answer.results;
        // An answer that does not say what became of every item is no answer: the body goes again.
        const complete =
          results &&
          results.sessions.length === batch.sessions.length &&
          results.events.length === batch.events.length &&
          results.irrelevant.length === batch.irrelevant.length;
        if (complete) return { kind: 'answered', answer: { results } };
        return {
          kind: 'retry',
          problem: problem('bad_answer', 'an incomplete answer', response.status),
        };
      }
      const found = parseProblem(text, response.status);
      const retriable = response.status >= 500 || response.status === 429 || response.status === 408;
      if (!retriable) return { kind: 'refused', problem: found };
      const after = retryAfterMs(response.headers.get('retry-after'), Date.now());
      return { kind: 'retry', problem: found, ...(after === undefined ? {} : { after }) };
    } catch (error) {
      return { kind: 'retry', problem: problem('network_error', String(error)) };
    }
  }

  #apply(batch: Batch, outcome: Outcome): void {
    if (outcome.kind === 'retry') {
      this.#retry(batch.items, outcome.problem, outcome.after);
      return;
    }
    this.#failures = 0;
    this.#retryAt = 0;
    if (outcome.kind === 'refused') {
      // A body too large for the collector is split; one over its item limits is cut to them; anything
      // else it refused as a whole is dropped.
      if (outcome.problem.status === 413 && batch.items.length > 1) {
        const bytes = new TextEncoder().encode(batch.body).length;
        this.#limits = { ...this.#limits, bytes: Math.max(1024, Math.floor(bytes / 2)) };
        return;
      }
      if (this.#learnLimits(outcome.problem.errors)) return;
      for (const item of batch.items) this.#drop(item, outcome.problem);
      return;
    }
    const { sessions, events, irrelevant } = outcome.answer.results;
    batch.sessions.forEach((item, i) => {
      const answer = sessions[i];
      if (answer?.status === 200) {
        this.#acked.add(item.sid);
        this.#remove([item]);
      } else if (answer) {
        // Its events can never be stored: they go with it.
        for (const other of this.#queue.filter((queued) => queued.sid === item.sid))
          this.#drop(other, fromAnswer(answer));
      }
    });
    const late: Item[] = [];
    batch.events.forEach((group, i) => {
      const answer = events[i];
      const sid = group[0]?.sid ?? '';
      if (!answer) return;
      if (answer.status === 200) {
        this.#remove(group);
        return;
      }
      // A group over the collector's limit is sent again in smaller groups.
      if (this.#learnLimits(answer.errors ?? [])) return;
      // Events of a session registered elsewhere (the page before, another tab) may arrive before it: they
      // wait for it a while.
      const young = group.filter((item) => Date.now() - item.t < ELSEWHERE_MS);
      if (answer.code === 'session_not_found' && !this.#acked.has(sid) && young.length === group.length) {
        late.push(...group);
        return;
      }
      // A refused group whose errors name its events drops those only; the others are sent again.
      const named = (answer.errors ?? []).map((error) => /^events\[\d+\]\.events\[(\d+)\]/.exec(error.path)?.[1]);
      const only = named.length > 0 && named.every((index) => index !== undefined) ? new Set(named.map(Number)) : null;
      group.forEach((item, index) => {
        if (!only || only.has(index)) this.#drop(item, fromAnswer(answer));
      });
    });
    batch.irrelevant.forEach((item, i) => {
      const answer = irrelevant[i];
      if (answer?.status === 200) this.#remove([item]);
      else if (
        answer?.code === 'session_not_found' &&
        !this.#acked.has(item.sid) &&
        Date.now() - item.t < ELSEWHERE_MS
      ) {
        late.push(item);
      } else if (answer) this.#drop(item, fromAnswer(answer));
    });
    if (late.length > 0) this.#retry(late, problem('session_not_found', 'session not registered yet', 404));
  }

  /** Counts a failed attempt of `items`, drops those out of retries, and backs off. */
  #retry(items: readonly Item[], found: Problem, after?: number): void {
    this.#failures++;
    const policy = { baseDelayMs: this.#o.retryBaseDelayMs ?? 500, maxDelayMs: this.#o.retryMaxDelayMs ?? 30_000 };
    const now = Date.now();
    this.#retryAt = now + Math.max(after ?? 0, backoffDelay(this.#failures, policy));
    const maxRetries = this.#o.maxRetries ?? Infinity;
    const deadline = this.#o.retryDeadlineMs ?? 86_400_000;
    for (const item of items) {
      if (++item.n > maxRetries || now - item.t > deadline) {
        this.#drop(item, { ...found, code: 'undeliverable', detail: `gave up: ${found.detail}` });
      }
    }
  }

  /**
   * Takes the collector's limits from errors that name them ("has 12 items; the limit is 10" at
   * `sessions` or `events[3].events`), when it was set below the defaults; true if one was learnt.
   */
  #learnLimits(errors: readonly FieldError[]): boolean {
    let learnt = false;
    for (const { path, message } of errors) {
      const limit = Number(/the limit is (\d+)/.exec(message)?.[1]);
      if (!(limit > 0)) continue;
      const section = /^(sessions|events|irrelevant)$/.test(path);
      const group = /^events\[\d+\]\.events$/.test(path);
      const current = section ? this.#limits.items : group ? this.#limits.eventsPerSession : 0;
      if (limit >= current) continue;
      this.#limits = section ? { ...this.#limits, items: limit } : { ...this.#limits, eventsPerSession: limit };
      learnt = true;
    }
    return learnt;
  }

  #remove(items: readonly Item[]): void {
    const keys = new Set(items.map(keyOf));
    this.#queue = this.#queue.filter((item) => !keys.has(keyOf(item)));
  }

  #drop(item: Item, found: Problem): void {
    if (!this.#queue.some((queued) => keyOf(queued) === keyOf(item))) return;
    this.#remove([item]);
    this.#report(item, found);
  }

  /** Tells every listener; a listener that throws does not stop the client (its error is reported apart). */
  #report(item: Item, found: Problem, kindOf: Item['k'] = item.k): void {
    const kind = kindOf === 's' ? 'session' : kindOf === 'e' ? 'event' : 'irrelevant';
    const named = { kind, session_id: item.sid, ...(item.k === 'e' ? { event_id: item.body.event_id } : {}) } as const;
    for (const listener of this.#errors) {
      try {
        listener({ ...found, item: named });
      } catch (error) {
        // The page's own error reporting (window.onerror) in browsers; stderr in Node.
        if (typeof reportError === 'function') reportError(error);
        else console.error(error);
      }
    }
  }

  #settleWaiters(): void {
    const queued = new Set(this.#queue.map(keyOf));
    for (const waiter of [...this.#waiters]) {
      if (![...waiter.keys].some((key) => queued.has(key))) waiter.done();
    }
  }

  /** Saves the queue once the current task ends: a burst of calls is written once, before a page can close. */
  #save(): void {
    if (this.#dirty) return;
    this.#dirty = true;
    queueMicrotask(() => {
      this.#dirty = false;
      this.#store();
    });
  }

  #store(): void {
    const shelf = this.#shelf;
    if (this.#closed || !(shelf instanceof LocalShelf)) return;
    this.#guard(() => {
      this.#checkTaken();
      shelf.save(this.#queue);
      this.#saved = new Set(this.#queue.map(keyOf));
    });
  }

  /**
   * Another tab took what this one had saved (it looked closed: frozen, or throttled in the background):
   * those items are that tab's to send now. This one goes on with the rest, under a new tab id.
   */
  #checkTaken(): void {
    const shelf = this.#shelf;
    if (!(shelf instanceof LocalShelf) || !shelf.taken()) return;
    const taken = this.#saved;
    this.#queue = this.#queue.filter((item) => !taken.has(keyOf(item)));
    this.#saved = new Set();
    shelf.tab = newId();
    shelf.beat(Date.now());
  }

  /** Runs a storage operation; when storage fails (full, disabled meanwhile), the queue goes on in memory. */
  #guard(run: () => void): void {
    try {
      run();
    } catch {
      const shelf = this.#shelf;
      this.#shelf = memoryShelf;
      // What it saved must not be taken and sent again by another tab.
      if (shelf instanceof LocalShelf) {
        try {
          shelf.drop();
          shelf.leave();
        } catch {
          // Storage is gone altogether: nothing is left in it either.
        }
      }
    }
  }

  /** Browser life cycle: beacons when the page is hidden or left, a retry at once when back online. */
  #listen(): void {
    const on = (target: EventTarget, type: string, listener: (event: Event) => void) => {
      target.addEventListener(type, listener);
      this.#cleanup.push(() => {
        target.removeEventListener(type, listener);
      });
    };
    on(globalThis, 'pagehide', (event) => {
      this.#beacon();
      const shelf = this.#shelf;
      if (!(event as PageTransitionEvent).persisted && shelf instanceof LocalShelf) {
        this.#guard(() => {
          shelf.leave();
        });
      }
    });
    on(globalThis, 'pageshow', () => {
      this.#store();
    });
    on(document, 'visibilitychange', () => {
      if (document.visibilityState === 'hidden') this.#beacon();
    });
    on(globalThis, 'online', () => {
      this.#retryAt = 0;
      this.#schedule(0);
    });
  }

  /** Beats, and takes over the items of closed tabs (what a closed tab left is sent by the next page). */
  #adopt(): void {
    const shelf = this.#shelf;
    if (!(shelf instanceof LocalShelf)) return;
    this.#guard(() => {
      this.#checkTaken();
      shelf.beat(Date.now());
      const claimed = shelf.claim(Date.now());
      if (claimed.length === 0) return;
      // Nothing leaves until the claimed items are in: an event here may belong to a registration there
      // (the page before this one, left offline), and must not arrive before it.
      this.#retryAt = Math.max(this.#retryAt, Date.now() + CLAIM_WAIT_MS + 5);
      const taking = setTimeout(() => {
        if (this.#closed) return;
        this.#guard(() => {
          const known = new Set(this.#queue.map(keyOf));
          const taken = claimed.flatMap((tab) => shelf.take(tab, Date.now())).filter((item) => !known.has(keyOf(item)));
          if (taken.length === 0) return;
          // Older items first: a registration taken over goes in front of the events queued here since.
          this.#queue = [...this.#queue, ...taken].sort((a, b) => a.t - b.t);
          this.#save();
          this.#schedule(0);
        });
      }, CLAIM_WAIT_MS);
      this.#cleanup.push(() => {
        clearTimeout(taking);
      });
    });
  }

  /**
   * Sends the queue with navigator.sendBeacon in bodies under the collector's 64 KiB limit for that form;
   * what the browser accepts is its to deliver. Offline, or while the collector fails, the items stay in
   * storage for the next page instead (a beacon has no answer and no retry); in memory only, they go anyway.
   */
  #beacon(): void {
    if (this.#o.beacon === false || typeof navigator !== 'object' || typeof navigator.sendBeacon !== 'function') return;
    if (this.#shelf.persistent && (!navigator.onLine || this.#failures > 0)) return;
    const url = `${this.#url}${this.#o.key ? `?key=${encodeURIComponent(this.#o.key)}` : ''}`;
    // Registrations in flight go again in front of their events: the beacon may arrive first. Beacons
    // travel side by side with no answer, so a session registered in one beacon takes no events in the
    // next: they stay for the next page.
    const beaconed = new Set<string>();
    const busy = (item: Item) => item.k !== 's' && (this.#inflight.has(keyOf(item)) || beaconed.has(item.sid));
    for (;;) {
      const batch = nextBatch(this.#queue, { ...this.#limits, bytes: BEACON_BYTES }, busy);
      if (!batch || !navigator.sendBeacon(url, batch.body)) break;
      this.#remove(batch.items);
      for (const item of batch.sessions) beaconed.add(item.sid);
    }
    this.#store();
    this.#settleWaiters();
  }
}

export function createClient(options: ClientOptions): Client {
  return new Client(options);
}

function problem(code: string, detail: string, status = 0): Problem {
  return { status, code, detail, errors: [] };
}

function fromAnswer(answer: ItemAnswer): Problem {
  return {
    ...problem(answer.code ?? 'refused', answer.detail ?? `status ${answer.status}`, answer.status),
    errors: answer.errors ?? [],
  };
}

function parseProblem(text: string, status: number): Problem {
  try {
    const body = JSON.parse(text) as Partial<DeliveryProblem>;
    return {
      ...problem(body.code ?? 'http_error', body.detail ?? `status ${status}`, status),
      errors: body.errors ?? [],
    };
  } catch {
    return problem('http_error', `status ${status}`, status);
  }
}
