import { backoffDelay, retryAfterMs } from './backoff.js';
import { type Batch, type BatchLimits, keyOf, nextBatch } from './batch.js';
import { newId } from './ids.js';
import { LocalShelf, CLAIM_WAIT_MS, memoryShelf, type Shelf, usableLocalStorage } from './shelf.js';
import type {
  DeliveryProblem,
  EventBody,
  IngestAnswer,
  Item,
  ItemAnswer,
  JsonObject,
  SearchResult,
  SessionBody,
} from './types.js';

declare const __SDK_VERSION__: string | undefined;

/** Node's process, where there is one (typed here so that the package's types need no @types/node). */
const node = (
  globalThis as { process?: { on(event: string, f: () => void): void; off(event: string, f: () => void): void } }
).process;
/** The SDK's version (the build writes it in; `0.0.0-dev` when run from source). */
export const version: string = typeof __SDK_VERSION__ === 'string' ? __SDK_VERSION__ : '0.0.0-dev';

export interface ClientOptions {
  /** The collector's origin (and base path, if any): `https://collector.example`. */
  readonly endpoint: string;
  /** An ingest key (public: it can only write). Without keys configured on the collector, omit it. */
  readonly key?: string;
  /** How long events gather before they are sent (default 1000 ms); a full batch is sent at once. */
  readonly flushIntervalMs?: number;
  /** Most items queued; the oldest is dropped (and reported) to make room (default 5000). */
  readonly maxQueueSize?: number;
  /** Attempts after the first before an item is dropped (default: no limit, see retryDeadlineMs). */
  readonly maxRetries?: number;
  /** An item still undelivered this long after it was queued is dropped (default 24 h, the collector's window). */
  readonly retryDeadlineMs?: number;
  /** The first retry waits up to this long; each failure doubles it (default 500 ms). */
  readonly retryBaseDelayMs?: number;
  /** No retry waits longer (default 30 s), unless the collector's Retry-After says so. */
  readonly retryMaxDelayMs?: number;
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

type Outcome =
  | { readonly kind: 'answered'; readonly answer: IngestAnswer }
  | { readonly kind: 'retry'; readonly problem: DeliveryProblem; readonly after?: number }
  | { readonly kind: 'refused'; readonly problem: DeliveryProblem };

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
      // The event loop is empty: send what is left (the flush keeps the process alive until it is done).
      const onExit = () => {
        if (this.#queue.length > 0) void this.flush();
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
    this.#add({
      k: 's',
      sid: id,
      body: {
        session_id: id,
        search_query: input.query,
        search_results: input.results,
        ...(input.meta ? { search_meta: input.meta } : {}),
        ...(input.userId ? { user_id: input.userId } : {}),
        ...this.#stamp(),
      },
      t: Date.now(),
      n: 0,
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
      this.#add({ k: 'e', sid: id, body, t: Date.now(), n: 0 });
    };
    return {
      id,
      click: (objectId, options) => {
        event('click', objectId, options);
      },
      event,
      markIrrelevant: () => {
        this.#add({ k: 'i', sid: id, t: Date.now(), n: 0 });
      },
    };
  }

  /** Listens for items dropped for good; returns a function that stops listening. */
  on(_type: 'error', listener: (problem: DeliveryProblem) => void): () => void {
    this.#errors.add(listener);
    return () => this.#errors.delete(listener);
  }

