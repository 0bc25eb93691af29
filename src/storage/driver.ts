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
  /** Opens the store and brings its schema up to date. */
  open(url: string, options: OpenOptions): Promise<OpenedStore>;
}

/** A logger that drops everything: the default of a store opened without one (tests, one-off tools). */
export const SILENT_STORE_LOGGER: StoreLogger = {
  warn: () => undefined,
  error: () => undefined,
};
