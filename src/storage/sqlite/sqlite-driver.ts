import { access } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { StoreDriver } from '../driver.js';

const SCHEME = 'sqlite:';
const MEMORY = ':memory:';

/**
 * `sqlite:<path>`: a file, relative to the working directory (created with its folder when missing);
 * `sqlite::memory:` a private in-memory store. better-sqlite3 is loaded only when a store is opened or
 * looked for.
 */
export const sqliteDriver: StoreDriver<'sqlite'> = {
  name: 'sqlite',
  scheme: SCHEME,
  settings: ['CLICKSTREAM_DURABILITY'],
  matches: (url) => url.startsWith(SCHEME),
  // better-sqlite3 opens an anonymous temporary database for an empty path: nothing would be kept.
  urlProblem: (url) =>
    url.slice(SCHEME.length).trim() === ''
      ? 'needs a file path after sqlite: (e.g. sqlite:./data/clickstream.db)'
      : null,
  location: (url) => `${SCHEME}${url.slice(SCHEME.length)}`,
  async missing(url) {
    const path = url.slice(SCHEME.length);
    if (path === MEMORY) return 'an in-memory store is new and empty in every process';
    // A relative path is named as resolved: the store looked for depends on the working directory.
    const file = resolve(path);
    const named = isAbsolute(path) ? 'the file' : `the file ${file}`;
    try {
      await access(file);
    } catch {
      return `${named} does not exist`;
    }
    // Opened read-only: looking creates nothing, not even the WAL files of a database that has none.
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
      return table === undefined ? `${named} holds no clickstream schema` : null;
    } finally {
      db.close();
    }
  },
  async open(url, options) {
    const { SqliteStore } = await import('./sqlite-store.js');
    const path = url.slice(SCHEME.length);
    const { store, applied } = SqliteStore.open(path, {
      durability: options.durability,
      checkpointThread: options.checkpointThread ?? false,
      ...(options.maxPageCount !== undefined ? { maxPageCount: options.maxPageCount } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
    });
    return { store, applied, location: sqliteDriver.location(url) };
  },
};
