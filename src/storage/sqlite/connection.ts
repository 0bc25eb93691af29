/** Opening the SQLite store's file: its one connection, the pragmas that decide durability, migrations. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SILENT_STORE_LOGGER, type StoreLogger, type StoreObserver } from '../driver.js';
import { Checkpointer } from './checkpointer.js';
import { isBusy } from './errors.js';
import { migrate } from './migrate.js';

export interface SqliteOptions {
  /** `process`: synchronous=NORMAL (survives a process crash); `power-loss`: synchronous=FULL. */
  readonly durability: 'process' | 'power-loss';
  /** How long a write waits for another process's transaction (the CLI beside a server), in ms. */
  readonly busyTimeoutMs?: number;
  /**
   * Whether WAL checkpoints run on a thread of their own (see Checkpointer): for the service. A command
   * that runs once does without (a thread is a V8 instance of its own, about 10 MB more).
   */
  readonly checkpointThread?: boolean;
  /**
   * A cap on the file's size, in pages (of 4 KiB by default), past which writes fail as on a full disk
   * (`storage_full`): SQLite's `max_page_count`, set on this connection after migrating. Unset: no cap
   * but the disk's. A cap below the file's size holds the file at its size.
   */
  readonly maxPageCount?: number;
  /** Where failures no request sees are reported (the checkpoint thread's). */
  readonly logger?: StoreLogger;
  /** Where group commits are reported (SqliteWrites); unset: nowhere. */
  readonly observer?: StoreObserver;
}

/** An open store file: the connection, the migrations it applied, and its checkpoint thread if any. */
export interface OpenedDatabase {
  readonly db: Database.Database;
  readonly applied: number[];
  readonly checkpointer: Checkpointer | null;
}

/**
 * Opens (creating if needed) the database file and its folder, sets its pragmas and applies pending
 * migrations; closes the file again if any of that fails.
 */
export function openDatabase(path: string, options: SqliteOptions): OpenedDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    // A process starting while another migrates the file waits for it, however long a migration takes
    // (migration 2 rewrites every session and result: about 30 s per million sessions).
    db.pragma(`busy_timeout = ${MIGRATION_BUSY_TIMEOUT_MS}`);
    retryBusy(() => db.pragma('journal_mode = WAL'));
    const synchronous = options.durability === 'power-loss' ? 'FULL' : 'NORMAL';
    db.pragma(`synchronous = ${synchronous}`);
    const applied = retryBusy(() => migrate(db));
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('foreign_keys = ON');
    if (options.maxPageCount !== undefined) setMaxPageCount(db, options.maxPageCount);
    const checkpointer =
      path !== ':memory:' && options.checkpointThread === true
        ? new Checkpointer(
            { path, synchronous, busyEveryMs: 10, idleEveryMs: 250 },
            options.logger ?? SILENT_STORE_LOGGER,
          )
        : null;
    return { db, applied, checkpointer };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Sets `max_page_count` on this connection and returns the cap in force (never below the file's size). */
export function setMaxPageCount(db: Database.Database, pages: number): number {
  if (!Number.isSafeInteger(pages) || pages < 1) throw new RangeError(`maxPageCount must be a positive integer`);
  return Number(db.pragma(`max_page_count = ${pages}`, { simple: true }));
}

/** How long opening a file waits for another process's migration of it. */
const MIGRATION_BUSY_TIMEOUT_MS = 30 * 60_000;

/**
 * Runs a step of opening the file again while it fails with SQLITE_BUSY, for up to OPEN_RETRY_MS. Where
 * waiting could deadlock, SQLite answers BUSY at once instead of calling the busy handler. Once, in a test
 * run, one of two processes opening a new file at the same moment failed to start with "database is
 * locked"; which step failed was not seen, so both are retried. The steps are idempotent.
 */
function retryBusy<T>(step: () => T): T {
  const deadline = Date.now() + OPEN_RETRY_MS;
  for (;;) {
    try {
      return step();
    } catch (error) {
      if (!isBusy(error) || Date.now() > deadline) throw error;
      Atomics.wait(PAUSE, 0, 0, 20);
    }
  }
}

const OPEN_RETRY_MS = 30_000;
/** Only ever waited on, never notified: a synchronous pause (opening is synchronous). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));
