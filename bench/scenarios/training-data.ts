/**
 * Measures `clickstream training-data --method pbm --format jsonl` against `clickstream export` of the same
 * released batch with the same --threads, in one run: wall time and peak RSS of each (GNU time). The batch:
 * N sessions (default 100,000) over 1,000 distinct queries, 20 results and 2 clicks each, seeded in bulk.
 * Usage: npm run bench:training [-- SESSIONS THREADS]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedSqlite } from '../lib/bulk-seed.js';
import { ROOT } from '../lib/child-processes.js';

const [sessions = 100_000, threads = 2] = process.argv.slice(2).map(Number);

function cli(args: readonly string[], databaseUrl: string): { seconds: number; peakMiB: number; stdout: string } {
  const started = process.hrtime.bigint();
  // GNU time prints the child's peak resident set size (KiB) as the last line of stderr.
  const run = spawnSync(
    '/usr/bin/time',
    ['-f', '%M', process.execPath, 'dist/cli/main.js', ...args, '--database-url', databaseUrl],
    {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (run.status !== 0) throw new Error(`${args[0] ?? ''} failed: ${run.stderr}`);
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    peakMiB: Number(run.stderr.trim().split('\n').at(-1)) / 1024,
    stdout: run.stdout,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'clickstream-bench-'));
try {
  const url = `sqlite:${join(dir, 'bench.db')}`;
  seedSqlite(join(dir, 'bench.db'), { sessions, resultsPerSession: 20, eventsPerSession: 2, distinctQueries: 1000 });
  const released = cli(['release', '--release-id', 'bench', '--late-event-grace-seconds', '0'], url);
  const batchId = (JSON.parse(released.stdout) as { batch_id: string }).batch_id;
  const exported = cli(
    ['export', '--batch-id', batchId, '--threads', String(threads), '--output', join(dir, 'export.jsonl')],
    url,
  );
  const trained = cli(
    [
      'training-data',
      '--batch-id',
      batchId,
      '--method',
      'pbm',
      '--format',
      'jsonl',
      '--output',
      join(dir, 'pbm.jsonl'),
    ],
    url,
  );
  const ratio = trained.seconds / exported.seconds;
  console.log(
    `| command (${sessions.toLocaleString('en-US')} sessions, --threads ${threads} for export) | seconds | peak RSS |`,
  );
  console.log('| --- | --- | --- |');
  console.log(`| export | ${exported.seconds.toFixed(2)} | ${exported.peakMiB.toFixed(0)} MiB |`);
  console.log(
    `| training-data --method pbm --format jsonl | ${trained.seconds.toFixed(2)} | ${trained.peakMiB.toFixed(0)} MiB |`,
  );
  console.log(`\ntraining-data / export: ${ratio.toFixed(2)} (goal <= 1.5); peak RSS goal < 400 MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
