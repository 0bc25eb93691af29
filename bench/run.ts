/**
 * Throughput benchmark of the service against a ceiling, per backend (`npm run bench`).
 *
 * For each backend the service runs in a process of its own (`node dist/main.js`) on a fresh store per
 * scenario, and wrk (Debian's package, bench/load.lua; see bench/README.md for why not autocannon) drives it
 * from another process. The ceiling is bench/lib/ceiling-server.ts, a bare node:http server in its own process
 * that reads and JSON-parses the same bodies, driven by the same wrk with the same script. The floor is
 * bench/lib/floor-server.ts, the service's own HTTP application over a store that keeps nothing: the best ratio
 * any store could give on this machine. Each scenario runs in rounds (--rounds, 3): the ceiling, the floor,
 * then the service, each a warm-up and a measured run; the round with the median ratio is reported, so that
 * a machine whose speed drifts (a shared host) is compared with itself minutes, not half an hour, apart.
 * Scenarios:
 *   events    POST /session/events, 2 events per request, over sessions registered first through the API
 *   sessions  POST /session with 20 results, a new session_id per request
 *   mixed     a registration, then two event posts for that session (sent once it was answered)
 *   pages     GET /internal/batch/sessions of a released batch seeded by bulk SQL, following last_number
 *   export    `clickstream export` of such a batch to a file, timed, peak RSS by GNU time
 *   metrics   the events (or sessions) load against two services, CLICKSTREAM_METRICS=1 and =0, on fresh
 *             SQLite stores, in interleaved rounds (--metrics-rounds, 5): each round's on/off req/s ratio,
 *             their median against 0.95 (SQLite only: there the service is CPU-bound, so the metrics' cost
 *             shows in full)
 *   flood     the events load of (a) alone, then beside a flood of rejected requests (each recorded by the
 *             events debugger) against a service with the debugger on and one with it off (CLICKSTREAM_DEBUG_EVENTS=0):
 *             accepted req/s during the flood beside the figure without it, and the debugger's table after it
 * Service peak RSS: VmRSS of its process sampled every 100 ms and VmHWM, from its start (including the
 * preparation) to the end of the measured run. Results: stdout and bench/results/<date>-<backend>.md.
 *
 * Usage: npm run bench [-- --backends sqlite,postgres --scenarios events,sessions,mixed,pages,export,metrics
 *   --rounds 3 --metrics-rounds 5 --metrics-load events --duration 10 --warmup 2 --connections 64
 *   --wrk-threads 1 --registered-sessions 10000 --batch-sessions 100000 --page-limit 100 --quiet-wait 30
 *   --log-level info --postgres-url postgres://postgres@127.0.0.1:5432/postgres --output-dir bench/results]
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createPostgresDatabase, seedPostgres, seedSqlite } from './lib/bulk-seed.js';
import { exited, ROOT, startBenchServer, startService, stopProcess } from './lib/child-processes.js';
import type { Service } from './lib/child-processes.js';
import { machineCpuSeconds, processMemoryBytes, waitForQuietMachine } from './lib/proc-stats.js';
import { runWrk, wrkVersion } from './lib/wrk-runner.js';
import type { WrkResult } from './lib/wrk-runner.js';

const BACKENDS = ['sqlite', 'postgres'] as const;
type Backend = (typeof BACKENDS)[number];
const SCENARIOS = ['events', 'sessions', 'mixed', 'pages', 'export', 'metrics', 'flood'] as const;
type ScenarioName = (typeof SCENARIOS)[number];
/** Scenarios whose requests the ceiling server can answer like the service (same bodies, small answers). */
const WITH_CEILING: readonly ScenarioName[] = ['events', 'sessions', 'mixed'];
/** The loads the metrics scenario can compare metrics on and off with. */
const METRICS_LOADS = ['events', 'sessions'] as const;

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string', default: BACKENDS.join(',') },
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    rounds: { type: 'string', default: '3' },
    'metrics-rounds': { type: 'string', default: '5' },
    'metrics-load': { type: 'string', default: 'events' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    'wrk-threads': { type: 'string', default: '1' },
    'registered-sessions': { type: 'string', default: '10000' },
    'batch-sessions': { type: 'string', default: '100000' },
    'page-limit': { type: 'string', default: '100' },
    'quiet-wait': { type: 'string', default: '30' },
    'log-level': { type: 'string', default: 'info' },
    'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    'output-dir': { type: 'string', default: join(ROOT, 'bench', 'results') },
  },
});

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: a positive integer, got ${value}`);
  return n;
}
function listOf<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  return value.split(',').map((item): T => {
    const found = allowed.find((a) => a === item.trim());
    if (found === undefined) throw new Error(`--${name}: unknown ${item}; one of ${allowed.join(', ')}`);
    return found;
  });
}

const ROUNDS = positive('rounds', args.rounds);
const METRICS_ROUNDS = positive('metrics-rounds', args['metrics-rounds']);
const METRICS_LOAD = METRICS_LOADS.find((load) => load === args['metrics-load']);
if (METRICS_LOAD === undefined) {
  throw new Error(`--metrics-load: one of ${METRICS_LOADS.join(', ')}, got ${args['metrics-load']}`);
}
const DURATION = positive('duration', args.duration);
const WARMUP = positive('warmup', args.warmup);
const CONNECTIONS = positive('connections', args.connections);
const WRK_THREADS = positive('wrk-threads', args['wrk-threads']);
const REGISTERED = positive('registered-sessions', args['registered-sessions']);
const BATCH_SESSIONS = positive('batch-sessions', args['batch-sessions']);
const PAGE_LIMIT = positive('page-limit', args['page-limit']);
const QUIET_WAIT_S = Number(args['quiet-wait']);
const ADMIN_URL = args['postgres-url'];
const RUN_BACKENDS = listOf('backends', args.backends, BACKENDS);
const RUN_SCENARIOS = listOf('scenarios', args.scenarios, SCENARIOS);
const RESULTS = 20;
const BATCH_EVENTS = 2;
/** Other work on the machine above this (cores) is called out next to the figures it may have lowered. */
const BUSY_MACHINE_CORES = 0.25;
const MB = 1_000_000;
const RSS_GOAL_BYTES = 300 * MB;
const EXPORT_GOAL_RATE = 20_000;
const P99_GOAL_MS = 25;
const RATIO_GOALS: Record<Backend, { events: number; sessions: number }> = {
  sqlite: { events: 0.6, sessions: 0.5 },
  postgres: { events: 0.35, sessions: 0.3 },
};
/** Metrics on must serve at least this share of metrics off's req/s (issue 19). */
const METRICS_GOAL = 0.95;
/** The backends the metrics scenario runs on. */
const METRICS_BACKENDS: readonly Backend[] = ['sqlite'];

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '—';
const mb = (bytes: number | null): string => (bytes === null ? '—' : `${fmt(bytes / MB)} MB`);
const tag = (): string => randomBytes(4).toString('hex');

// ---------------------------------------------------------------------------------------------------------
// Everything a run creates (processes, databases, directories) is undone from here, also on failure and
// Ctrl-C. Scenarios unwind to their own mark, so each leaves nothing behind for the next.
const cleanups: (() => Promise<void> | void)[] = [];
const register = (undo: () => Promise<void> | void): void => {
  cleanups.push(undo);
};
async function unwindTo(mark: number): Promise<void> {
  while (cleanups.length > mark) {
    const undo = cleanups.pop();
    try {
      await undo?.();
    } catch (error) {
      console.error('cleanup step failed:', error);
    }
  }
}
const run = { interrupted: false };
const interrupted = (): boolean => run.interrupted;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    run.interrupted = true;
    console.error(`\n${signal}: stopping, cleaning up ...`);
    void unwindTo(0).finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Stores.

interface Store {
  readonly url: string;
  /** A scratch directory of the scenario (SQLite file, export output). */
  readonly dir: string;
  /** PostgreSQL database name, for finding its backends' processes. */
  readonly database: string | null;
}

async function freshStore(backend: Backend): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'clickstream-bench-'));
  register(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  if (backend === 'sqlite') return { url: `sqlite:${join(dir, 'bench.db')}`, dir, database: null };
  const database = await createPostgresDatabase(ADMIN_URL, 'clickstream_bench');
  register(database.drop);
  return { url: database.url, dir, database: new URL(database.url).pathname.slice(1) };
}

/** Seeds BATCH_SESSIONS sessions (20 results, 2 events each) into the collecting batch by bulk SQL. */
async function seedBatch(backend: Backend, store: Store): Promise<number> {
  const started = performance.now();
  const shape = { sessions: BATCH_SESSIONS, resultsPerSession: RESULTS, eventsPerSession: BATCH_EVENTS };
  if (backend === 'sqlite') seedSqlite(store.url.slice('sqlite:'.length), shape);
  else await seedPostgres(store.url, shape, true);
  return (performance.now() - started) / 1000;
}

/** PIDs of the PostgreSQL backends serving the database (the service's pool), to count their CPU. */
async function postgresBackendPids(database: string | null): Promise<number[]> {
  if (database === null) return [];
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
      database,
    ]);
    return rows.map((r) => r.pid);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------------
// The service and what it is asked.

function resultsOf(count: number): { object_id: string; rank: number }[] {
  return Array.from({ length: count }, (_, i) => ({ object_id: `obj-${i}`, rank: Number((1 / (i + 1)).toFixed(4)) }));
}

async function postJson(url: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, text: await response.text() };
}

/** Registers `count` sessions `<prefix>0 ...` (20 results each) through the API, 32 at a time. */
async function registerSessions(base: string, prefix: string, count: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const { status, text } = await postJson(`${base}/api/v1/clickstream/session`, {
        session_id: `${prefix}${i}`,
        search_query: `bench query ${i}`,
        search_results: resultsOf(RESULTS),
        search_meta: { source: 'bench' },
        user_id: `bench-user-${i % 1000}`,
      });
      if (status !== 200) throw new Error(`registering ${prefix}${i}: ${status} ${text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return (performance.now() - started) / 1000;
}

