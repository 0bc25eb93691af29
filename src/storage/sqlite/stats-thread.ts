/**
 * The analytics thread of the SQLite store (see stats.ts): its own connection to the database file runs
 * the aggregations, which read a whole batch (seconds for a million sessions), so that the service's event
 * loop goes on answering meanwhile. WAL mode lets it read while the writer writes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { StatsReply, StatsRequest, StatsThreadSettings } from './stats.js';
import { SqliteStatsReader } from './stats-reader.js';

const settings = workerData as StatsThreadSettings;
const db = new Database(settings.path, { fileMustExist: true });
db.pragma('query_only = ON');
db.pragma(`busy_timeout = ${settings.busyTimeoutMs}`);
// The batch's rows are read once; a larger page cache than the default 2 MB spares re-reading index pages.
db.pragma('cache_size = -65536');
const reader = new SqliteStatsReader(db);

parentPort?.on('message', (request: StatsRequest) => {
  let reply: StatsReply;
  try {
    const value =
      request.kind === 'aggregate'
        ? reader.aggregate(request.batchId)
        : reader.changedSince(request.batchId, request.watermark);
    reply = { id: request.id, ok: true, value };
  } catch (error) {
    const failure =
      error instanceof Database.SqliteError
        ? { message: error.message, code: error.code }
        : { message: String(error), code: null };
    reply = { id: request.id, ok: false, ...failure };
  }
  parentPort?.postMessage(reply);
});
