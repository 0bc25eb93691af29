import type { BatchRecord } from '../domain/batch.js';
import type { NewEvent } from '../domain/event.js';
import type { NewSession, SessionRecord } from '../domain/session.js';
import type { SessionWithEvents } from '../schemas/records.js';
import type { ClickstreamStore, StoreCapabilities } from './store.js';
import type { DebugEventStore } from './debug-event-store.js';
import type { StatsStore } from './stats-store.js';
import type { TaskStore } from './task-store.js';

/** A backend's write pipelines: the writes of the contract, as ClickstreamStore documents them. */
export type StoreWrites = Pick<ClickstreamStore, 'registerSession' | 'addEvents' | 'markIrrelevant' | 'releaseBatch'>;

/** A backend's reads, as ClickstreamStore documents them. */
export type StoreReads = Pick<
  ClickstreamStore,
  'findSession' | 'findEvents' | 'getSession' | 'getBatch' | 'listBatches' | 'listBatchSessions'
>;

/**
 * A store put together from its backend's parts: writes and reads are handed to them as they are (one
 * call, nothing allocated), and the backend's class adds what is its own (integrity checks, ping, close).
 */
export abstract class ComposedStore<W extends StoreWrites, R extends StoreReads> implements ClickstreamStore {
  abstract readonly capabilities: StoreCapabilities;
  abstract readonly tasks: TaskStore;
  abstract readonly debugEvents: DebugEventStore;
  abstract readonly stats: StatsStore;

  protected constructor(
    protected readonly writes: W,
    protected readonly reads: R,
  ) {}

  registerSession(session: NewSession, now: number): Promise<{ created: boolean; session: SessionRecord }> {
    return this.writes.registerSession(session, now);
  }

  addEvents(
    sessionId: string,
    events: readonly NewEvent[],
    now: number,
  ): Promise<{ stored: number; duplicates: number }> {
    return this.writes.addEvents(sessionId, events, now);
  }

  markIrrelevant(sessionId: string, now: number): Promise<void> {
    return this.writes.markIrrelevant(sessionId, now);
  }

  releaseBatch(releaseId: string, now: number, graceSeconds: number): Promise<BatchRecord> {
    return this.writes.releaseBatch(releaseId, now, graceSeconds);
  }

  findSession(sessionId: string): Promise<SessionRecord | null> {
    return this.reads.findSession(sessionId);
  }

  findEvents(sessionId: string, eventIds: readonly string[]): Promise<NewEvent[]> {
    return this.reads.findEvents(sessionId, eventIds);
  }

  getSession(sessionId: string, eventsLimit: number): Promise<SessionWithEvents | null> {
    return this.reads.getSession(sessionId, eventsLimit);
  }

  getBatch(batchId: string): Promise<BatchRecord | null> {
    return this.reads.getBatch(batchId);
  }

  listBatches(limit: number): Promise<BatchRecord[]> {
    return this.reads.listBatches(limit);
  }

  listBatchSessions(
    batchId: string,
    afterNumber: number,
    limit: number,
    eventsLimit: number | null,
  ): Promise<SessionWithEvents[]> {
    return this.reads.listBatchSessions(batchId, afterNumber, limit, eventsLimit);
  }

  abstract checkIntegrity(): Promise<string[]>;
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}