async function releaseThroughApi(base: string, expected: number): Promise<string> {
  const { status, text } = await postJson(`${base}/api/v1/clickstream/internal/batch/release`, {
    release_id: `bench-${tag()}`,
  });
  if (status !== 200) throw new Error(`release: ${status} ${text.slice(0, 300)}`);
  return batchIdOf(text, expected);
}

function batchIdOf(text: string, expected: number): string {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || !('batch_id' in parsed) || !('session_count' in parsed)) {
    throw new Error(`release answered ${text.slice(0, 300)}`);
  }
  if (parsed.session_count !== expected) {
    throw new Error(`release counted ${String(parsed.session_count)} sessions, not ${expected}`);
  }
  if (typeof parsed.batch_id !== 'string') throw new Error(`release answered ${text.slice(0, 300)}`);
  return parsed.batch_id;
}

/** Samples the service's VmRSS every 100 ms; peak() also takes the kernel's own high-water mark. */
function rssSampler(pid: number): { readonly peak: () => number | null } {
  let max: number | null = null;
  const sample = (): void => {
    const rss = processMemoryBytes(pid, 'VmRSS');
    if (rss !== null && (max === null || rss > max)) max = rss;
  };
  sample();
  const timer = setInterval(sample, 100);
  register(() => {
    clearInterval(timer);
  });
  return {
    peak: () => {
      sample();
      const hwm = processMemoryBytes(pid, 'VmHWM');
      return hwm === null ? max : Math.max(hwm, max ?? 0);
    },
  };
}

const waitForQuiet = (ours: readonly number[]): Promise<number> =>
  waitForQuietMachine(ours, QUIET_WAIT_S, BUSY_MACHINE_CORES);

interface Target {
  readonly base: string;
  readonly pid: number;
  /** Processes working for the target besides itself (PostgreSQL backends). */
  readonly helpers: () => Promise<number[]>;
}

