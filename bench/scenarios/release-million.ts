/**
 * Measures the contract point "releasing a batch of 1,000,000 sessions finishes in under 10 s while
 * ingestion keeps being served (no request waits more than 1 s during it)" on SQLite and PostgreSQL.
 *
 * Per backend: a fresh store is migrated and its collecting batch is filled with N sessions (5 results and
 * 1 event each) by bulk SQL against the real schema, timed apart (seeding is not part of the goal); the
 * service starts in a process of its own on that store; a load process (bench/lib/release-ingestion-load.ts) registers
 * sessions and posts events on 16 connections; after a warm-up the release is posted and timed here; the
 * load goes on a few seconds more. Results go to bench/results/<date>-release-million.md and stdout.
 *
 * Usage: npm run bench:release [-- --sessions N --backends sqlite,postgres --connections 16
 *   --warmup-seconds 5 --after-seconds 5 --postgres-url postgres://postgres@127.0.0.1:5432/postgres
 *   --skip-vacuum --output FILE]
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createPostgresDatabase, seedPostgres, seedSqlite } from '../lib/bulk-seed.js';
import {
  exited,
  ROOT,
  sleep,
  startService as startServiceProcess,
  stopProcess,
  withTimeout,
} from '../lib/child-processes.js';
import type { Service } from '../lib/child-processes.js';
import type { LoadMessage, LoadRecord } from '../lib/release-ingestion-load.js';

type Backend = 'sqlite' | 'postgres';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000000' },
    backends: { type: 'string', default: 'sqlite,postgres' },
    connections: { type: 'string', default: '16' },
    'warmup-seconds': { type: 'string', default: '5' },
    'after-seconds': { type: 'string', default: '5' },
    'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    'skip-vacuum': { type: 'boolean', default: false },
    output: { type: 'string' },
  },
});
const SESSIONS = Number(args.sessions);
const CONNECTIONS = Number(args.connections);
const WARMUP_MS = Number(args['warmup-seconds']) * 1000;
const AFTER_MS = Number(args['after-seconds']) * 1000;
const ADMIN_URL = args['postgres-url'];
const BACKENDS = args.backends.split(',').map((name): Backend => {
  if (name === 'sqlite' || name === 'postgres') return name;
  throw new Error(`--backends: unknown backend ${name}`);
});
const RESULTS_PER_SESSION = 5;
const RELEASE_GOAL_SECONDS = 10;
const LATENCY_GOAL_MS = 1000;

const now = (): number => performance.timeOrigin + performance.now();
const fmt = (n: number): string => n.toLocaleString('en-US');

// Everything a run creates (processes, databases, directories) is undone from here, also on Ctrl-C.
const cleanups: (() => Promise<void> | void)[] = [];
async function cleanUp(): Promise<void> {
  for (let undo = cleanups.pop(); undo; undo = cleanups.pop()) {
    try {
      await undo();
    } catch (error) {
      console.error('cleanup step failed:', error);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(130));
  });
}

const SHAPE = { sessions: SESSIONS, resultsPerSession: RESULTS_PER_SESSION, eventsPerSession: 1 };

function startService(databaseUrl: string): Promise<Service> {
  return startServiceProcess(databaseUrl, (undo) => cleanups.push(undo));
}

function isLoadMessage(message: unknown): message is LoadMessage {
  return typeof message === 'object' && message !== null && 'type' in message && typeof message.type === 'string';
}

interface Load {
  readonly stop: () => Promise<Extract<LoadMessage, { type: 'records' }>>;
}

async function startLoad(base: string, connections: number): Promise<Load> {
  const child = fork(
    fileURLToPath(new URL('../lib/release-ingestion-load.ts', import.meta.url)),
    [base, String(connections)],
    {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  cleanups.push(() => stopProcess(child));
  const messages: LoadMessage[] = [];
  const waiters: (() => void)[] = [];
  child.on('message', (message: unknown) => {
    if (isLoadMessage(message)) messages.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async <T extends LoadMessage['type']>(type: T): Promise<Extract<LoadMessage, { type: T }>> => {
    for (;;) {
      const found = messages.find((m): m is Extract<LoadMessage, { type: T }> => m.type === type);
      if (found) return found;
      if (child.exitCode !== null) throw new Error(`load process exited with ${child.exitCode}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        child.once('exit', () => {
          resolve();
        });
      });
    }
  };
  await withTimeout(next('started'), 30_000, 'load start');
  return {
    stop: async () => {
      child.send({ type: 'stop' });
      const records = await withTimeout(next('records'), 30_000, 'load records');
      await exited(child);
      return records;
    },
  };
}

interface Released {
  readonly status: number;
  readonly body: string;
  readonly batchId: string | null;
  readonly sessionCount: number | null;
}

async function release(base: string, releaseId: string): Promise<Released> {
  const response = await fetch(`${base}/api/v1/clickstream/internal/batch/release`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ release_id: releaseId }),
    signal: AbortSignal.timeout(300_000),
  });
  const body = await response.text();
  let batchId: string | null = null;
  let sessionCount: number | null = null;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) {
      if ('batch_id' in parsed && typeof parsed.batch_id === 'string') batchId = parsed.batch_id;
      if ('session_count' in parsed && typeof parsed.session_count === 'number') sessionCount = parsed.session_count;
    }
  } catch {
    // Reported through status and body.
  }
  return { status: response.status, body, batchId, sessionCount };
}

/** Nearest-rank percentile of ascending values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const field = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null ? (Object.entries(value).find(([k]) => k === key)?.[1] ?? null) : null;
const length = (value: unknown): number => (Array.isArray(value) ? value.length : -1);

/** Reads the first seeded sessions back through the API: the bulk rows must be what the service writes. */
async function readBack(base: string, batchId: string): Promise<string> {
  const checked = 3;
  const response = await fetch(
    `${base}/api/v1/clickstream/internal/batch/sessions?batch_id=${batchId}&limit=${checked}`,
    { signal: AbortSignal.timeout(30_000) },
  );
  const text = await response.text();
  if (!response.ok) return `**failed**: ${response.status} ${text.slice(0, 200)}`;
  const page: unknown = JSON.parse(text);
  const sessions = field(page, 'sessions');
  const problems: string[] = [];
  for (let n = 1; n <= checked; n++) {
    const session: unknown = Array.isArray(sessions) ? sessions[n - 1] : null;
    const id = `seed-${String(n).padStart(8, '0')}`;
    if (field(session, 'session_id') !== id) problems.push(`session ${n} is not ${id}`);
    else if (field(session, 'session_number') !== n)
      problems.push(`${id} has number ${String(field(session, 'session_number'))}`);
    else if (field(session, 'search_query') !== `query ${n}`) problems.push(`${id}: search_query`);
    else if (length(field(session, 'search_results')) !== RESULTS_PER_SESSION) problems.push(`${id}: results`);
    else if (length(field(session, 'events')) !== 1) problems.push(`${id}: events`);
  }
  return problems.length === 0 ? `sessions 1-${checked} read back as seeded` : `**wrong**: ${problems.join('; ')}`;
}

