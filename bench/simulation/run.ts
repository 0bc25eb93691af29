/**
 * Click simulation with known ground truth (`npm run simulate`, after `npm run build`): how good is the
 * training data the CLI makes of a clickstream? A seeded world (bench/simulation/world.ts) of queries and
 * objects with true grades and a true position bias; a production ranker decides what each session is
 * shown; PBM users and cascade users click (users.ts). Every session goes to a real service process
 * (`node dist/main.js` on a scratch SQLite store) over HTTP, each user model's sessions are released as a
 * batch of their own, and `clickstream bias` / `clickstream training-data` (dist/cli/main.js) run on each
 * batch. Their propensities and ratings are compared with the truth (evaluate.ts, ndcg.ts), beside the
 * production ranking, the ideal, and a reference PBM-EM fitted in memory over the same clicks
 * (reference-pbm.ts). The report goes to stdout and to bench/results/<date>-simulation.md.
 *
 * Usage: npm run simulate [-- --sessions 50000 --seed 20261126 --queries 200 --objects 20 --shown 10
 *   --eta 0.7 --ranker-error-sd 0.5 --session-noise-sd 0.2 --cascade-stop 0.7 --models pbm,cascade
 *   --concurrency 32 --output FILE --no-write]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, startService, stopProcess } from '../lib/child-processes.js';
import type { CliRun, RunCli } from './cli-contract.js';
import type { IngestedBatch } from './http-driver.js';
import { productionNdcg } from './ndcg.js';
import { report } from './report.js';
import { measureModel, sendModel, simulateModel, type MeasuredModel } from './simulation.js';
import { USER_MODELS, type UserModel } from './users.js';
import { buildWorld, DEFAULT_PARAMETERS, type SimulationParameters } from './world.js';

const d = DEFAULT_PARAMETERS;
const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: String(d.seed) },
    sessions: { type: 'string', default: String(d.sessions) },
    queries: { type: 'string', default: String(d.queries) },
    objects: { type: 'string', default: String(d.objects) },
    shown: { type: 'string', default: String(d.shown) },
    eta: { type: 'string', default: String(d.eta) },
    'ranker-error-sd': { type: 'string', default: String(d.rankerErrorSd) },
    'session-noise-sd': { type: 'string', default: String(d.sessionNoiseSd) },
    'cascade-stop': { type: 'string', default: String(d.cascadeStop) },
    models: { type: 'string', default: USER_MODELS.join(',') },
    concurrency: { type: 'string', default: '32' },
    output: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});

function integer(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: an integer >= ${min}, got ${value}`);
  return n;
}
function real(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`--${name}: a number in [${min}, ${max}], got ${value}`);
  return n;
}

const parameters: SimulationParameters = {
  ...d,
  seed: integer('seed', args.seed, 0),
  sessions: integer('sessions', args.sessions, 1),
  queries: integer('queries', args.queries, 1),
  objects: integer('objects', args.objects, 1),
  shown: integer('shown', args.shown, 1),
  eta: real('eta', args.eta, 0, 10),
  rankerErrorSd: real('ranker-error-sd', args['ranker-error-sd'], 0, 100),
  sessionNoiseSd: real('session-noise-sd', args['session-noise-sd'], 0, 100),
  cascadeStop: real('cascade-stop', args['cascade-stop'], 0, 1),
};
const MODELS = args.models.split(',').map((name): UserModel => {
  const found = USER_MODELS.find((m) => m === name.trim());
  if (found === undefined) throw new Error(`--models: unknown ${name}; one of ${USER_MODELS.join(', ')}`);
  return found;
});
const CONCURRENCY = integer('concurrency', args.concurrency, 1);
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

// Everything the run creates is undone from here, also on failure and Ctrl-C.
const cleanups: (() => Promise<void> | void)[] = [];
async function cleanup(): Promise<void> {
  for (let undo = cleanups.pop(); undo !== undefined; undo = cleanups.pop()) {
    try {
      await undo();
    } catch (error) {
      log(`cleanup step failed: ${String(error)}`);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping, cleaning up ...`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** The environment of the CLI: ours without any CLICKSTREAM_* variable, then the service's store. */
