import type { Config } from '../config/config.js';
import type { SettingUse } from '../config/settings.js';
import type { OpenedStore } from '../storage/create-store.js';
import type { ClickstreamStore } from '../storage/store.js';
import type { FlagSpec } from './flags.js';

/**
 * How a command uses the store. `read-only`: it only reads, so it opens only a store that exists and
 * refuses one that does not (it never creates a file, a folder or a schema); `read-write`: it creates the
 * store where there is none and brings its schema up to date; `none`: it talks to a running service over
 * HTTP (`tasks`, `worker`) and never opens a store.
 */
export type StoreAccess = 'read-only' | 'read-write' | 'none';

/** A CLI command as declared in its file: its flags and help, and how it opens the store. */
export interface CommandSpec extends FlagSpec {
  /** The uses of settings (settings.ts) whose flags the command takes and lists in its help. */
  readonly settings: readonly SettingUse[];
  /** How CommandIO.withStore opens the store for this command. */
  readonly store: StoreAccess;
}

/** What a command runs with: where it writes, and the store, opened as its spec declares. */
export interface CommandIO {
  /** The command's output (standard output). */
  readonly out: NodeJS.WritableStream;
  /** What is said beside the output: which store was opened, warnings (standard error). */
  readonly err: NodeJS.WritableStream;
  /**
   * Opens the configured store with the command's StoreAccess, names it on `err`, runs `work` and
   * closes the store whatever `work` does (store-session.ts).
   */
  readonly withStore: <T>(
    config: Config,
    work: (store: ClickstreamStore, opened: OpenedStore) => Promise<T>,
  ) => Promise<T>;
}
