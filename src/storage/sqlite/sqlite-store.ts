import type Database from 'better-sqlite3';
import { ComposedStore } from '../composed-store.js';
import { NO_STORE_OBSERVER, type StoreObserver } from '../driver.js';
import type { StoreCapabilities } from '../store.js';
import { SpaceWatch } from '../store-failures.js';
import type { Checkpointer } from './checkpointer.js';
import { openDatabase, setMaxPageCount, type SqliteOptions } from './connection.js';
import { SqliteDebugEvents } from './debug-events.js';
import { settle } from './errors.js';
import { integrityProblems } from './integrity.js';
import { SqliteReads } from './reads.js';
import { SqliteStats, type StatsThreadSettings } from './stats.js';
import { prepareStatements, type Statements } from './statements.js';
import { SqliteTasks } from './tasks.js';
import { SqliteWrites } from './writes.js';

export type { SqliteOptions } from './connection.js';

/**
 * The embedded store: one SQLite file in WAL mode. better-sqlite3 is synchronous, so every method runs
 * its transaction to the end before it resolves: a write is committed before anyone hears of it. Write
 * transactions are IMMEDIATE, so a CLI process and a server on the same file queue on the write lock
 * (busy timeout) instead of failing on a lock upgrade. Writes share commits (writes.ts); this class puts
 * the pieces together.
 */
export class SqliteStore extends ComposedStore<SqliteWrites, SqliteReads> {
  readonly capabilities: StoreCapabilities = { backend: 'sqlite' };
  readonly tasks: SqliteTasks;
  readonly debugEvents: SqliteDebugEvents;
  readonly stats: SqliteStats;

  private constructor(
    private readonly db: Database.Database,
    private readonly checkpointer: Checkpointer | null,
    private readonly statements: Statements,
    private readonly space: SpaceWatch,
    observer: StoreObserver,
    statsThread: StatsThreadSettings | null,
  ) {
    super(new SqliteWrites(db, statements, space, observer), new SqliteReads(db, statements));
    this.tasks = new SqliteTasks(db);
    this.debugEvents = new SqliteDebugEvents(db);
    this.stats = new SqliteStats(db, statsThread);
  }

  /**
   * Opens (creating if needed) the database file, applies pending migrations and returns the store with
   * the migration versions this call applied.
   */
  static open(path: string, options: SqliteOptions): { store: SqliteStore; applied: number[] } {
    const { db, applied, checkpointer } = openDatabase(path, options);
    const observer = options.observer ?? NO_STORE_OBSERVER;
    const statsThread = path === ':memory:' ? null : { path, busyTimeoutMs: options.busyTimeoutMs ?? 5000 };
    const store = new SqliteStore(db, checkpointer, prepareStatements(db), new SpaceWatch(), observer, statsThread);
    return { store, applied };
  }

  /** SQLite's own checks (`integrity_check`, `foreign_key_check`), then the store's rules. */
  checkIntegrity(): Promise<string[]> {
    return settle(() => integrityProblems(this.db));
  }

  /**
   * A query; while the last write found the disk full, a write that needs space instead (SpaceWatch), so
   * that this rejects with `storage_full` until there is space again.
   */
  ping(): Promise<void> {
    return this.space.ping(
      () =>
        settle(() => {
          this.statements.ping.get();
        }),
      () =>
        settle(() => {
          this.writes.probeSpace();
        }),
    );
  }

  /** How many commits carried how many writes since the store was opened (group commit at work). */
  commitStats(): { commits: number; writes: number } {
    return this.writes.commitStats();
  }

  /** What the checkpointer thread has copied from the WAL so far (zeros without the thread). */
  checkpointStats(): { checkpoints: number; frames: number } {
    return this.checkpointer?.stats() ?? { checkpoints: 0, frames: 0 };
  }

  /** The settings that decide durability, as SQLite reports them (synchronous: 1 NORMAL, 2 FULL). */
  pragmas(): { journal_mode: string; synchronous: number } {
    return {
      journal_mode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
    };
  }

  /**
   * Moves the cap on the file's size (SqliteOptions.maxPageCount) while the store is open, as freeing
   * space on a full disk would; returns the cap in force. For tests and operators' tools.
   */
  setMaxPageCount(pages: number): number {
    return setMaxPageCount(this.db, pages);
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.writes.flush();
    await this.checkpointer?.stop();
    await this.stats.close();
    this.db.close();
  }
}