/** A warm-up run, then the measured run, of one load.lua scenario against the target. */
async function drive(target: Target, script: Readonly<Record<string, string | number>>): Promise<WrkResult> {
  await waitForQuiet([target.pid, ...(await target.helpers())]);
  const common = { url: target.base, threads: WRK_THREADS, connections: CONNECTIONS, register };
  await runWrk({ ...common, seconds: WARMUP, script: { ...script, tag: `w${tag()}` }, watch: new Map() });
  const helpers = await target.helpers();
  return runWrk({
    ...common,
    seconds: DURATION,
    script: { ...script, tag: `m${tag()}` },
    watch: new Map([
      ['target', [target.pid]],
      ['db', helpers],
    ]),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios.

interface Measured {
  readonly name: ScenarioName;
  readonly wrk: WrkResult | null;
  readonly ceiling: WrkResult | null;
  /** The floor's run in the same round as the ceiling's (bench/lib/floor-server.ts). */
  readonly floor: WrkResult | null;
  readonly rps: number;
  readonly eventsPerSecond: number | null;
  readonly sessionsPerSecond: number | null;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serviceRss: number | null;
  readonly exportRss: number | null;
  readonly failed: number;
  readonly cpu: string;
  readonly busy: boolean;
  readonly notes: readonly string[];
  /** The metrics scenario's rounds: on against off. */
  readonly onOff?: readonly OnOffRound[];
  /** The flood scenario's rounds, and the rows of the debugger's table after them. */
  readonly flood?: readonly FloodRound[];
  readonly debugRows?: number;
}

interface Failed {
  readonly name: ScenarioName;
  readonly error: string;
}

const DESCRIPTIONS: Record<ScenarioName, () => string> = {
  events: () =>
    `(a) POST /session/events, 2 events per request (unique event ids), spread over ${fmt(REGISTERED)} sessions registered through the API first`,
  sessions: () => `(b) POST /session with ${RESULTS} results, a new session_id per request`,
  mixed: () =>
    '(c) mixed: POST /session, then two POST /session/events for that session (each sent once the registration was answered)',
  pages: () =>
    `(d) GET /internal/batch/sessions, limit=${PAGE_LIMIT}, of a released ${fmt(BATCH_SESSIONS)}-session batch (${RESULTS} results, ${BATCH_EVENTS} events each; seeded by bulk SQL): one reader per connection, each following last_number from its own start, wrapping at the end`,
  export: () =>
    `(e) \`clickstream export --output FILE\` of a released ${fmt(BATCH_SESSIONS)}-session batch (as in (d)), one process, after the service stopped`,
  flood: () =>
    `(g) accepted requests during a flood of rejected ones: two services started alike on fresh stores, the events debugger on (the default) and off (CLICKSTREAM_DEBUG_EVENTS=0); in ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}, the load of (a) against the first alone ("quiet"), then against each beside a flood of POST /session/events that are rejected (400, an event without object_id, each naming a session of its own) from another wrk with ${floodConnections()} connections, started before the load's warm-up and ending after its measured run; the figures are the median round's (by flooded/quiet req/s)`,
  metrics: () =>
    `(f) metrics on against off: the load of ${METRICS_LOAD === 'events' ? '(a)' : '(b)'} against two services started alike on fresh SQLite stores, one with CLICKSTREAM_METRICS=1 and one with CLICKSTREAM_METRICS=0, in ${METRICS_ROUNDS} interleaved rounds (on then off, then off then on, ...), each run with its warm-up; a round's ratio is on's req/s over off's, the figures are the median round's (the lower middle for an even count), no scraper during the runs`,
};

function cpuSummary(result: WrkResult, targetName: string): { text: string; busy: boolean } {
  const target = result.cpu.get('target') ?? Number.NaN;
  const generator = result.cpu.get('generator') ?? Number.NaN;
  const db = result.cpu.get('db') ?? 0;
  const other = Math.max(0, result.machineCpu - target - generator - db);
  const parts = [`${targetName} ${target.toFixed(2)}`, `wrk ${generator.toFixed(2)}`];
  if (result.cpu.get('db') !== undefined && db > 0) parts.push(`pg backends ${db.toFixed(2)}`);
  parts.push(`other ${other.toFixed(2)}`);
  return { text: parts.join(', '), busy: other >= BUSY_MACHINE_CORES };
}

function failedCount(result: WrkResult): number {
  return result.non2xx + result.socketErrors + result.timeouts;
}

function failureNotes(what: string, result: WrkResult): string[] {
  if (failedCount(result) === 0) return [];
  const statuses = [...result.statuses].map(([status, count]) => `${status}: ${fmt(count)}`).join(', ');
  return [
    `**${what} HAD ERRORS**: ${fmt(result.non2xx)} non-2xx answers, ${fmt(result.socketErrors)} socket errors, ` +
      `${fmt(result.timeouts)} timeouts (statuses ${statuses})` +
      (result.samples.length > 0 ? `; first answers: ${result.samples.map((s) => `\`${s}\``).join(' ')}` : ''),
  ];
}

async function serviceScenario(
  backend: Backend,
  name: Exclude<ScenarioName, 'export' | 'metrics' | 'flood'>,
  references: References | null,
): Promise<Measured> {
  const store = await freshStore(backend);
  const notes: string[] = [];
  let batchId = '';
  if (name === 'pages') {
    const seconds = await seedBatch(backend, store);
    notes.push(`seeded ${fmt(BATCH_SESSIONS)} sessions in ${seconds.toFixed(1)} s`);
  }
  const service: Service = await startService(store.url, register, { CLICKSTREAM_LOG_LEVEL: args['log-level'] });
  const pid = service.child.pid ?? -1;
  const rss = rssSampler(pid);
  const prefix = `pre-${tag()}-`;
  let script: Record<string, string | number>;
  switch (name) {
    case 'events': {
      const seconds = await registerSessions(service.base, prefix, REGISTERED);
      notes.push(`registered ${fmt(REGISTERED)} sessions through the API in ${seconds.toFixed(1)} s`);
      script = { scenario: 'events', sessions: REGISTERED, prefix };
      break;
    }
    case 'sessions':
      script = { scenario: 'sessions', results: RESULTS };
      break;
    case 'mixed':
      script = { scenario: 'mixed', results: RESULTS };
      break;
    case 'pages':
      batchId = await releaseThroughApi(service.base, BATCH_SESSIONS);
      script = {
        scenario: 'pages',
        batch: batchId,
        limit: PAGE_LIMIT,
        sessions: BATCH_SESSIONS,
        readers: Math.ceil(CONNECTIONS / WRK_THREADS),
      };
      break;
  }
  const target: Target = { base: service.base, pid, helpers: () => postgresBackendPids(store.database) };
  const rounds: Round[] = [];
  for (let round = 1; round <= ROUNDS && !interrupted(); round++) {
    const compared = references !== null && WITH_CEILING.includes(name);
    const against = compared ? await measureReference(references.ceiling, 'ceiling', name, round, notes) : null;
    const floor =
      compared && references.floor ? await measureReference(references.floor, 'floor', name, round, notes) : null;
    const measured = { service: await drive(target, script), ceiling: against, floor };
    rounds.push(measured);
    console.log(`   round ${round}: ${roundSummary(measured)}`);
  }
  const serviceRss = rss.peak();
  if (service.child.exitCode !== null) throw new Error(`the service died: ${service.output()}`);
  await stopProcess(service.child);
  const { service: result, ceiling: ceilingResult, floor: floorResult } = medianRound(rounds);
  const cpu = cpuSummary(result, 'service');
  const seconds = result.seconds;
  if (rounds.length > 1) notes.push(`rounds: ${rounds.map(roundSummary).join('; ')}; the median round is reported`);
  return {
    name,
    wrk: result,
    ceiling: ceilingResult,
    floor: floorResult,
    rps: result.requests / seconds,
    eventsPerSecond: name === 'events' || name === 'mixed' ? result.eventsStored / seconds : null,
    sessionsPerSecond:
      name === 'pages' ? result.sessionsRead / seconds : name === 'events' ? null : result.sessionsOk / seconds,
    p50Ms: result.latencyMs.p50,
    p99Ms: result.latencyMs.p99,
    serviceRss,
    exportRss: null,
    // Every round counts: a failed request in any of them fails the scenario.
    failed: rounds.reduce((sum, r) => sum + failedCount(r.service), 0),
    cpu: cpu.text,
    busy: cpu.busy,
    notes: [...notes, ...rounds.flatMap((r, i) => failureNotes(`scenario ${name}, round ${i + 1}`, r.service))],
  };
}

/** One round of a scenario: the ceiling and the floor (for scenarios that have them), then the service. */
interface Round {
  readonly service: WrkResult;
  readonly ceiling: WrkResult | null;
  readonly floor: WrkResult | null;
}

const perSecond = (r: WrkResult): number => r.requests / r.seconds;
/** The service's req/s over the ceiling's in the same round; its own req/s where there is no ceiling. */
const roundScore = (r: Round): number =>
  r.ceiling ? perSecond(r.service) / perSecond(r.ceiling) : perSecond(r.service);

/** The floor's req/s over the ceiling's in the same round, as text; null without either. */
const floorRatio = (r: Pick<Round, 'ceiling' | 'floor'>): string | null =>
  r.ceiling && r.floor ? (perSecond(r.floor) / perSecond(r.ceiling)).toFixed(2) : null;

function roundSummary(r: Round): string {
  const ratio = floorRatio(r);
  const floor = ratio === null ? '' : ` (floor ${ratio})`;
  return r.ceiling
    ? `${fmt(perSecond(r.service))} / ${fmt(perSecond(r.ceiling))} req/s = ${roundScore(r).toFixed(2)}${floor}`
    : `${fmt(perSecond(r.service))} req/s`;
}

/**
 * The round with the median score (the lower middle one for an even count), among the rounds with a ceiling
 * when any has one (a round whose ceiling failed has no ratio).
 */
function medianRound(rounds: readonly Round[]): Round {
  const withCeiling = rounds.filter((r) => r.ceiling !== null);
  const candidates = withCeiling.length > 0 ? withCeiling : rounds;
  const sorted = [...candidates].sort((a, b) => (roundScore(a) || 0) - (roundScore(b) || 0));
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  if (!middle) throw new Error('the scenario was interrupted before its first round');
  return middle;
}

/**
 * The ceiling's or the floor's run of a round. One that fails (or answers errors) leaves the round without
 * that ratio and says so in the notes; it does not fail the service's scenario.
 */
async function measureReference(
  reference: Target,
  what: 'ceiling' | 'floor',
  name: ScenarioName,
  round: number,
  notes: string[],
): Promise<WrkResult | null> {
  try {
    const result = await drive(reference, referenceScript(name));
    if (failedCount(result) === 0) return result;
    notes.push(...failureNotes(`its ${what}, round ${round} (left out)`, result));
  } catch (error) {
    notes.push(`**its ${what} failed in round ${round}**: ${error instanceof Error ? error.message : String(error)}`);
  }
  return null;
}

/**
 * What the ceiling and the floor are driven with for a scenario: the same requests as the service gets (the
 * events go to sessions neither knows, and both answer them as stored).
 */
function referenceScript(name: ScenarioName): Record<string, string | number> {
  return name === 'events'
    ? { scenario: 'events', sessions: REGISTERED, prefix: `pre-${tag()}-` }
    : { scenario: name, results: RESULTS };
}

// ---------------------------------------------------------------------------------------------------------
// (f) Metrics on against off.

type Side = 'on' | 'off';

/** One round of the metrics scenario: the same load against the service with metrics on and with them off. */
interface OnOffRound {
  readonly on: WrkResult;
  readonly off: WrkResult;
  /** Which ran first: they alternate from round to round, so that a machine drifting one way favours neither. */
  readonly first: Side;
}

const onOffRatio = (r: OnOffRound): number => perSecond(r.on) / perSecond(r.off);

/** The median of the rounds' ratios (the lower middle one for an even count), and their lowest and highest. */
function onOffSummary(rounds: readonly OnOffRound[]): { median: number; min: number; max: number } {
  const ratios = rounds.map(onOffRatio).sort((a, b) => a - b);
  return {
    median: ratios[Math.floor((ratios.length - 1) / 2)] ?? Number.NaN,
    min: ratios[0] ?? Number.NaN,
    max: ratios.at(-1) ?? Number.NaN,
  };
}

/** The service's CPU per request over the measured run, in µs (steadier than req/s on a drifting machine). */
const cpuPerRequestUs = (r: WrkResult): number => ((r.cpu.get('target') ?? Number.NaN) / perSecond(r)) * 1e6;

function onOffRoundSummary(r: OnOffRound): string {
  return (
    `${r.first} first: on ${fmt(perSecond(r.on))} / off ${fmt(perSecond(r.off))} req/s = ${onOffRatio(r).toFixed(3)}` +
    ` (CPU ${fmt(cpuPerRequestUs(r.on))} / ${fmt(cpuPerRequestUs(r.off))} µs per request)`
  );
}

async function expectStatus(base: string, path: string, status: number): Promise<string> {
  const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (response.status !== status)
    throw new Error(`GET ${path}: ${response.status}, not ${status}: ${text.slice(0, 300)}`);
  return text;
}

/**
 * (f): two services started alike, each on a fresh store, one with CLICKSTREAM_METRICS=1 and one with =0,
 * both alive throughout; in each round both get the same load (each its warm-up, then its measured run),
 * on first in odd rounds and off first in even ones. Nothing scrapes during the runs: what is measured is
 * the recording on every request and every group commit; one scrape is timed after the rounds.
 */
async function metricsScenario(backend: Backend): Promise<Measured> {
  const notes: string[] = [];
  const start = async (metrics: '1' | '0') => {
    const store = await freshStore(backend);
    const service = await startService(store.url, register, {
      CLICKSTREAM_LOG_LEVEL: args['log-level'],
      CLICKSTREAM_METRICS: metrics,
    });
    const target: Target = {
      base: service.base,
      pid: service.child.pid ?? -1,
      helpers: () => postgresBackendPids(store.database),
    };
    return { service, target };
  };
  const sides = { on: await start('1'), off: await start('0') };
  // Each is what it is said to be.
  await expectStatus(sides.on.service.base, '/metrics', 200);
  await expectStatus(sides.off.service.base, '/metrics', 404);
  const rss = rssSampler(sides.on.target.pid);
  const scripts: Record<Side, Record<string, string | number>> = { on: {}, off: {} };
  for (const side of ['on', 'off'] as const) {
    if (METRICS_LOAD === 'sessions') {
      scripts[side] = { scenario: 'sessions', results: RESULTS };
      continue;
    }
    const prefix = `pre-${tag()}-`;
    const seconds = await registerSessions(sides[side].service.base, prefix, REGISTERED);
    notes.push(
      `registered ${fmt(REGISTERED)} sessions through the API into ${side}'s store in ${seconds.toFixed(1)} s`,
    );
    scripts[side] = { scenario: 'events', sessions: REGISTERED, prefix };
  }
  const rounds: OnOffRound[] = [];
  for (let round = 1; round <= METRICS_ROUNDS && !interrupted(); round++) {
    const first: Side = round % 2 === 1 ? 'on' : 'off';
    const order: readonly Side[] = first === 'on' ? ['on', 'off'] : ['off', 'on'];
    const runs: Partial<Record<Side, WrkResult>> = {};
    for (const side of order) runs[side] = await drive(sides[side].target, scripts[side]);
    if (!runs.on || !runs.off) throw new Error(`round ${round} ran without one of its sides`);
    const measured: OnOffRound = { on: runs.on, off: runs.off, first };
    rounds.push(measured);
    console.log(`   round ${round}: ${onOffRoundSummary(measured)}`);
  }
  const serviceRss = rss.peak();
  for (const side of ['on', 'off'] as const) {
    const { child, output } = sides[side].service;
    if (child.exitCode !== null) throw new Error(`the service with metrics ${side} died: ${output()}`);
  }
  const scrapeStarted = performance.now();
  const scraped = await expectStatus(sides.on.service.base, '/metrics', 200);
  const scrapeMs = performance.now() - scrapeStarted;
  const sample = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(scraped)?.[1] ?? Number.NaN);
  const commits = sample('clickstream_group_commit_size_count');
  const writes = sample('clickstream_group_commit_size_sum');
  notes.push(
    `on's /metrics after the rounds answered in ${scrapeMs.toFixed(1)} ms; its store committed ${fmt(writes)} writes in ${fmt(commits)} group commits (${(writes / commits).toFixed(1)} per commit)`,
  );
  await stopProcess(sides.on.service.child);
  await stopProcess(sides.off.service.child);
  const summary = onOffSummary(rounds);
  const median = rounds.find((r) => onOffRatio(r) === summary.median);
  if (!median) throw new Error('the scenario was interrupted before its first round');
  const verdict = summary.median >= METRICS_GOAL ? 'PASS' : 'MISS';
  console.log(
    `   metrics on/off: median ${summary.median.toFixed(3)} of ${rounds.length} round${rounds.length > 1 ? 's' : ''} (spread ${summary.min.toFixed(3)}-${summary.max.toFixed(3)}): ${verdict} (goal >= ${METRICS_GOAL})`,
  );
  const cpu = cpuSummary(median.on, 'service (on)');
  const result = median.on;
  return {
    name: 'metrics',
    wrk: result,
    ceiling: null,
    floor: null,
    rps: perSecond(result),
    eventsPerSecond: METRICS_LOAD === 'events' ? result.eventsStored / result.seconds : null,
    sessionsPerSecond: METRICS_LOAD === 'sessions' ? result.sessionsOk / result.seconds : null,
    p50Ms: result.latencyMs.p50,
    p99Ms: result.latencyMs.p99,
    serviceRss,
    exportRss: null,
    failed: rounds.reduce((sum, r) => sum + failedCount(r.on) + failedCount(r.off), 0),
    cpu: cpu.text,
    busy: cpu.busy,
    notes: [
      ...notes,
      `rounds: ${rounds.map(onOffRoundSummary).join('; ')}; the median round is reported (metrics on)`,
      ...rounds.flatMap((r, i) => [
        ...failureNotes(`scenario metrics, round ${i + 1}, metrics on`, r.on),
        ...failureNotes(`scenario metrics, round ${i + 1}, metrics off`, r.off),
      ]),
    ],
    onOff: rounds,
  };
}

