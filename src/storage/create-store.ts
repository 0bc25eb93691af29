import type { Durability } from '../config/config.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { ClickstreamStore } from './store.js';

export interface OpenedStore {
  readonly store: ClickstreamStore;
  /** Migration versions applied while opening (empty when the schema was current). */
  readonly applied: readonly number[];
  /** Where the data lives, for logs (no credentials). */
  readonly location: string;
}

/**
 * Opens the store named by a `CLICKSTREAM_DATABASE_URL` and brings its schema up to date.
 * `sqlite:<path>` is a file (relative to the working directory); `sqlite::memory:` a private in-memory store.
 */
export async function createStore(
  url: string,
  options: {
    durability: Durability;
    /** For a long-running service: SQLite's WAL checkpoints on a thread of their own (see Checkpointer). */
    checkpointThread?: boolean;
  },
): Promise<OpenedStore> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    // better-sqlite3 opens an anonymous temporary database for an empty path: nothing would be kept.
    if (path.trim() === '') throw new Error('CLICKSTREAM_DATABASE_URL needs a file path after sqlite:');
    const { store, applied } = SqliteStore.open(path, {
      durability: options.durability,
      checkpointThread: options.checkpointThread ?? false,
    });
    return { store, applied, location: `sqlite:${path}` };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { store, applied } = await PostgresStore.open(url);
    return { store, applied, location: redactPassword(url) };
  }
  throw new Error('CLICKSTREAM_DATABASE_URL must start with sqlite: or postgres://');
}

/** The URL without its password, for logs. */
function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}
