/**
 * What a PostgreSQL failure means, decided here only: the store's (the database is unreachable, out of
 * space, or refused the work for reasons of its own state), which fails every write of its group, or the
 * failure of one write's own data (a constraint, a trigger's RAISE, a data exception), which fails that
 * write alone.
 */
import { ClickstreamError } from '../../domain/errors.js';
import { isStorageFull, storageFull } from '../store-failures.js';

/** What a failure is: the disk is full, the database is not there right now, or the write's own. */
export type PostgresFailure = 'storage_full' | 'unavailable' | 'own';

/** disk_full: no space for a file the statement had to extend (53100). */
const DISK_FULL = '53100';

// SQLSTATEs that mean "the database is not there right now": retry later. Classes 08 (connection
// exception) and 53 (insufficient resources: out of memory, too many connections) and 57P0x (shutdown,
// crash, cannot connect now). Also retryable: a deadlock or serialization failure (40P01, 40001), a lock
// or statement timeout (55P03, 57014), a read-only standby after a failover (25006).
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0|40P01|40001|55P03|57014|25006)/;
const SQLSTATE = /^[0-9A-Z]{5}$/;
/** Socket errors of a connection that is gone or never came. */
const UNAVAILABLE_NODE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);
/** node-postgres's own errors of a lost or unobtainable connection, which carry no code. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended/i;

/**
 * Classifies a failure as thrown by node-postgres, or as already answered by this store (a
 * ClickstreamError keeps its meaning).
 */
export function classifyPostgresError(error: unknown): PostgresFailure {
  if (error instanceof ClickstreamError) {
    if (error.code === 'storage_full') return 'storage_full';
    return error.code === 'service_unavailable' ? 'unavailable' : 'own';
  }
  if (!(error instanceof Error)) return 'own';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // Before SQLSTATEs: EPIPE has their shape.
    if (UNAVAILABLE_NODE_CODES.has(code)) return 'unavailable';
    if (code === DISK_FULL) return 'storage_full';
    if (SQLSTATE.test(code)) return UNAVAILABLE_SQLSTATE.test(code) ? 'unavailable' : 'own';
  }
  // Only an error without an SQLSTATE is read by its message: a trigger's RAISE may say anything.
  return UNAVAILABLE_MESSAGES.test(error.message) ? 'unavailable' : 'own';
}

/** The database cannot be reached (or cannot take work now): retry shortly. */
export function unavailable(error: unknown): ClickstreamError {
  return new ClickstreamError('service_unavailable', 'the database is not reachable; retry shortly', [], {
    cause: error,
  });
}

/**
 * The error a caller sees: `storage_full` or `service_unavailable` for the store's failures; a write's own
 * error as it was thrown.
 */
export function postgresStoreFailure(error: unknown): Error {
  switch (classifyPostgresError(error)) {
    case 'storage_full':
      return isStorageFull(error) ? error : storageFull(error);
    case 'unavailable':
      return error instanceof ClickstreamError ? error : unavailable(error);
    case 'own':
      return error instanceof Error ? error : new Error(String(error));
  }
}
