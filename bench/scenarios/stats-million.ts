/**
 * Measures the dashboard issue's goal "on a sealed 1,000,000-session batch, stats/batch answers in under
 * 2 s on SQLite and on PostgreSQL, the first call after sealing included", and how the query tables page
 * with 10,000 distinct queries.
 *
 * Per backend: a fresh store is filled with N sessions (10 results, 2 clicks each, 10,000 distinct queries)
 * by bulk SQL against the real schema (bench/lib/bulk-seed.ts), timed apart; the service starts on it in a
 * process of its own with a grace period of --grace-seconds (75); then, timed from here over HTTP: GET
 * stats/batch of the collecting batch (an aggregation from scratch: what a batch costs that nothing was
 * computed for), the release, and once the batch has sealed, the first GET stats/batch after the seal (the
 * goal: the service computed the figures ahead, 60 s before the seal, and checks that nothing changed), a
 * second one (saved figures), and pages of stats/queries (offsets 0 and 980 of each table). Results go to
 * stdout and bench/results/<date>-stats-million.md.
 *
 * Usage: npm run bench:stats [-- --sessions N --queries Q --backends sqlite,postgres
 *   --postgres-url postgres://postgres@127.0.0.1:5432/postgres --output FILE]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createPostgresDatabase, seedPostgres, seedSqlite } from '../lib/bulk-seed.js';
import { ROOT, sleep, startService } from '../lib/child-processes.js';

type Backend = 'sqlite' | 'postgres';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000000' },
    'grace-seconds': { type: 'string', default: '75' },
    queries: { type: 'string', default: '10000' },
    backends: { type: 'string', default: 'sqlite,postgres' },
    'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    output: { type: 'string' },
  },
});
const SESSIONS = Number(args.sessions);
const QUERIES = Number(args.queries);
const BACKENDS = args.backends.split(',').map((name): Backend => {
  if (name === 'sqlite' || name === 'postgres') return name;
  throw new Error(`--backends: unknown backend ${name}`);
});
const GOAL_SECONDS = 2;
const GRACE_SECONDS = Number(args['grace-seconds']);
const SHAPE = { sessions: SESSIONS, resultsPerSession: 10, eventsPerSession: 2, distinctQueries: QUERIES };
const ADMIN_KEY = randomBytes(16).toString('hex');

interface Measured {
  readonly backend: Backend;
  readonly seedSeconds: number;
  readonly coldSeconds: number;
  readonly firstSeconds: number;
  readonly savedSeconds: number;
  readonly pageMs: number[];
  readonly searches: number;
  readonly distinctQueries: number;
}

async function timedGetFrom(url: string): Promise<{ seconds: number; body: Record<string, unknown> }> {
  const started = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const body = (await response.json()) as Record<string, unknown>;
  const seconds = (performance.now() - started) / 1000;
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${JSON.stringify(body)}`);
  return { seconds, body };
}

async function measure(backend: Backend): Promise<Measured> {
  const undo: (() => Promise<void>)[] = [];
  try {
    let url: string;
    const seedStarted = performance.now();
    if (backend === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'clickstream-stats-'));
      undo.push(() => {
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      });
      url = `sqlite:${join(dir, 'stats.db')}`;
      seedSqlite(join(dir, 'stats.db'), SHAPE);
    } else {
      const database = await createPostgresDatabase(args['postgres-url'], 'clickstream_stats');
      undo.push(database.drop);
      url = database.url;
      await seedPostgres(url, SHAPE, true);
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const service = await startService(url, (stop) => undo.push(stop), {
      CLICKSTREAM_ADMIN_KEY: ADMIN_KEY,
      CLICKSTREAM_LATE_EVENT_GRACE_SECONDS: String(GRACE_SECONDS),
    });
    const stats = `${service.base}/api/v1/clickstream/internal/stats`;
    const timedGet = (url: string) =>
      timedGetFrom(url).catch((error: unknown) => {
        throw new Error(`${String(error)}\nservice output:\n${service.output()}`);
      });
    const batches = await timedGet(`${service.base}/api/v1/clickstream/internal/batches?limit=1`);
    const [collecting] = batches.body.batches as { batch_id: string }[];
    if (!collecting) throw new Error('no collecting batch');
    const cold = await timedGet(`${stats}/batch?batch_id=${collecting.batch_id}`);
    const released = await fetch(`${service.base}/api/v1/clickstream/internal/batch/release`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ release_id: `bench-${randomBytes(4).toString('hex')}` }),
    });
    const { batch_id: batchId, sealed_at: sealedAt } = (await released.json()) as {
      batch_id: string;
      sealed_at: number;
    };
    if (!released.ok) throw new Error(`release: ${released.status}`);
    console.error(`stats-million: ${backend}: released; waiting for the seal (${GRACE_SECONDS} s)...`);
    await sleep(Math.max(0, sealedAt + 1 - Date.now() / 1000) * 1000);
    const first = await timedGet(`${stats}/batch?batch_id=${batchId}`);
    if (first.body.status !== 'sealed') throw new Error(`batch is ${String(first.body.status)}, not sealed`);
    const saved = await timedGet(`${stats}/batch?batch_id=${batchId}`);
    const pageMs: number[] = [];
    for (const kind of ['top', 'no_click', 'no_result']) {
      for (const offset of [0, 980]) {
        const page = await timedGet(`${stats}/queries?batch_id=${batchId}&kind=${kind}&offset=${offset}&limit=20`);
        pageMs.push(page.seconds * 1000);
      }
    }
    const totals = first.body.query_totals as { top: number };
    return {
      backend,
      seedSeconds,
      coldSeconds: cold.seconds,
      firstSeconds: first.seconds,
      savedSeconds: saved.seconds,
      pageMs,
      searches: Number(first.body.searches),
      distinctQueries: totals.top,
    };
  } finally {
    for (const step of undo.reverse()) await step();
  }
}

const rows: Measured[] = [];
for (const backend of BACKENDS) {
  console.error(`stats-million: ${backend}: seeding ${SESSIONS} sessions...`);
  rows.push(await measure(backend));
}
const date = new Date().toISOString().slice(0, 10);
const lines = [
  `# Batch analytics of a sealed batch, ${date}`,
  '',
  `${SESSIONS.toLocaleString('en')} sessions (10 results, 2 clicks each, ${QUERIES.toLocaleString('en')} distinct queries), ${cpus().length} cores. Command: \`npm run bench:stats\`.`,
  '',
  '| backend | seed (s) | from scratch (s) | first stats/batch after the seal (s) | again (s) | stats/queries pages (ms, max) | searches | queries | goal < 2 s |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.backend} | ${r.seedSeconds.toFixed(1)} | ${r.coldSeconds.toFixed(2)} | ${r.firstSeconds.toFixed(2)} | ${r.savedSeconds.toFixed(3)} | ${Math.max(...r.pageMs).toFixed(1)} | ${r.searches} | ${r.distinctQueries} | ${r.firstSeconds < GOAL_SECONDS ? 'PASS' : 'FAIL'} |`,
  ),
];
const output = args.output ?? join(ROOT, 'bench', 'results', `${date}-stats-million.md`);
mkdirSync(dirname(output), { recursive: true });
writeFileSync(output, `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
if (rows.some((r) => r.firstSeconds >= GOAL_SECONDS)) process.exitCode = 1;