function cliEnv(databaseUrl: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('CLICKSTREAM_')));
  return { ...env, CLICKSTREAM_DATABASE_URL: databaseUrl };
}

function cliRunner(databaseUrl: string): RunCli {
  return (cliArgs) =>
    new Promise<CliRun>((resolve, reject) => {
      const child = spawn(process.execPath, ['dist/cli/main.js', ...cliArgs], {
        cwd: ROOT,
        env: cliEnv(databaseUrl),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-20_000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
      child.once('error', reject);
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr });
      });
    });
}

function commit(): string {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });
  const head = git.status === 0 ? git.stdout.trim() : 'unknown';
  return dirty.status === 0 && dirty.stdout.trim() !== '' ? `${head} with uncommitted changes` : head;
}

async function main(): Promise<void> {
  for (const built of ['dist/main.js', 'dist/cli/main.js']) {
    if (!existsSync(join(ROOT, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
  }
  const world = buildWorld(parameters);
  const production = productionNdcg(world);
  log(`world: ${parameters.queries} queries x ${parameters.objects} objects, seed ${parameters.seed}`);
  log(`production ranker without session noise: NDCG@${parameters.shown} ${production.toFixed(4)}`);

  const simulated = MODELS.map((model) => {
    const started = performance.now();
    const s = simulateModel(world, model, parameters.sessions);
    log(
      `${model}: ${s.sessions.length.toLocaleString('en-US')} sessions, ${s.clicks.toLocaleString('en-US')} clicks simulated; reference PBM-EM in memory: propensity error ${s.reference.propensityError.toFixed(4)}, NDCG ${s.reference.ndcg.toFixed(4)} (${s.reference.iterations} iterations; ${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
    return s;
  });

  const dir = mkdtempSync(join(tmpdir(), 'clickstream-simulation-'));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const databaseUrl = `sqlite:${join(dir, 'simulation.db')}`;
  const service = await startService(
    databaseUrl,
    (undo) => {
      cleanups.push(undo);
    },
    { CLICKSTREAM_LATE_EVENT_GRACE_SECONDS: '0' },
  );
  log(`service: ${service.base} (pid ${service.child.pid ?? '?'}), store ${databaseUrl}`);
  const batches: IngestedBatch[] = [];
  for (const s of simulated) {
    const batch = await sendModel(service.base, world, s, CONCURRENCY, log);
    log(`${s.model}: batch ${batch.batchId} released, ${batch.requests} requests in ${batch.seconds.toFixed(1)} s`);
    batches.push(batch);
  }
  // The batches are released and sealed (grace 0): the service has done its part; the CLI reads the store.
  await stopProcess(service.child);

  const runCli = cliRunner(databaseUrl);
  const measured: MeasuredModel[] = [];
  for (const [i, s] of simulated.entries()) {
    const batch = batches[i];
    if (batch === undefined) continue;
    const started = performance.now();
    measured.push(await measureModel(world, s, batch, runCli));
    log(`${s.model}: bias and 4 training-data methods in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  const date = new Date().toISOString().slice(0, 10);
  const text = report(world, production, measured, {
    date,
    commit: commit(),
    node: process.version,
    command: ['npm run simulate', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    concurrency: CONCURRENCY,
  });
  process.stdout.write(`${text}\n`);
  if (!args['no-write']) {
    const output = args.output ?? join(ROOT, 'bench', 'results', `${date}-simulation.md`);
    mkdirSync(dirname(output), { recursive: true });
    writeFileSync(output, `${text}\n`);
    log(`written to ${output}`);
  }
}

try {
  await main();
} catch (error) {
  log(`simulation failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
