/**
 * The storage backends tests run against. PostgreSQL is always on unless
 * CLICKSTREAM_TEST_POSTGRES_URL=none: when it is configured (by default the local server) and cannot be
 * reached, tests fail instead of skipping. Every test store lives in a database of its own, created for it
 * and dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const BACKENDS = ['sqlite', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];

const ADMIN_URL = process.env.CLICKSTREAM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The backends this run covers. */
export function testBackends(): readonly Backend[] {
  return ADMIN_URL === 'none' ? ['sqlite'] : BACKENDS;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL for tests is not reachable at ${ADMIN_URL} (set CLICKSTREAM_TEST_POSTGRES_URL, or =none to test SQLite only): ${String(error)}`,
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new empty database; `drop` removes it (closing what still connects to it). */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `clickstream_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Runs SQL against a test database with a short-lived connection (to inspect or to disturb it). */
export async function withDatabase<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Waits until at least `count` other backends of the client's database wait on a lock, and answers their
 * pids; fails after `timeoutMs`. Works inside the client's own transaction: PostgreSQL keeps one activity
 * snapshot for a whole transaction, so it is cleared before each look.
 */
export async function waitForLockWaiters(client: pg.ClientBase, count = 1, timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    if (rows.length >= count) return rows.map((row) => row.pid);
    if (Date.now() > deadline) {
      throw new Error(`fewer than ${count} backends waited on a lock within ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
