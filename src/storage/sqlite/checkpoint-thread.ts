/**
 * The checkpointer thread of the SQLite store (see checkpointer.ts): its own connection to the database
 * file copies committed WAL frames into the database with PASSIVE checkpoints, which never wait for and
 * never block the writer. It reports each checkpoint that copied frames.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CheckpointerSettings, CheckpointReport } from './checkpointer.js';

const settings = workerData as CheckpointerSettings;
const db = new Database(settings.path);
db.pragma('busy_timeout = 0');
// Checkpoints sync the WAL and the database file as the writer's setting asks.
db.pragma(`synchronous = ${settings.synchronous}`);

let backfilled = 0;

/** Runs one PASSIVE checkpoint; true when there was work (frames copied, or left to copy). */
function checkpoint(): boolean {
  const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
  if (!result || result.log <= 0) {
    backfilled = 0;
    return false;
  }
  // `checkpointed` counts the frames of the current WAL copied so far; it starts again when the WAL does.
  const copied = result.checkpointed >= backfilled ? result.checkpointed - backfilled : result.checkpointed;
  backfilled = result.checkpointed;
  if (copied > 0) parentPort?.postMessage({ frames: copied } satisfies CheckpointReport);
  return copied > 0 || result.checkpointed < result.log;
}

/**
 * Every `busyEveryMs` while the store is being written; only after a second with nothing to copy does it
 * slow down to `idleEveryMs`. Under load the thread often catches up with the writer for a moment, and
 * slowing down right away left the WAL to the writer's own checkpoint (events p99 24 ms instead of 11 ms).
 */
const IDLE_TICKS = Math.ceil(1000 / settings.busyEveryMs);
let idleTicks = 0;

function tick(): void {
  let busy: boolean;
  try {
    busy = checkpoint();
  } catch {
    // Another checkpoint is running (the writer's own) or the file is locked: try again soon.
    busy = true;
  }
  idleTicks = busy ? 0 : idleTicks + 1;
  setTimeout(tick, idleTicks < IDLE_TICKS ? settings.busyEveryMs : settings.idleEveryMs);
}
tick();
