import type { BatchRecord } from '../domain/batch.js';
import type { NewEvent } from '../domain/event.js';
import type { NewSession, SessionRecord } from '../domain/session.js';
import type { SessionWithEvents } from '../schemas/records.js';
import type { DebugEventStore } from './debug-event-store.js';
import type { StatsStore } from './stats-store.js';
import type { TaskStore } from './task-store.js';

/**
 * The storage port: the one contract every backend implements, checked by the conformance suite in
 * `test/storage/`.
 *
 * Units and conventions:
 * - Every timestamp is integer UTC seconds. Methods that depend on time take `now` from the caller, so
 *   that the rules are the caller's and tests can move the clock.
 * - A method resolves only after its writes are committed and durable as configured; a method that
 *   rejects has written nothing.
 * - "Not found" is `null` for lookups; for writes it is a thrown {@link ClickstreamError} with the code
 *   named in the method's contract.
 * - Sessions are ordered by `session_number`; events of a session by `created_at`, then arrival.
 */
export interface ClickstreamStore {
  /** What this backend can do, for callers (and the conformance suite) that must adapt. */
  readonly capabilities: StoreCapabilities;

  /** Fine-tuning tasks (task-store.ts documents their contract). */
  readonly tasks: TaskStore;

  /** The events debugger's bounded records (debug-event-store.ts documents their contract). */
  readonly debugEvents: DebugEventStore;

  /** Batch analytics (stats-store.ts documents their contract). */
  readonly stats: StatsStore;

  /**
   * Registers a session in the collecting batch, or returns the stored session with that id.
   * `created` is false when the id was already taken; the stored session is then returned unchanged (the
   * caller decides whether the content is the same). The session's batch is the one collecting when this
   * write commits; its `session_number` is unique in the batch and grows with registration order. Numbers
   * may be given out of commit order to concurrent registrations (PostgreSQL), so only a released batch is
   * guaranteed to page completely by `session_number`.
   */
  registerSession(session: NewSession, now: number): Promise<{ created: boolean; session: SessionRecord }>;

  /**
   * Adds events to a session, all or nothing. Each event gets the position of its `object_id` in the
   * session's results, or null. An event whose `(session_id, event_id)` is stored already counts as a
   * duplicate when it is the same event by the domain's rule (`isSameEvent`), else nothing is stored.
   * Throws `session_not_found`, `session_closed` (the session's batch is sealed at `now`) or
   * `event_conflict` (naming the event).
   */
  addEvents(
    sessionId: string,
    events: readonly NewEvent[],
    now: number,
  ): Promise<{ stored: number; duplicates: number }>;

  /**
   * Flags a session as irrelevant (idempotent). Throws `session_not_found`, or `session_closed` when its
   * batch is sealed at `now` and the session is not flagged already.
   */
  markIrrelevant(sessionId: string, now: number): Promise<void>;

  /** A stored session as idempotency comparison needs it, or null. */
  findSession(sessionId: string): Promise<SessionRecord | null>;

  /** The stored events of a session among `eventIds` (in no particular order); unknown ids are left out. */
  findEvents(sessionId: string, eventIds: readonly string[]): Promise<NewEvent[]>;

  /** One session with up to `eventsLimit` events, or null. */
  getSession(sessionId: string, eventsLimit: number): Promise<SessionWithEvents | null>;

  /**
   * Releases the collecting batch under `releaseId`. If a batch was released with that id already, it is
   * returned and nothing changes, also when the retries race. Like any write, a release whose connection
   * is lost after its commit may reject although it took effect; a retry with the same id returns it. Otherwise the collecting batch is closed
   * (`released_at = now`, `sealed_at = now + graceSeconds`): no session committed after this returns can be
   * in it. Throws `no_sessions_to_release` when the collecting batch holds no session; nothing is created.
   */
  releaseBatch(releaseId: string, now: number, graceSeconds: number): Promise<BatchRecord>;

  /** One batch, or null. */
  getBatch(batchId: string): Promise<BatchRecord | null>;

  /** Batches, newest first. */
  listBatches(limit: number): Promise<BatchRecord[]>;

  /**
   * Up to `limit` sessions of a batch with `session_number > afterNumber`, in `session_number` order, each
   * with up to `eventsLimit` events (all when null). Empty for an unknown batch.
   */
  listBatchSessions(
    batchId: string,
    afterNumber: number,
    limit: number,
    eventsLimit: number | null,
  ): Promise<SessionWithEvents[]>;

  /**
   * Runs the backend's consistency checks (its own structural checks, then the rules every store keeps:
   * one collecting batch, released counts that match their sessions, results numbered 0..n-1, events on
   * stored sessions) and resolves with the problems found; none is an empty list. Reads everything: a
   * tool for tests, `clickstream check` and operators, not for request paths.
   */
  checkIntegrity(): Promise<string[]>;

  /** Resolves when the store can serve requests; rejects otherwise. */
  ping(): Promise<void>;

  /** Releases connections and files; calling it again does nothing. The store is unusable afterwards. */
  close(): Promise<void>;
}

export interface StoreCapabilities {
  /** `sqlite` or `postgres`. */
  readonly backend: string;
}
