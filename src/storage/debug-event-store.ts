import type { DebugEvent } from '../schemas/debug-events.js';

/** A record of the events debugger to store; the store gives it its `seq`. */
export type NewDebugEvent = Omit<DebugEvent, 'seq'>;

/** The bounds of the debugger's table, applied by every append. */
export interface DebugEventCaps {
  /** Most rows kept: the newest by `seq`. */
  readonly maxRows: number;
  /** Rows whose `time` is below this (integer UTC seconds) are removed. */
  readonly minTime: number;
}

/** Which records to list; every given field must match. */
export interface DebugEventFilter {
  readonly sessionId?: string;
  readonly code?: string;
  /** Only records with a `seq` below this (exclusive). */
  readonly beforeSeq?: number;
  /** Only records with a time at or after this (the age cap, between two appends' trims). */
  readonly minTime?: number;
  readonly limit: number;
}

/**
 * The events debugger's records (ClickstreamStore.debugEvents), checked by the conformance suite: a
 * bounded table that the service writes in batches, after its answers, and reads newest first.
 */
export interface DebugEventStore {
  /**
   * Stores `records` (possibly none) in one transaction, giving them increasing `seq`s in their order,
   * above every `seq` given before (also after rows were removed); then, in the same transaction, removes
   * the rows with `time < caps.minTime` and all but the newest `caps.maxRows`. After it resolves the table
   * holds at most `maxRows` rows, also when several processes append at once.
   */
  append(records: readonly NewDebugEvent[], caps: DebugEventCaps): Promise<void>;

  /** Up to `limit` records matching `filter`, newest (highest `seq`) first. */
  list(filter: DebugEventFilter): Promise<DebugEvent[]>;
}
