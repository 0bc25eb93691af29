import type { StoreDriver } from '../driver.js';

const SCHEME = 'sqlite:';

/**
 * `sqlite:<path>`: a file, relative to the working directory (created with its folder when missing);
 * `sqlite::memory:` a private in-memory store. better-sqlite3 is loaded only when a store is opened.
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
  async open(url, options) {
    const { SqliteStore } = await import('./sqlite-store.js');
    const path = url.slice(SCHEME.length);
    const { store, applied } = SqliteStore.open(path, {
      durability: options.durability,
      checkpointThread: options.checkpointThread ?? false,
      ...(options.maxPageCount !== undefined ? { maxPageCount: options.maxPageCount } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    return { store, applied, location: `${SCHEME}${path}` };
  },
};
