/**
 * Measures `clickstream export` on batches of two sizes and prints its peak RSS for each: a flat figure
 * means the export streams in constant memory. Each batch is registered session by session through the SQLite
 * store (20 results and 2 events each), then released. Usage: npm run bench:export [-- SMALL LARGE]
 * (default 10000 100000).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toNewEvents } from '../../src/domain/event.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import { toNewSession } from '../../src/domain/session.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { ROOT } from '../lib/child-processes.js';

const RULES = { limits: DEFAULT_LIMITS, window: { pastSeconds: 86400, futureSeconds: 300 } };

async function seed(path: string, sessions: number): Promise<string> {
  const { store } = SqliteStore.open(path, { durability: 'process' });
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < sessions; i++) {
    const session = toNewSession(
      {
        session_id: `s${i}`,
        search_query: `query ${i}`,
        search_results: Array.from({ length: 20 }, (_, r) => ({ object_id: `o${r}`, rank: 1 / (r + 1) })),
      },
      now,
      RULES,
    );
    await store.registerSession(session, now);
    const { events } = toNewEvents(
      { session_id: `s${i}`, events: [0, 3].map((r) => ({ event_id: `e${r}`, object_id: `o${r}` })) },
      now,
      RULES,
    );
    await store.addEvents(`s${i}`, events, now);
  }
  const batch = await store.releaseBatch('bench', now, 0);
  await store.close();
  return batch.batch_id;
}

const sizes = process.argv.slice(2).map(Number);
const [small = 10_000, large = 100_000] = sizes;
for (const size of [small, large]) {
  const dir = mkdtempSync(join(tmpdir(), 'clickstream-bench-'));
  try {
    const path = join(dir, 'bench.db');
    const batchId = await seed(path, size);
    const started = process.hrtime.bigint();
    // GNU time prints the child's peak resident set size (KiB) on stderr.
    const run = spawnSync(
      '/usr/bin/time',
      [
        '-f',
        '%M',
        process.execPath,
        'dist/cli/main.js',
        'export',
        '--batch-id',
        batchId,
        '--output',
        join(dir, 'out.jsonl'),
        '--database-url',
        `sqlite:${path}`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    if (run.status !== 0) throw new Error(`export failed: ${run.stderr}`);
    const peakMiB = Number(run.stderr.trim().split('\n').at(-1)) / 1024;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(
      `${size} sessions: exported in ${seconds.toFixed(2)} s (${Math.round(size / seconds)} sessions/s), peak RSS ${peakMiB.toFixed(0)} MiB`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
