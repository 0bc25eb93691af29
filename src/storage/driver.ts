/**
 * What a storage backend offers the rest of the service: a driver that recognises its URLs and opens a
 * store. Drivers are listed once, in `drivers.ts`; a driver's module must stay light (no database client
 * imported at load time), so that a deployment loads only the backend it chose.
 */
import type { ClickstreamStore } from './store.js';

/** How durable an acknowledged write is on a backend that lets the service choose (SQLite). */
export const DURABILITY_MODES = ['process', 'power-loss'] as const;
export type Durability = (typeof DURABILITY_MODES)[number];

/** Where a store reports what it cannot answer for in a request: lost connections, failed checkpoints. */
export interface StoreLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/**
 * What a store reports as it works, for the service's metrics (http/metrics.ts): counts and durations only,
 * never an id. Called once per group, never per write, so that it costs the write path nothing it can see.
 */
export interface StoreObserver {
  /**
   * A group of `size` writes committed in one transaction (group commit: every write on SQLite; the
   * registrations and the event posts on PostgreSQL), `seconds` after its transaction began (on PostgreSQL
   * including the wait for a connection). Groups that committed nothing are not reported.
   */
  groupCommitted(size: number, seconds: number): void;
}

/** An observer that listens to nothing: the default of a store opened without one. */
export const NO_STORE_OBSERVER: StoreObserver = { groupCommitted: () => undefined };

export interface OpenOptions {
  /** Honoured where the driver lists `CLICKSTREAM_DURABILITY` among its settings. */
  readonly durability: Durability;
  /** For a long-running service: SQLite's WAL checkpoints on a thread of their own (see Checkpointer). */
  readonly checkpointThread?: boolean;
  /**
   * SQLite only (SqliteOptions.maxPageCount): a cap on the file's size in pages, past which writes fail as
   * on a full disk; for tests of a full disk. Other backends ignore it.
   */
  readonly maxPageCount?: number;
  readonly logger?: StoreLogger;
  /** Where the store reports its group commits (the service's metrics); unset: nowhere. */
  readonly observer?: StoreObserver;
  /**
   * Open only a store that exists (for commands that only read): where there is none, `createStore`
   * throws MissingStoreError and creates nothing (no file, no folder, no table). Unset: it is created.
   */
  readonly mustExist?: boolean;
}

export interface OpenedStore {
  readonly store: ClickstreamStore;
  /** Migration versions applied while opening (empty when the schema was current). */
  readonly applied: readonly number[];
  /** Where the data lives, for logs (no credentials). */
  readonly location: string;
}

export interface StoreDriver<Name extends string = string> {
  readonly name: Name;
  /** How its URLs start, for messages: `sqlite:`. */
  readonly scheme: string;
  /**
   * The settings (environment variables) that only some backends honour and this one does; set
   * explicitly for a backend that does not list it, a setting is refused at start.
   */
  readonly settings: readonly string[];
  /** Whether this driver serves the URL (by its scheme); cheap, opens nothing. */
  matches(url: string): boolean;
  /** Why a URL this driver matches cannot be opened as written, or null. */
  urlProblem(url: string): string | null;
  /** Where the data of a URL lives, for logs and messages (no credentials); cheap, opens nothing. */
  location(url: string): string;
  /**
   * Why there is no store at the URL yet (no such file, no schema in the database), or null when there
   * is one. Looks without creating anything; fails as opening would when the storage cannot be reached.
   */
  missing(url: string): Promise<string | null>;
  /** Opens the store (creating it where there is none) and brings its schema up to date. */
  open(url: string, options: OpenOptions): Promise<OpenedStore>;
}

/** A logger that drops everything: the default of a store opened without one (tests, one-off tools). */
export const SILENT_STORE_LOGGER: StoreLogger = {
  warn: () => undefined,
  error: () => undefined,
};
