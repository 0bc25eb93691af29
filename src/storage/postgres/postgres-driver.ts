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
  location: redactPassword,
  // The store's tables live in the connection's current schema (PostgresStore.open); migrations keep
  // their versions in schema_migrations there, so a schema without it has no store.
  async missing(url) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    // A connection lost meanwhile fails the query below; it must not also end the process.
    client.on('error', () => undefined);
    await client.connect();
    try {
      const { rows } = await client.query<{ schema: string | null; present: boolean }>(
        `SELECT current_schema() AS schema, EXISTS (SELECT 1 FROM pg_catalog.pg_tables
           WHERE schemaname = current_schema() AND tablename = 'schema_migrations') AS present`,
      );
      const [row] = rows;
      if (row?.present === true) return null;
      return `the database has no clickstream schema (no schema_migrations table in schema ${row?.schema ?? '(none)'})`;
    } finally {
      await client.end();
    }
  },
  async open(url, options) {
    const { PostgresStore } = await import('./postgres-store.js');
    const { store, applied } = await PostgresStore.open(url, {
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
    });
    return { store, applied, location: redactPassword(url) };
  },
};

/** The URL without its password, for logs. */
function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