// ---------------------------------------------------------------------------------------------------------
// (g) Accepted requests during a flood of rejected ones (the events debugger).

/** One round of the flood scenario: the events load alone, and beside a flood, debugger on and off. */
interface FloodRound {
  /** The events load, no flood, debugger on. */
  readonly quiet: WrkResult;
  /** The events load during the flood, debugger on (CLICKSTREAM_DEBUG_EVENTS=1, the default). */
  readonly on: WrkResult;
  /** The same with CLICKSTREAM_DEBUG_EVENTS=0: what the flood costs without the debugger. */
  readonly off: WrkResult;
  /** The floods beside `on` and `off`. */
  readonly floodOn: WrkResult;
  readonly floodOff: WrkResult;
}

/** Connections of the flood beside the events load's CONNECTIONS. */
const floodConnections = (): number => Math.max(1, Math.floor(CONNECTIONS / 2));
const floodRatio = (r: FloodRound): number => perSecond(r.on) / perSecond(r.quiet);

function floodRoundSummary(r: FloodRound): string {
  return (
    `quiet ${fmt(perSecond(r.quiet))}, flooded ${fmt(perSecond(r.on))} (debugger off ${fmt(perSecond(r.off))}) req/s` +
    ` = ${floodRatio(r).toFixed(2)} of quiet; flood ${fmt(perSecond(r.floodOn))} (off ${fmt(perSecond(r.floodOff))}) rejections/s`
  );
}