interface LatencySummary {
  readonly count: number;
  readonly maxMs: number;
  readonly p99Ms: number;
  readonly p50Ms: number;
  readonly non2xx: number;
  readonly unanswered: number;
}

function summarise(records: readonly LoadRecord[]): LatencySummary {
  const latencies = records.map((r) => r.doneAt - r.sentAt).sort((a, b) => a - b);
  return {
    count: records.length,
    maxMs: latencies.at(-1) ?? Number.NaN,
    p99Ms: percentile(latencies, 99),
    p50Ms: percentile(latencies, 50),
    non2xx: records.filter((r) => r.status !== 0 && (r.status < 200 || r.status > 299)).length,
    unanswered: records.filter((r) => r.status === 0).length,
  };
}

interface BackendResult {
  readonly backend: Backend;
  readonly seedSeconds: number;
  readonly releaseSeconds: number;
  readonly released: Released;
  readonly registeredByLoad: number;
  readonly window: LatencySummary;
  readonly whole: LatencySummary;
  readonly loadSeconds: number;
  readonly windowRate: number;
  readonly statusCounts: string;
  readonly connectionErrors: number;
  readonly errorSample: readonly string[];
  readonly lateInReleased: number;
  readonly readBack: string;
}

async function measure(backend: Backend, databaseUrl: string, seed: () => Promise<void>): Promise<BackendResult> {
  console.log(`[${backend}] seeding ${fmt(SESSIONS)} sessions ...`);
  const seedStarted = now();
  await seed();
  const seedSeconds = (now() - seedStarted) / 1000;
  console.log(`[${backend}] seeded in ${seedSeconds.toFixed(1)} s; starting the service`);

  const service = await startService(databaseUrl);
  const load = await startLoad(service.base, CONNECTIONS);
  const loadStarted = now();
  console.log(`[${backend}] load running on ${CONNECTIONS} connections; warm-up ${WARMUP_MS / 1000} s`);
  await sleep(WARMUP_MS);

  const releaseStarted = now();
  const released = await release(service.base, `bench-${randomBytes(8).toString('hex')}`);
  const releaseEnded = now();
  const releaseSeconds = (releaseEnded - releaseStarted) / 1000;
  console.log(`[${backend}] release answered ${released.status} in ${releaseSeconds.toFixed(3)} s: ${released.body}`);

  await sleep(AFTER_MS);
  const { records, errors, errorSample } = await load.stop();
  const loadSeconds = (now() - loadStarted) / 1000;
  const readBackVerdict = released.batchId === null ? 'no batch' : await readBack(service.base, released.batchId);
  await stopProcess(service.child);
  if (released.status !== 200) throw new Error(`release failed: ${released.status} ${released.body}`);

  // In flight at any moment of the release: sent before it was answered, answered after it was sent.
  const during = records.filter((r) => r.sentAt <= releaseEnded && r.doneAt >= releaseStarted);
  const inReleased = records.filter((r) => r.kind === 'register' && r.batchId === released.batchId);
  const statuses = new Map<number, number>();
  for (const r of records) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  return {
    backend,
    seedSeconds,
    releaseSeconds,
    released,
    registeredByLoad: inReleased.length,
    window: summarise(during),
    whole: summarise(records),
    loadSeconds,
    windowRate: records.filter((r) => r.doneAt >= releaseStarted && r.doneAt <= releaseEnded).length / releaseSeconds,
    statusCounts: [...statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status === 0 ? 'in flight when the load stopped' : status}: ${fmt(count)}`)
      .join(', '),
    connectionErrors: errors,
    errorSample,
    // Registrations sent after the release had answered must be in the next batch.
    lateInReleased: inReleased.filter((r) => r.sentAt > releaseEnded).length,
    readBack: readBackVerdict,
  };
}

async function runSqlite(): Promise<BackendResult> {
  const dir = mkdtempSync(join(tmpdir(), 'clickstream-release-bench-'));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'bench.db');
  return measure('sqlite', `sqlite:${path}`, () => {
    seedSqlite(path, SHAPE);
    return Promise.resolve();
  });
}

async function runPostgres(): Promise<BackendResult> {
  const database = await createPostgresDatabase(ADMIN_URL, 'clickstream_bench');
  cleanups.push(database.drop);
  return measure('postgres', database.url, () => seedPostgres(database.url, SHAPE, !args['skip-vacuum']));
}

const pass = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
const ms = (value: number): string => `${value.toFixed(1)} ms`;

function table(result: BackendResult): string {
  const { window: w, whole, released } = result;
  const expected = SESSIONS + result.registeredByLoad;
  const seeding =
    result.backend === 'postgres'
      ? `bulk INSERT ... SELECT generate_series${args['skip-vacuum'] ? '' : ', then VACUUM ANALYZE'}`
      : 'bulk INSERT ... SELECT recursive CTE, one transaction';
  const rows: [string, string, string][] = [
    [`seeding ${fmt(SESSIONS)} sessions (${seeding}; not part of the goal)`, `${result.seedSeconds.toFixed(1)} s`, ''],
    ['seeded rows, read back through GET /batch/sessions after the release', result.readBack, ''],
    [
      'release, client wall time',
      `${result.releaseSeconds.toFixed(3)} s`,
      `< ${RELEASE_GOAL_SECONDS} s: **${pass(result.releaseSeconds < RELEASE_GOAL_SECONDS)}**`,
    ],
    [
      'session_count returned',
      `${fmt(released.sessionCount ?? Number.NaN)} (${fmt(SESSIONS)} seeded + ${fmt(result.registeredByLoad)} registered by the load before the release)`,
      released.sessionCount === expected ? 'as expected' : `**WRONG**: expected ${fmt(expected)}`,
    ],
    ['load requests in flight during the release', fmt(w.count), ''],
    [
      'max latency of those',
      ms(w.maxMs),
      `<= ${LATENCY_GOAL_MS / 1000} s: **${pass(w.maxMs <= LATENCY_GOAL_MS && w.unanswered === 0)}**`,
    ],
    ['p99 / p50 latency of those', `${ms(w.p99Ms)} / ${ms(w.p50Ms)}`, ''],
    ['load requests answered per second during the release', result.windowRate.toFixed(0), ''],
    ['non-2xx / unanswered during the release', `${fmt(w.non2xx)} / ${fmt(w.unanswered)}`, ''],
    [
      'whole load run',
      `${fmt(whole.count)} requests in ${result.loadSeconds.toFixed(1)} s (${(whole.count / result.loadSeconds).toFixed(0)}/s), max ${ms(whole.maxMs)}, p99 ${ms(whole.p99Ms)}`,
      '',
    ],
    ['statuses over the whole run', result.statusCounts, ''],
    ['connection errors / timeouts', fmt(result.connectionErrors), result.errorSample.join('; ')],
    [
      'registrations sent after the release answered that landed in the released batch',
      fmt(result.lateInReleased),
      result.lateInReleased === 0 ? 'none, as the contract says' : '**contract broken**',
    ],
  ];
  return [
    `### ${result.backend}`,
    '',
    '| measure | value | goal |',
    '| --- | --- | --- |',
    ...rows.map(([a, b, c]) => `| ${a} | ${b} | ${c} |`),
    '',
  ].join('\n');
}

