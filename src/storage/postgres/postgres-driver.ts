import type { StoreDriver } from '../driver.js';

/**
 * `postgres://` or `postgresql://` URLs, as node-postgres reads them. pg (and its process-wide type
 * parser) is loaded only when a store is opened. Durability is the server's (`synchronous_commit`), so
 * CLICKSTREAM_DURABILITY is not among this driver's settings.
 */
export const postgresDriver: StoreDriver<'postgres'> = {
  name: 'postgres',
  scheme: 'postgres://',
  settings: [],
  matches: (url) => /^postgres(ql)?:\/\//.test(url),
  urlProblem: (url) => {
    try {
      new URL(url);
      return null;
    } catch {
      return 'is not a valid URL (postgres://user:password@host:5432/database)';
    }
  },
  async open(url, options) {
    const { PostgresStore } = await import('./postgres-store.js');
    const { store, applied } = await PostgresStore.open(url, options.logger ? { logger: options.logger } : {});
    return { store, applied, location: redactPassword(url) };
  },
};

/** The URL without its password, for logs. */
function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