  /** Resolves once everything queued so far is acknowledged by the collector or dropped (and reported). */
  flush(): Promise<void> {
    const keys = new Set(this.#queue.map(keyOf));
    if (keys.size === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#waiters.push({ keys, done: resolve }));
    // In Node a flush keeps the process alive until it is done (the send timer is unref'd otherwise).
    (this.#timer as { ref?: () => void } | undefined)?.ref?.();
    this.#schedule(0);
    return done;
  }

  /**
   * Flushes, then stops timers and listeners; later calls are reported as `closed` and not sent. With
   * `{ flush: false }` it stops at once and leaves what is queued in storage, for the next client on the
   * same storage to send (without storage, it is dropped).
   */
  async close(options: { readonly flush?: boolean } = {}): Promise<void> {
    if (options.flush !== false) await this.flush();
    this.#store();
    if (this.#shelf instanceof LocalShelf) this.#shelf.leave();
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const stop of this.#cleanup.splice(0)) stop();
  }

  #stamp(): { created_at?: number } {
    return this.#o.clientTimestamps ? { created_at: Math.floor(Date.now() / 1000) } : {};
  }

  #add(item: Item): void {
    if (this.#closed) {
      this.#report(item, { status: 0, code: 'closed', detail: 'the client is closed', errors: [] });
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
    if (this.#sending) return;
    if (Date.now() < this.#retryAt) {
      this.#schedule(0);
      return;
    }
    const batch = nextBatch(this.#queue, this.#limits, (item) => this.#inflight.has(keyOf(item)));
    if (!batch) return;
    this.#sending = true;
    for (const item of batch.items) this.#inflight.add(keyOf(item));
    const outcome = await this.#post(batch);
    for (const item of batch.items) this.#inflight.delete(keyOf(item));
    this.#sending = false;
    this.#apply(batch, outcome);
    this.#save();
    this.#settleWaiters();
    if (this.#queue.length === 0) return;
    const full = this.#queue.length >= this.#limits.items || this.#waiters.length > 0;
    this.#schedule(outcome.kind === 'retry' || !full ? undefined : 0);
  }

  async #post(batch: Batch): Promise<Outcome> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#o.key) headers.authorization = `Bearer ${this.#o.key}`;
    try {
      const response = await this.#send(this.#url, {
        method: 'POST',
        headers,
        body: batch.body,
        keepalive: batch.body.length <= BEACON_BYTES / 4,
      });
      const text = await response.text();
      if (response.ok) return { kind: 'answered', answer: JSON.parse(text) as IngestAnswer };
      const found = parseProblem(text, response.status);
      const retriable = response.status >= 500 || response.status === 429 || response.status === 408;
      if (retriable) {
        const after = retryAfterMs(response.headers.get('retry-after'), Date.now());
        return { kind: 'retry', problem: found, ...(after === undefined ? {} : { after }) };
      }
      return { kind: 'refused', problem: found };
    } catch (error) {
      return { kind: 'retry', problem: problem('network_error', String(error)) };
    }
  }

  #apply(batch: Batch, outcome: Outcome): void {
    if (outcome.kind === 'retry') {
      this.#failures++;
      const policy = { baseDelayMs: this.#o.retryBaseDelayMs ?? 500, maxDelayMs: this.#o.retryMaxDelayMs ?? 30_000 };
      this.#retryAt = Date.now() + Math.max(outcome.after ?? 0, backoffDelay(this.#failures, policy));
      const now = Date.now();
      const maxRetries = this.#o.maxRetries ?? Infinity;
      const deadline = this.#o.retryDeadlineMs ?? 86_400_000;
      for (const item of batch.items) {
        if (++item.n > maxRetries || now - item.t > deadline) {
          this.#drop(item, { ...outcome.problem, code: 'undeliverable', detail: `gave up: ${outcome.problem.detail}` });
        }
      }
      return;
    }
    this.#failures = 0;
    this.#retryAt = 0;
    if (outcome.kind === 'refused') {
      // A body too large for the collector is split; one over its item limits is cut to them; anything
      // else it refused as a whole is dropped.
      if (outcome.problem.status === 413 && batch.items.length > 1) {
        this.#limits = { ...this.#limits, bytes: Math.max(1024, Math.floor(batch.body.length / 2)) };
        return;
      }
      if (this.#learnLimits(outcome.problem.errors)) return;
      for (const item of batch.items) this.#drop(item, outcome.problem);
      return;
    }
    const { sessions, events, irrelevant } = outcome.answer.results;
    batch.sessions.forEach((item, i) => {
      const answer = sessions[i];
      if (answer?.status === 200) this.#remove([item]);
      else if (answer) {
        // Its events can never be stored: they go with it.
        for (const other of this.#queue.filter((queued) => queued.sid === item.sid))
          this.#drop(other, fromAnswer(answer));
      }
    });
    batch.events.forEach((group, i) => {
      const answer = events[i];
      if (!answer) return;
      if (answer.status === 200) {
        this.#remove(group);
        return;
      }
      // A group over the collector's limit is sent again in smaller groups; a refused group whose errors
      // name its events drops those only, and the others are sent again.
      if (this.#learnLimits(answer.errors ?? [])) return;
      const named = (answer.errors ?? []).map((error) => /^events\[\d+\]\.events\[(\d+)\]/.exec(error.path)?.[1]);
      const only = named.every((index) => index !== undefined) && named.length > 0 ? new Set(named.map(Number)) : null;
      group.forEach((item, index) => {
        if (!only || only.has(index)) this.#drop(item, fromAnswer(answer));
      });
    });
    batch.irrelevant.forEach((item, i) => {
      const answer = irrelevant[i];
      if (answer?.status === 200) this.#remove([item]);
      else if (answer) this.#drop(item, fromAnswer(answer));
    });
  }

  /**
   * Takes the collector's limits from errors that name them ("has 12 items; the limit is 10" at
   * `sessions` or `events[3].events`), when it was set below the defaults; true if one was learnt.
   */
  #learnLimits(errors: readonly { path: string; message: string }[]): boolean {
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

  #drop(item: Item, found: DeliveryProblem): void {
    if (!this.#queue.some((queued) => keyOf(queued) === keyOf(item))) return;
    this.#remove([item]);
    this.#report(item, found);
  }

  #report(item: Item, found: Omit<DeliveryProblem, 'item'>): void {
    const kind = item.k === 's' ? 'session' : item.k === 'e' ? 'event' : 'irrelevant';
    const named = { kind, session_id: item.sid, ...(item.k === 'e' ? { event_id: item.body.event_id } : {}) } as const;
    for (const listener of this.#errors) listener({ ...found, item: named });
  }

  #settleWaiters(): void {
    const queued = new Set(this.#queue.map(keyOf));
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i];
      if (waiter && ![...waiter.keys].some((key) => queued.has(key))) {
        this.#waiters.splice(i, 1);
        waiter.done();
      }
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
    if (shelf.taken()) {
      // Another tab took this tab's items while this one was frozen: they are that tab's to send now.
      const taken = this.#saved;
      this.#queue = this.#queue.filter((item) => !taken.has(keyOf(item)));
      shelf.tab = newId();
      shelf.beat(Date.now());
    }
    try {
      shelf.save(this.#queue);
      this.#saved = new Set(this.#queue.map(keyOf));
    } catch {
      // Storage full or disabled meanwhile: the queue goes on in memory.
      this.#shelf = memoryShelf;
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
      if (!(event as PageTransitionEvent).persisted && this.#shelf instanceof LocalShelf) this.#shelf.leave();
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
    try {
      if (shelf.taken()) this.#store();
      shelf.beat(Date.now());
      const claimed = shelf.claim(Date.now());
      if (claimed.length === 0) return;
      // Nothing leaves until the claimed items are in: an event here may belong to a registration there
      // (the page before this one, left offline), and must not arrive before it.
      this.#retryAt = Math.max(this.#retryAt, Date.now() + CLAIM_WAIT_MS + 5);
      const taking = setTimeout(() => {
        // A client closed meanwhile takes nothing: the items stay for the next one.
        if (this.#closed) return;
        const known = new Set(this.#queue.map(keyOf));
        const taken = claimed.flatMap((tab) => shelf.take(tab)).filter((item) => !known.has(keyOf(item)));
        if (taken.length === 0) return;
        // Older items first: a registration taken over goes in front of the events queued here since.
        this.#queue = [...this.#queue, ...taken].sort((a, b) => a.t - b.t);
        this.#save();
        this.#schedule(0);
      }, CLAIM_WAIT_MS);
      this.#cleanup.push(() => {
        clearTimeout(taking);
      });
    } catch {
      this.#shelf = memoryShelf;
    }
  }

  /**
   * Sends the queue with navigator.sendBeacon in bodies under the collector's 64 KiB limit for that form;
   * what the browser accepts is its to deliver. Offline, or while the collector fails, the items stay in
   * storage for the next page instead (a beacon has no answer and no retry); in memory only, they go anyway.
   */
  #beacon(): void {
    const send = typeof navigator === 'object' ? navigator.sendBeacon.bind(navigator) : undefined;
    if (this.#o.beacon === false || !send) return;
    if (this.#shelf.persistent && (!navigator.onLine || this.#failures > 0)) return;
    const url = `${this.#url}${this.#o.key ? `?key=${encodeURIComponent(this.#o.key)}` : ''}`;
    // Registrations in flight go again in front of their events: the beacon may arrive first.
    const busy = (item: Item) => item.k !== 's' && this.#inflight.has(keyOf(item));
    for (;;) {
      const batch = nextBatch(this.#queue, { ...this.#limits, bytes: BEACON_BYTES }, busy);
      if (!batch || !send(url, batch.body)) break;
      this.#remove(batch.items);
    }
    this.#store();
    this.#settleWaiters();
  }
}

export function createClient(options: ClientOptions): Client {
  return new Client(options);
}

function problem(code: string, detail: string, status = 0): DeliveryProblem {
  return { item: { kind: 'session', session_id: '' }, status, code, detail, errors: [] };
}

function fromAnswer(answer: ItemAnswer): DeliveryProblem {
  return {
    ...problem(answer.code ?? 'refused', answer.detail ?? `status ${answer.status}`, answer.status),
    errors: answer.errors ?? [],
  };
}

function parseProblem(text: string, status: number): DeliveryProblem {
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
