/** Brings a PostgreSQL schema up to date (the SQL itself is in migrations.ts). */
import type pg from 'pg';
import { newBatchId } from '../../domain/batch.js';
import type { PgConnection } from './connection.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { NUMBER_BASE } from './rows.js';

/**
 * Advisory lock class (first key) held while migrating; the second key is the schema's (see RELEASE_LOCK).
 * Exported for the test that holds it as another process would.
 */
export const MIGRATION_LOCK = 0x636c6b32;
/** The longest a migration step may take: setTimeout's maximum, about 24.8 days. */
const MIGRATION_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Applies pending migrations under an advisory lock, in one transaction, and makes sure a batch is
 * collecting; returns the versions applied. Neither the migrations nor the wait for another process's
 * migration are bound by the statement timeout: migration 4 rewrote a million sessions in longer than
 * that, and a replica starting meanwhile must wait, not fail.
 */
export function migrate(connection: PgConnection, lockKey: number): Promise<number[]> {
  return connection.transaction(async (client) => {
    await client.query('SET LOCAL statement_timeout = 0');
    // node-postgres's own timeout cannot be turned off per query (0 means its default): the longest it takes.
    // (It reads `query_timeout` from a query's config; its type declarations leave it out.)
    const unbounded = (text: string, values: unknown[] = []) => {
      const config: pg.QueryConfig & { query_timeout: number } = {
        text,
        values,
        query_timeout: MIGRATION_TIMEOUT_MS,
      };
      return client.query(config);
    };
    await unbounded('SELECT pg_advisory_xact_lock($1, $2)', [MIGRATION_LOCK, lockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
    );
    const applied: number[] = [];
    for (const migration of POSTGRES_MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await unbounded(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        Math.floor(Date.now() / 1000),
      ]);
      applied.push(migration.version);
    }
    const now = Math.floor(Date.now() / 1000);
    await client.query(
      `INSERT INTO batches (batch_id, created_at, number_base)
       SELECT $1, $2, ${NUMBER_BASE} WHERE NOT EXISTS (SELECT 1 FROM batches WHERE released_at IS NULL)`,
      [newBatchId(now), now],
    );
    return applied;
  });
}