async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await client.connect();
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return `PostgreSQL ${rows[0]?.v ?? '?'}`;
  } catch {
    return 'PostgreSQL not reachable';
  } finally {
    await client.end().catch(() => undefined);
  }
}

const results: BackendResult[] = [];
const failures: string[] = [];
for (const backend of BACKENDS) {
  try {
    results.push(backend === 'sqlite' ? await runSqlite() : await runPostgres());
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`[${backend}] failed: ${message}`);
    failures.push(`### ${backend}\n\nfailed: \`${message.split('\n')[0] ?? ''}\`\n`);
  } finally {
    await cleanUp();
  }
}

const date = new Date().toISOString().slice(0, 10);
const command =
  process.argv.length > 2 ? `npm run bench:release -- ${process.argv.slice(2).join(' ')}` : 'npm run bench:release';
const report = [
  `## Release of a ${fmt(SESSIONS)}-session batch under ingestion load (${date})`,
  '',
  [
    `Command: \`${command}\`.`,
    `Goal: the release answers in under ${RELEASE_GOAL_SECONDS} s and no ingestion request in flight during it`,
    `waits more than ${LATENCY_GOAL_MS / 1000} s. Each seeded session has ${RESULTS_PER_SESSION} results and 1 event.`,
    `The load (bench/lib/release-ingestion-load.ts: autocannon, ${CONNECTIONS} connections, a process of its`,
    `own) registers a session with ${RESULTS_PER_SESSION} results, then posts 1 event to it, in a loop; the`,
    `release is posted after ${WARMUP_MS / 1000} s of load, which goes on ${AFTER_MS / 1000} s after the release answered.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version},`,
    `${await postgresVersion()} (default settings); service, load and database on the same machine.`,
  ].join(' '),
  '',
  ...results.map(table),
  ...failures,
].join('\n');
const output = args.output ?? join(ROOT, 'bench', 'results', `${date}-release-million.md`);
mkdirSync(dirname(output), { recursive: true });
writeFileSync(output, `${report}\n`);
console.log(`\n${report}\nwritten to ${output}`);
if (failures.length > 0) process.exitCode = 1;