/** The events load's warm-up and measured run against `target` while a flood of rejections runs beside them. */
async function driveFlooded(
  target: Target,
  script: Readonly<Record<string, string | number>>,
): Promise<{ accepted: WrkResult; flood: WrkResult }> {
  await waitForQuiet([target.pid, ...(await target.helpers())]);
  const common = { url: target.base, threads: WRK_THREADS, register };
  // Started first and running past the measured run's end, so that it floods all of the measured run.
  const flood = runWrk({
    ...common,
    connections: floodConnections(),
    seconds: WARMUP + DURATION + 2,
    script: { scenario: 'rejects', tag: `f${tag()}` },
    watch: new Map(),
  });
  await runWrk({
    ...common,
    connections: CONNECTIONS,
    seconds: WARMUP,
    script: { ...script, tag: `w${tag()}` },
    watch: new Map(),
  });
  const accepted = await runWrk({
    ...common,
    connections: CONNECTIONS,
    seconds: DURATION,
    script: { ...script, tag: `m${tag()}` },
    watch: new Map([
      ['target', [target.pid]],
      ['db', await target.helpers()],
    ]),
  });
  return { accepted, flood: await flood };
}

/** Rows of the debugger's table, read from the store itself. */
async function debugRows(backend: Backend, url: string): Promise<number> {
  if (backend === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    try {
      return db.prepare<[], { n: number }>('SELECT count(*) AS n FROM debug_events').get()?.n ?? Number.NaN;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM debug_events');
    return Number(rows[0]?.n ?? Number.NaN);
  } finally {
    await client.end();
  }
}

/** Records the debugger's table may hold (CLICKSTREAM_DEBUG_EVENTS_MAX_ROWS' default, as the service runs). */
const DEBUG_MAX_ROWS = 10_000;

/**
 * (g): two services started alike on fresh stores, the debugger on (the default) and off; in each round the
 * events load of (a) runs against the first alone, then beside a flood of rejected requests (bench/load.lua's
 * `rejects`, from a wrk of its own) against each, the two flooded runs in alternating order.
 */
async function floodScenario(backend: Backend): Promise<Measured> {
  const notes: string[] = [];
  const start = async (debug: '1' | '0') => {
    const store = await freshStore(backend);
    const service = await startService(store.url, register, {
      CLICKSTREAM_LOG_LEVEL: args['log-level'],
      CLICKSTREAM_DEBUG_EVENTS: debug,
    });
    const target: Target = {
      base: service.base,
      pid: service.child.pid ?? -1,
      helpers: () => postgresBackendPids(store.database),
    };
    const prefix = `pre-${tag()}-`;
    await registerSessions(service.base, prefix, REGISTERED);
    return { store, service, target, script: { scenario: 'events', sessions: REGISTERED, prefix } };
  };
  const on = await start('1');
  const off = await start('0');
  notes.push(`registered ${fmt(REGISTERED)} sessions through the API into each store`);
  const rss = rssSampler(on.target.pid);
  const rounds: FloodRound[] = [];
  for (let round = 1; round <= ROUNDS && !interrupted(); round++) {
    const quiet = await drive(on.target, on.script);
    const flooded: Partial<Record<'on' | 'off', { accepted: WrkResult; flood: WrkResult }>> = {};
    for (const side of round % 2 === 1 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      const { target, script } = side === 'on' ? on : off;
      flooded[side] = await driveFlooded(target, script);
    }
    if (!flooded.on || !flooded.off) throw new Error(`round ${round} ran without one of its sides`);
    const measured: FloodRound = {
      quiet,
      on: flooded.on.accepted,
      off: flooded.off.accepted,
      floodOn: flooded.on.flood,
      floodOff: flooded.off.flood,
    };
    rounds.push(measured);
    console.log(`   round ${round}: ${floodRoundSummary(measured)}`);
  }
  const serviceRss = rss.peak();
  for (const { service } of [on, off]) {
    if (service.child.exitCode !== null) throw new Error(`a service of the flood scenario died: ${service.output()}`);
  }
  const metrics = await fetch(`${on.service.base}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) =>
    r.text(),
  );
  const dropped = Number(/^clickstream_debug_events_dropped_total (\S+)$/m.exec(metrics)?.[1] ?? Number.NaN);
  const rejected = rounds.reduce((sum, r) => sum + (r.floodOn.statuses.get(400) ?? 0), 0);
  await stopProcess(on.service.child);
  await stopProcess(off.service.child);
  // After the service stopped: its close wrote what its buffer held.
  const rows = await debugRows(backend, on.store.url);
  notes.push(
    `the flood's ${fmt(rejected)} rejections left ${fmt(rows)} rows in the debugger's table (cap ${fmt(DEBUG_MAX_ROWS)}); ${fmt(dropped)} records were dropped rather than written`,
  );
  const sorted = [...rounds].sort((a, b) => floodRatio(a) - floodRatio(b));
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  if (!median) throw new Error('the scenario was interrupted before its first round');
  const cpu = cpuSummary(median.on, 'service');
  // The flood's answers are 400 by design; any other answer of it (or an error) is a failure.
  const floodFailures = (r: WrkResult): number =>
    r.socketErrors + r.timeouts + [...r.statuses].reduce((n, [status, count]) => n + (status === 400 ? 0 : count), 0);
  return {
    name: 'flood',
    wrk: median.on,
    ceiling: null,
    floor: null,
    rps: perSecond(median.on),
    eventsPerSecond: median.on.eventsStored / median.on.seconds,
    sessionsPerSecond: null,
    p50Ms: median.on.latencyMs.p50,
    p99Ms: median.on.latencyMs.p99,
    serviceRss,
    exportRss: null,
    failed: rounds.reduce(
      (sum, r) =>
        sum +
        failedCount(r.quiet) +
        failedCount(r.on) +
        failedCount(r.off) +
        floodFailures(r.floodOn) +
        floodFailures(r.floodOff),
      0,
    ),
    cpu: `${cpu.text} (the flood's wrk in "other")`,
    busy: false,
    notes: [
      ...notes,
      `rounds: ${rounds.map(floodRoundSummary).join('; ')}; the median round (by flooded/quiet) is reported`,
      ...rounds.flatMap((r, i) => [
        ...failureNotes(`scenario flood, round ${i + 1}, quiet`, r.quiet),
        ...failureNotes(`scenario flood, round ${i + 1}, flooded`, r.on),
        ...failureNotes(`scenario flood, round ${i + 1}, flooded with the debugger off`, r.off),
      ]),
    ],
    flood: rounds,
    debugRows: rows,
  };
}

/** The flooded/quiet ratio of the flood scenario's reported round, for the scenario table. */
function floodCell(m: Measured): string {
  const reported = m.flood?.find((r) => r.on === m.wrk);
  return reported ? `${floodRatio(reported).toFixed(2)} (flooded/quiet)` : '—';
}

/** The flood scenario's rounds, one row each (nothing when it did not run). */
function floodTable(rounds: readonly FloodRound[]): string[] {
  if (rounds.length === 0) return [];
  return [
    'Accepted requests during a flood of rejected ones (g), round by round (req/s of the events load; rejections/s of the flood):',
    '',
    '| round | quiet | flooded | flooded / quiet | flooded, debugger off | flood | flood, debugger off | quiet p99 ms | flooded p99 ms | flooded p99 ms, debugger off |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rounds.map(
      (r, i) =>
        `| ${[
          i + 1,
          fmt(perSecond(r.quiet)),
          fmt(perSecond(r.on)),
          floodRatio(r).toFixed(2),
          fmt(perSecond(r.off)),
          fmt(perSecond(r.floodOn)),
          fmt(perSecond(r.floodOff)),
          r.quiet.latencyMs.p99.toFixed(1),
          r.on.latencyMs.p99.toFixed(1),
          r.off.latencyMs.p99.toFixed(1),
        ].join(' | ')} |`,
    ),
    '',
  ];
}

async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path)) {
    if (!(chunk instanceof Buffer)) continue;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  }
  return lines;
}

