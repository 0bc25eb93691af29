/** The PostgreSQL store's connections: the pool, and running work on one of its connections. */
import pg from 'pg';
import { SILENT_STORE_LOGGER, type StoreLogger, type StoreObserver } from '../driver.js';
import type { SpaceWatch } from '../store-failures.js';
import { classifyPostgresError, postgresStoreFailure, unavailable } from './errors.js';

export interface PostgresOptions {
  /** Connections of this process; several processes (API replicas) may share one database. */
  readonly maxConnections?: number;
  /** How long a request waits for a connection before it is answered 503. */
  readonly connectionTimeoutMs?: number;
  /** Longest statement, and longest idle time inside a transaction, before the database ends it. */
  readonly statementTimeoutMs?: number;
  /** Where lost connections are reported (they also fail the request that used them, as 503). */
  readonly logger?: StoreLogger;
  /** Where group commits are reported (PostgresWrites); unset: nowhere. */
  readonly observer?: StoreObserver;
}

// bigint (int8) columns hold seconds and counters, far below 2^53: read them as numbers, not strings.
// (Process-wide, and meant to be: this process's only PostgreSQL client is this store.)
pg.types.setTypeParser(pg.types.builtins.INT8, Number);

/** A pool for the store, with its connections' settings and the logging of connections lost. */
export function openPool(url: string, options: PostgresOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 3000,
    // A dead peer is noticed by TCP keepalive, a stuck statement by the client's own timeout; both end
    // as 503. The server ends transactions left idle (a stalled replica must not hold the batch lock)
    // and prints floats exactly (a retried rank must compare equal).
    keepAlive: true,
    query_timeout: options.statementTimeoutMs ?? 15_000,
    options: [
      `-c statement_timeout=${options.statementTimeoutMs ?? 15_000}`,
      `-c idle_in_transaction_session_timeout=${options.statementTimeoutMs ?? 15_000}`,
      '-c extra_float_digits=3',
    ].join(' '),
  });
  const logger = options.logger ?? SILENT_STORE_LOGGER;
  // A connection the server closes while idle (restart, pg_terminate_backend) must not crash the
  // process; the pool replaces it on the next request.
  pool.on('error', (error) => {
    logger.warn({ err: error }, 'an idle PostgreSQL connection was lost; the pool replaces it');
  });
  // pg-pool removes its listener while a connection is lent out; a reset socket would then emit an
  // unhandled 'error' and end the process. The failing query rejects on its own (503), and is logged here.
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      logger.warn({ err: error }, 'a PostgreSQL connection in use was lost; its request is answered 503');
    });
  });
  return pool;
}

/**
 * Work on the pool's connections. The store's failures (errors.ts) become the errors callers see; a full
 * disk is also told to the store's SpaceWatch; a write's own error is thrown as it was.
 */
export class PgConnection {
  constructor(
    readonly pool: pg.Pool,
    private readonly space: SpaceWatch,
  ) {}

  /** Runs `work` in one transaction, begun by `begin`, committed when `work` resolves. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.withClient(async (client) => {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    }, true);
  }

  /** Runs reads in one REPEATABLE READ, read-only transaction: one snapshot for all of them. */
  snapshot<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.transaction(work, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  /** One statement outside a transaction. */
  async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return this.withClient(async (client) => (await client.query<R>(text, values)).rows);
  }

  /**
   * Runs `work` on a pooled connection. Any failure to get a connection, and any connection lost on the
   * way, becomes `service_unavailable`; a lost connection is discarded, never reused. A transaction that
   * failed otherwise is rolled back, and its connection goes back to the pool.
   */
  async withClient<T>(work: (client: pg.PoolClient) => Promise<T>, inTransaction = false): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      // Whatever the reason (refused, too many connections, timed out), there is no connection to use.
      throw unavailable(error);
    }
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (error) {
      const kind = classifyPostgresError(error);
      if (kind === 'unavailable') {
        // The connection is gone: the server rolled the transaction back (or the commit's outcome is
        // unknown, which an idempotent retry resolves). Never reuse this connection.
        broken = error instanceof Error ? error : new Error(String(error));
        throw postgresStoreFailure(error);
      }
      if (inTransaction) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
      }
      if (kind === 'own') throw error;
      const failure = postgresStoreFailure(error);
      this.space.failed(failure);
      throw failure;
    } finally {
      client.release(broken);
    }
  }
}
