/**
 * The storage backends tests run against. PostgreSQL is always on unless
 * CLICKSTREAM_TEST_POSTGRES_URL=none: when it is configured (by default the local server) and cannot be
 * reached, tests fail instead of skipping. Every test store lives in a database of its own, created for it
 * and dropped afterwards; except those of {@link freshTestStores}, one per test case, which live in a schema
 * of their own (in one database per source), for speed.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config/config.js';
import { createStore } from '../../src/storage/create-store.js';
import { STORE_DRIVERS, type BackendName } from '../../src/storage/drivers.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import { scratchDir, testConfig } from './factories.js';

/** A storage backend, by its driver's name: the list comes from the drivers, so a new one is tested too. */
export type Backend = BackendName;
export const BACKENDS: readonly Backend[] = STORE_DRIVERS.map((driver) => driver.name);

const ADMIN_URL = process.env.CLICKSTREAM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The backends this run covers: all but PostgreSQL when CLICKSTREAM_TEST_POSTGRES_URL=none. */
export function testBackends(): readonly Backend[] {
  return ADMIN_URL === 'none' ? BACKENDS.filter((backend) => backend !== 'postgres') : BACKENDS;
}

/**
 * Empty storage of each backend for one test store, under `dir` where it is a file; `drop` removes what
 * `dir` does not hold. A Record, so that a backend added to the drivers cannot go without one.
 */
const EMPTY_STORAGE: Readonly<Record<Backend, (dir: string) => Promise<{ url: string; drop: () => Promise<void> }>>> = {
  sqlite: (dir) => Promise.resolve({ url: `sqlite:${join(dir, 'clickstream.db')}`, drop: () => Promise.resolve() }),
  postgres: () => createTestDatabase(),
};

/** A URL of empty storage of `backend` for one store (see EMPTY_STORAGE). */
export function emptyStorage(backend: Backend, dir: string): Promise<{ url: string; drop: () => Promise<void> }> {
  return EMPTY_STORAGE[backend](dir);
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

/** A source of fresh stores, one per test case; see {@link freshTestStores}. */
export interface FreshTestStores {
  /** A new store on empty storage of its own; `cleanup` closes it and removes that storage. */
  open(): Promise<{ store: ClickstreamStore; cleanup: () => Promise<void> }>;
  /** Removes what the stores of this source shared; call it once, after every store was cleaned up. */
  close(): Promise<void>;
}

/**
 * Fresh stores of `backend`, cheap enough to open one per test case; each is the real backend, opened
 * with `createStore` like the service's. SQLite: a file in a scratch directory of its own (as
 * openTestStore). PostgreSQL: a schema of its own, in one database this source creates on first use and
 * `close` drops. A database per store costs about 200 ms here (CREATE DATABASE copies a whole template
 * database, catalogs included, then the store migrates it); a schema about 80 ms, mostly the store's own
 * migrations. The store finds its schema by `current_schema()`, so each schema gets a login role of the
 * same name (with a random password, for servers that do not trust local connections): PostgreSQL's
 * default search_path starts with "$user". The URL in the environment must name a role that may create
 * databases and roles.
 */
export function freshTestStores(backend: Backend): FreshTestStores {
  if (backend === 'sqlite') {
    return {
      open: async () => {
        const { dir, cleanup: removeDir } = scratchDir();
        const config = testConfig(dir);
        const { store } = await createStore(config.databaseUrl, { durability: config.durability });
        return {
          store,
          cleanup: async () => {
            await store.close();
            removeDir();
          },
        };
      },
      close: () => Promise.resolve(),
    };
  }
  // One database and one connection to it for all schemas of this source, made on first use.
  let host: Promise<{ database: { url: string; drop: () => Promise<void> }; client: pg.Client }> | undefined;
  const roles = new Set<string>();
  const connectHost = async () => {
    const database = await createTestDatabase();
    const client = new pg.Client({ connectionString: database.url });
    // A server that ends this idle connection fails the next open or cleanup; it must not end the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      await database.drop();
      throw error;
    }
    return { database, client };
  };
  return {
    open: async () => {
      host ??= connectHost();
      const { database, client } = await host;
      const role = `clickstream_test_${randomBytes(6).toString('hex')}`;
      const password = randomBytes(12).toString('hex');
      roles.add(role);
      await client.query(
        `CREATE ROLE ${role} LOGIN PASSWORD '${password}'; CREATE SCHEMA ${role} AUTHORIZATION ${role}`,
      );
      const url = new URL(database.url);
      url.username = role;
      url.password = password;
      const config = loadConfig({}, { CLICKSTREAM_DATABASE_URL: url.toString() });
      const { store } = await createStore(config.databaseUrl, { durability: config.durability });
      return {
        store,
        cleanup: async () => {
          await store.close();
          await client.query(`DROP SCHEMA ${role} CASCADE; DROP ROLE ${role}`);
          roles.delete(role);
        },
      };
    },
    close: async () => {
      const opening = host;
      host = undefined;
      // Nothing to remove when the database could not be made (the stores' cases failed on that already).
      const opened = await opening?.catch(() => undefined);
      if (!opened) return;
      const { database, client } = opened;
      await client.end();
      // Dropping the database drops the schemas of stores whose cleanup did not run; then their roles own
      // nothing and can go too.
      await database.drop();
      const left = [...roles];
      roles.clear();
      if (left.length > 0) await admin((adminClient) => adminClient.query(`DROP ROLE IF EXISTS ${left.join(', ')}`));
    },
  };
}