function runCli(cliArgs: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli/main.js', ...cliArgs], { cwd: ROOT });
    register(() => stopProcess(child));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-5000)));
    child.once('error', reject);
    child.once('exit', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

async function exportScenario(backend: Backend): Promise<Measured> {
  const store = await freshStore(backend);
  const seedSeconds = await seedBatch(backend, store);
  const released = await runCli(['release', '--release-id', `bench-${tag()}`, '--database-url', store.url]);
  if (released.code !== 0) throw new Error(`clickstream release failed: ${released.stderr}`);
  const batchId = batchIdOf(released.stdout, BATCH_SESSIONS);
  const output = join(store.dir, 'export.jsonl');
  await waitForQuiet([]);
  const machineStart = machineCpuSeconds();
  const started = performance.now();
  // GNU time prints the child's peak RSS (KiB) and its user and system CPU seconds on stderr.
  const child = spawn(
    '/usr/bin/time',
    [
      '-f',
      'BENCH-TIME %M %U %S',
      process.execPath,
      'dist/cli/main.js',
      'export',
      '--batch-id',
      batchId,
      '--database-url',
      store.url,
      '--output',
      output,
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  register(() => stopProcess(child));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-5000)));
  await exited(child);
  const seconds = (performance.now() - started) / 1000;
  const machineEnd = machineCpuSeconds();
  const time = /BENCH-TIME (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
  if (child.exitCode !== 0 || !time) throw new Error(`export failed (${child.exitCode}): ${stderr}`);
  const lines = await countLines(output);
  const exportCores = (Number(time[2]) + Number(time[3])) / seconds;
  const other = Math.max(0, (machineEnd.busy - machineStart.busy) / seconds - exportCores);
  const notes = [
    `seeded ${fmt(BATCH_SESSIONS)} sessions in ${seedSeconds.toFixed(1)} s; wall time ${seconds.toFixed(2)} s`,
  ];
  if (lines !== BATCH_SESSIONS) notes.push(`**EXPORT WROTE ${fmt(lines)} LINES, NOT ${fmt(BATCH_SESSIONS)}**`);
  return {
    name: 'export',
    wrk: null,
    ceiling: null,
    floor: null,
    rps: Number.NaN,
    eventsPerSecond: null,
    sessionsPerSecond: lines / seconds,
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    serviceRss: null,
    exportRss: Number(time[1]) * 1024,
    failed: lines === BATCH_SESSIONS ? 0 : 1,
    cpu: `export ${exportCores.toFixed(2)}, other${backend === 'postgres' ? ' (incl. PostgreSQL)' : ''} ${other.toFixed(2)}`,
    busy: backend === 'sqlite' && other >= BUSY_MACHINE_CORES,
    notes,
  };
}

/**
 * The ceiling and the floor servers, against which the service's write scenarios are measured. The floor
 * only explains the ratio: when it does not start, the goals are still measured against the ceiling.
 */
interface References {
  readonly ceiling: Target;
  readonly floor: Target | null;
}

/** Both servers, started once per backend when a scenario that has a ceiling is to run. */
async function referenceTargets(scenarios: readonly ScenarioName[]): Promise<References | null> {
  if (!scenarios.some((s) => WITH_CEILING.includes(s))) return null;
  const target = (server: Service): Target => ({
    base: server.base,
    pid: server.child.pid ?? -1,
    helpers: () => Promise.resolve([]),
  });
  const ceiling = await startBenchServer('ceiling-server.ts', register);
  try {
    // At the service's log level, as the service runs.
    const floor = await startBenchServer('floor-server.ts', register, { CLICKSTREAM_LOG_LEVEL: args['log-level'] });
    return { ceiling: target(ceiling), floor: target(floor) };
  } catch (error) {
    console.error('the floor server did not start; measuring against the ceiling alone:', error);
    return { ceiling: target(ceiling), floor: null };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report.

interface BackendReport {
  readonly backend: Backend;
  readonly measured: Measured[];
  readonly failed: Failed[];
}

type Verdict = 'PASS' | 'MISS' | 'not measured';
interface Goal {
  readonly goal: string;
  readonly measured: string;
  readonly verdict: Verdict;
}

function goals(report: BackendReport): Goal[] {
  const byName = (name: ScenarioName): Measured | undefined => report.measured.find((m) => m.name === name);
  const result: Goal[] = [];
  const verdict = (m: Measured | undefined, ok: (m: Measured) => boolean): Verdict =>
    m === undefined ? 'not measured' : m.failed === 0 && ok(m) ? 'PASS' : 'MISS';
  const errorsNote = (m: Measured | undefined): string =>
    m !== undefined && m.failed > 0 ? ` (**${fmt(m.failed)} failed requests**)` : '';
  const ratio = (m: Measured | undefined): number =>
    m?.ceiling ? m.rps / (m.ceiling.requests / m.ceiling.seconds) : Number.NaN;
  const targets = RATIO_GOALS[report.backend];
  for (const [name, route, goal] of [
    ['events', 'events route (a)', targets.events],
    ['sessions', 'session route with 20 results (b)', targets.sessions],
  ] as const) {
    const m = byName(name);
    result.push({
      goal: `${route}: req/s >= ${goal} × ceiling`,
      measured: m
        ? `${ratio(m).toFixed(2)} (${fmt(m.rps)} / ${fmt(ratio(m) > 0 ? m.rps / ratio(m) : Number.NaN)} req/s)${errorsNote(m)}`
        : '—',
      verdict: verdict(m, () => ratio(m) >= goal),
    });
  }
  if (report.backend === 'sqlite') {
    for (const [name, route] of [
      ['events', 'events route (a)'],
      ['sessions', 'session route (b)'],
    ] as const) {
      const m = byName(name);
      result.push({
        goal: `${route}: p99 <= ${P99_GOAL_MS} ms`,
        measured: m ? `${m.p99Ms.toFixed(1)} ms${errorsNote(m)}` : '—',
        verdict: verdict(m, (x) => x.p99Ms <= P99_GOAL_MS),
      });
    }
  }
  if (METRICS_BACKENDS.includes(report.backend)) {
    const m = byName('metrics');
    const rounds = m?.onOff ?? [];
    const summary = onOffSummary(rounds);
    result.push({
      goal: `metrics on (f): req/s >= ${METRICS_GOAL} × metrics off (median of the rounds' ratios)`,
      measured:
        rounds.length > 0
          ? `${summary.median.toFixed(3)} (rounds ${rounds.map((r) => onOffRatio(r).toFixed(3)).join(', ')}; spread ${summary.min.toFixed(3)}-${summary.max.toFixed(3)})${errorsNote(m)}`
          : '—',
      verdict: verdict(m, () => rounds.length > 0 && summary.median >= METRICS_GOAL),
    });
  }
  const flooded = byName('flood');
  result.push({
    goal: `events debugger (g): its table holds <= ${fmt(DEBUG_MAX_ROWS)} rows after the flood`,
    measured: flooded?.debugRows !== undefined ? `${fmt(flooded.debugRows)} rows${errorsNote(flooded)}` : '—',
    verdict: verdict(flooded, (x) => x.debugRows !== undefined && x.debugRows <= DEBUG_MAX_ROWS),
  });
  const exported = byName('export');
  result.push({
    goal: `export (e): >= ${fmt(EXPORT_GOAL_RATE)} sessions/s`,
    measured: exported ? `${fmt(exported.sessionsPerSecond ?? Number.NaN)} sessions/s${errorsNote(exported)}` : '—',
    verdict: verdict(exported, (x) => (x.sessionsPerSecond ?? 0) >= EXPORT_GOAL_RATE),
  });
  result.push({
    goal: `export (e): peak RSS < ${RSS_GOAL_BYTES / MB} MB`,
    measured: exported ? mb(exported.exportRss) : '—',
    verdict: verdict(exported, (x) => x.exportRss !== null && x.exportRss < RSS_GOAL_BYTES),
  });
  const withService = report.measured.filter((m) => m.serviceRss !== null);
  const peak = withService.reduce((max, m) => Math.max(max, m.serviceRss ?? 0), 0);
  const peakIn = withService.find((m) => m.serviceRss === peak)?.name;
  result.push({
    goal: `service RSS < ${RSS_GOAL_BYTES / MB} MB throughout`,
    measured: withService.length > 0 ? `peak ${mb(peak)} (in ${peakIn ?? '?'})` : '—',
    verdict:
      withService.length === 0 ? 'not measured' : peak < RSS_GOAL_BYTES && report.failed.length === 0 ? 'PASS' : 'MISS',
  });
  return result;
}

function scenarioRow(m: Measured): string {
  const ceilingRps = m.ceiling ? m.ceiling.requests / m.ceiling.seconds : Number.NaN;
  const cells = [
    m.name,
    m.name === 'export' ? '—' : fmt(m.rps),
    m.eventsPerSecond === null ? '—' : fmt(m.eventsPerSecond),
    m.sessionsPerSecond === null ? '—' : fmt(m.sessionsPerSecond),
    m.name === 'export' ? '—' : m.p50Ms.toFixed(1),
    m.name === 'export' ? '—' : m.p99Ms.toFixed(1),
    m.name === 'export' ? `— (export process: ${mb(m.exportRss)})` : mb(m.serviceRss),
    m.ceiling ? fmt(ceilingRps) : '—',
    m.onOff
      ? `${onOffSummary(m.onOff).median.toFixed(2)} (on/off)`
      : m.flood
        ? floodCell(m)
        : m.ceiling
          ? (m.rps / ceilingRps).toFixed(2)
          : '—',
    floorRatio(m) ?? '—',
    m.failed === 0 ? '0' : `**${fmt(m.failed)}**`,
    m.busy ? `${m.cpu} **(machine busy)**` : m.cpu,
  ];
  return `| ${cells.join(' | ')} |`;
}

/** The commit the service was built from, and whether src/ had changes on top of it. */
function serviceVersion(): string {
  const git = (gitArgs: readonly string[]): string =>
    spawnSync('git', gitArgs, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  const commit = git(['rev-parse', '--short', 'HEAD']);
  if (commit === '') return 'service built from a tree outside git';
  const dirty = git(['status', '--porcelain', '--', 'src']) !== '';
  return `service built from commit ${commit}${dirty ? ' with uncommitted changes in src/' : ''}`;
}

async function machineLine(): Promise<string> {
  let postgres = 'PostgreSQL not reachable';
  const client = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await client.connect();
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    postgres = `PostgreSQL ${rows[0]?.v ?? '?'} (default settings)`;
  } catch {
    // Said as is.
  } finally {
    await client.end().catch(() => undefined);
  }
  return (
    `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${fmt(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ` +
    `${postgres}, ${(wrkVersion() ?? 'wrk ?').split(' ').slice(0, 2).join(' ')}; service, load generator and database on the same machine`
  );
}

function renderReport(report: BackendReport, date: string, machine: string, command: string, built: string): string {
  const goalRows = goals(report);
  const failures = [
    ...report.failed.map((f) => `- **scenario ${f.name} FAILED**: ${f.error}`),
    ...report.measured.flatMap((m) => m.notes.filter((n) => n.startsWith('**')).map((n) => `- ${m.name}: ${n}`)),
  ];
  return [
    `## Throughput against the ceiling: ${report.backend} (${date})`,
    '',
    `Command: \`${command}\`; ${built}. ${machine}.`,
    `Each scenario runs on a fresh store: per run ${WARMUP} s warm-up, then ${DURATION} s measured, ${CONNECTIONS} connections,`,
    `wrk with ${WRK_THREADS} thread${WRK_THREADS > 1 ? 's' : ''} and bench/load.lua in a process of its own (bench/README.md says why wrk).`,
    'The ceiling is bench/lib/ceiling-server.ts (bare node:http: reads and JSON-parses the same bodies, answers a',
    'small JSON) in its own process, driven by the same wrk and script. The floor is bench/lib/floor-server.ts: the',
    "service's own HTTP application (parsing, validation, domain rules, security hooks, serialisation) over a store",
    'that keeps nothing; "floor ratio" is its req/s over the ceiling\'s, the best ratio any store could give here.',
    `Each scenario runs in ${ROUNDS} round${ROUNDS > 1 ? 's' : ''} (the ceiling, the floor, then the service, on the scenario's store, which grows`,
    'from round to round); the figures are those of the round with the median ratio (all rounds are listed under',
    'Scenarios).',
    "Latency is wrk's, from sending a request to its answer. Peak RSS: the",
    "service process's VmHWM and VmRSS sampled every 100 ms, from its start (including the preparation) to the end",
    'of the last round. CPU is in cores (1.00 = one CPU busy) over the measured run; "other" is the rest of the',
    'machine (other work, PostgreSQL background processes).',
    '',
    ...(failures.length > 0 ? ['### ERRORS', '', ...failures, ''] : []),
    '| scenario | req/s | events/s | sessions/s | p50 ms | p99 ms | service peak RSS | ceiling req/s | ratio | floor ratio | failed requests | CPU (cores) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...report.measured.map(scenarioRow),
    ...report.failed.map((f) => `| ${f.name} | **failed** | | | | | | | | | | |`),
    '',
    '| goal | measured | verdict |',
    '| --- | --- | --- |',
    ...goalRows.map((g) => `| ${g.goal} | ${g.measured} | **${g.verdict}** |`),
    '',
    ...onOffTable(report.measured.find((m) => m.name === 'metrics')?.onOff ?? []),
    ...floodTable(report.measured.find((m) => m.name === 'flood')?.flood ?? []),
    'Scenarios:',
    '',
    ...RUN_SCENARIOS.filter((name) => name !== 'metrics' || METRICS_BACKENDS.includes(report.backend)).map((name) => {
      const m = report.measured.find((x) => x.name === name);
      const notes = m?.notes.filter((n) => !n.startsWith('**')) ?? [];
      return `- ${DESCRIPTIONS[name]()}.${notes.length > 0 ? ` Here: ${notes.join('; ')}.` : ''}`;
    }),
    '',
  ].join('\n');
}

/** The metrics scenario's rounds, one row each (nothing when it did not run). */
function onOffTable(rounds: readonly OnOffRound[]): string[] {
  if (rounds.length === 0) return [];
  return [
    `Metrics on against off (f), ${METRICS_LOAD} load, round by round:`,
    '',
    '| round | first | on req/s | off req/s | on/off | on p99 ms | off p99 ms | on CPU µs/request | off CPU µs/request |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rounds.map((r, i) =>
      [
        '',
        i + 1,
        r.first,
        fmt(perSecond(r.on)),
        fmt(perSecond(r.off)),
        onOffRatio(r).toFixed(3),
        r.on.latencyMs.p99.toFixed(1),
        r.off.latencyMs.p99.toFixed(1),
        fmt(cpuPerRequestUs(r.on)),
        fmt(cpuPerRequestUs(r.off)),
        '',
      ]
        .join(' | ')
        .trim(),
    ),
    '',
  ];
}

// ---------------------------------------------------------------------------------------------------------

async function runBackend(backend: Backend): Promise<BackendReport> {
  const measured: Measured[] = [];
  const failed: Failed[] = [];
  const backendMark = cleanups.length;
  let references: References | null = null;
  try {
    references = await referenceTargets(RUN_SCENARIOS);
  } catch (error) {
    console.error(`[${backend}] the ceiling server did not start:`, error);
  }
  try {
    for (const name of RUN_SCENARIOS) {
      if (interrupted()) break;
      const mark = cleanups.length;
      console.log(`[${backend}] ${name} ...`);
      try {
        if (name === 'metrics' && !METRICS_BACKENDS.includes(backend)) {
          console.log(`   ${name}: ${METRICS_BACKENDS.join(', ')} only (bench/README.md); skipped`);
          continue;
        }
        const m =
          name === 'export'
            ? await exportScenario(backend)
            : name === 'metrics'
              ? await metricsScenario(backend)
              : name === 'flood'
                ? await floodScenario(backend)
                : await serviceScenario(backend, name, references);
        measured.push(m);
        console.log(`   ${scenarioRow(m)}`);
        for (const note of m.notes.filter((n) => n.startsWith('**'))) console.log(`   !!! ${note}`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        console.error(`   !!! [${backend}] ${name} FAILED: ${message}`);
        failed.push({ name, error: message.split('\n')[0]?.slice(0, 500) ?? '' });
      } finally {
        await unwindTo(mark);
      }
    }
  } finally {
    await unwindTo(backendMark);
  }
  return { backend, measured, failed };
}

async function main(): Promise<void> {
  if (wrkVersion() === null) {
    throw new Error("wrk is not installed. It is Debian's package: apt-get install wrk (see bench/README.md)");
  }
  const date = new Date().toISOString().slice(0, 10);
  // Taken now, right after `npm run bench` built dist/: src/ may change while the benchmark runs.
  const built = serviceVersion();
  const machine = await machineLine();
  const command = process.argv.length > 2 ? `npm run bench -- ${process.argv.slice(2).join(' ')}` : 'npm run bench';
  let anyFailed = false;
  for (const backend of RUN_BACKENDS) {
    if (interrupted()) break;
    const report = await runBackend(backend);
    // An interrupted run leaves the results of the last complete one in place.
    if (interrupted()) return;
    const text = renderReport(report, date, machine, command, built);
    const output = join(args['output-dir'], `${date}-${backend}.md`);
    mkdirSync(args['output-dir'], { recursive: true });
    writeFileSync(output, `${text}\n`);
    console.log(`\n${text}\nwritten to ${output}\n`);
    if (report.failed.length > 0 || report.measured.some((m) => m.failed > 0)) anyFailed = true;
  }
  if (anyFailed) {
    console.error('!!! some scenarios failed or had failed requests: see ERRORS above');
    process.exitCode = 1;
  }
}

try {
  await main();
} finally {
  await unwindTo(0);
}
