import { ComposedStore } from '../composed-store.js';
import { NO_STORE_OBSERVER, type StoreObserver } from '../driver.js';
import type { StoreCapabilities } from '../store.js';
import { SpaceWatch } from '../store-failures.js';
import { openPool, PgConnection, type PostgresOptions } from './connection.js';
import { PostgresDebugEvents } from './debug-events.js';
import { integrityProblems } from './integrity.js';
import { migrate } from './migrate.js';
import { PostgresReads } from './reads.js';
import { PostgresStats } from './stats.js';
import { PostgresTasks } from './tasks.js';
import { PostgresWrites } from './writes.js';

export type { PostgresOptions } from './connection.js';
export { MIGRATION_LOCK } from './migrate.js';

/**
 * PostgreSQL store for several API replicas on one database (and, by its layout, for Citus).
 *
 * Batch boundary: a registration holds a shared advisory lock from before it reads the collecting batch
 * until it commits; a release takes the same lock exclusively. The release therefore waits for every
 * registration in flight to commit into the old batch, and every registration that starts after it sees
 * the new batch. That gives "no session registered after a release returned is in the released batch"
 * without a shared counter row on the ingest path. Under the lock a release does O(1) work whatever the
 * batch size (sessions are never re-stamped); the batch's session count is taken after the commit.
 * Session ids from a sequence are not used as the boundary: they are allocated at insert but visible at
 * commit, so a cut at "the highest id I see" could skip a slower transaction forever.
 *
 * Writes share transactions (writes.ts); this class puts the pieces together.
 */
export class PostgresStore extends ComposedStore<PostgresWrites, PostgresReads> {
  readonly capabilities: StoreCapabilities = { backend: 'postgres' };
  readonly tasks: PostgresTasks;
  readonly debugEvents: PostgresDebugEvents;
  readonly stats: PostgresStats;

  private constructor(
    private readonly db: PgConnection,
    private readonly space: SpaceWatch,
    reads: PostgresReads,
    lockKey: number,
    observer: StoreObserver,
  ) {
    super(new PostgresWrites(db, reads, space, lockKey, observer), reads);
    this.tasks = new PostgresTasks(db);
    this.debugEvents = new PostgresDebugEvents(db);
    this.stats = new PostgresStats(db);
  }

  /**
   * Connects, applies pending migrations (once, also when replicas start together) and makes sure a batch
   * is collecting. Returns the store and the migration versions this call applied.
   */
  static async open(url: string, options: PostgresOptions = {}): Promise<{ store: PostgresStore; applied: number[] }> {
    const pool = openPool(url, options);
    const space = new SpaceWatch();
    const db = new PgConnection(pool, space);
    try {
      const { rows } = await pool.query<{ key: number }>('SELECT hashtext(current_schema())::int AS key');
      const lockKey = rows[0]?.key ?? 0;
      const applied = await migrate(db, lockKey);
      const observer = options.observer ?? NO_STORE_OBSERVER;
      return { store: new PostgresStore(db, space, new PostgresReads(db), lockKey, observer), applied };
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  /** The store's rules, read in one snapshot. PostgreSQL keeps its own structures consistent (WAL). */
  checkIntegrity(): Promise<string[]> {
    return integrityProblems(this.db);
  }

  /**
   * A round trip; while the last write found the disk full, a write that needs space instead
   * (SpaceWatch), so that this rejects with `storage_full` until there is space again.
   */
  ping(): Promise<void> {
    return this.space.ping(
      async () => {
        await this.db.query('SELECT 1');
      },
      () => this.writes.probeSpace(),
    );
  }

  async close(): Promise<void> {
    if (this.db.pool.ending) return;
    await this.writes.flush();
    await this.db.pool.end();
  }
}
