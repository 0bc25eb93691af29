/**
 * What an SQLite failure means, decided here only: a failure of the store (the file, the disk, a lock),
 * which fails every write of its group, or the failure of one write's own data (a constraint, a trigger's
 * RAISE, an unknown session), which fails that write alone.
 */
import Database from 'better-sqlite3';
import { ClickstreamError } from '../../domain/errors.js';
import { storageFull } from '../store-failures.js';

/**
 * Primary result codes that say the store cannot take the write, whatever the write is. Any other error
 * (SQLITE_CONSTRAINT_*, SQLITE_MISMATCH, SQLITE_TOOBIG, SQLITE_ERROR, the store's own ClickstreamErrors)
 * is the write's own.
 */
const STORE_FAILURE_CODES: ReadonlySet<string> = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_PROTOCOL',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_READONLY',
  'SQLITE_NOMEM',
  'SQLITE_CANTOPEN',
  'SQLITE_PERM',
  'SQLITE_NOLFS',
  'SQLITE_INTERRUPT',
  'SQLITE_ABORT',
  'SQLITE_SCHEMA',
  'SQLITE_MISUSE',
  'SQLITE_INTERNAL',
]);

/** Another connection (a CLI beside the server) holds the lock past the busy timeout: retry shortly. */
const BUSY_CODES: ReadonlySet<string> = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_PROTOCOL']);

/**
 * The primary result code of an SQLite error: better-sqlite3 reports extended codes (`SQLITE_IOERR_WRITE`,
 * `SQLITE_BUSY_SNAPSHOT`), whose first two words are the primary code.
 */
export function primaryCode(error: unknown): string | null {
  if (!(error instanceof Database.SqliteError)) return null;
  const [prefix, name] = error.code.split('_');
  return `${prefix ?? ''}_${name ?? ''}`;
}

/** Whether a failure is the store's (it fails the whole group), not one write's own. */
export function isStoreFailure(error: unknown): boolean {
  const code = primaryCode(error);
  return code !== null && STORE_FAILURE_CODES.has(code);
}

/**
 * The error a caller sees: a full disk is `storage_full`, a lock held too long `service_unavailable`;
 * anything else as it was thrown (a write's own ClickstreamError, or an internal error).
 */
export function storeFailure(error: unknown): Error {
  const code = primaryCode(error);
  if (code === 'SQLITE_FULL') return storageFull(error);
  if (code !== null && BUSY_CODES.has(code)) {
    return new ClickstreamError('service_unavailable', 'the store is busy; retry shortly', [], { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Whether opening the file met another connection's lock (see retryBusy). */
export function isBusy(error: unknown): boolean {
  return primaryCode(error) === 'SQLITE_BUSY';
}

/**
 * Runs synchronous database work behind the async contract: a throw becomes a rejection, as callers of
 * an async interface expect, with the error a caller sees (storeFailure).
 */
export function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(storeFailure(error));
  }
}
