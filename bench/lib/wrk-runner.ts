/**
 * Runs wrk (Debian's package) with bench/load.lua in a process of its own and reads back the line its
 * done() prints. While it runs, the CPU of the watched processes and of the machine is measured over the
 * steady part of the run (after the first half second, until half a second before the end).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuWindow } from './proc-stats.js';
import { exited, sleep } from './child-processes.js';

/** bench/load.lua (this file is bench/lib/wrk-runner.ts). */
const LOAD_SCRIPT = fileURLToPath(new URL('../load.lua', import.meta.url));

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  /** Socket errors and timeouts (wrk's connect, read, write and timeout counts). */
  readonly socketErrors: number;
  readonly timeouts: number;
  readonly statuses: ReadonlyMap<number, number>;
  readonly non2xx: number;
  /** The first non-2xx bodies (300 characters each). */
  readonly samples: readonly string[];
  readonly eventsStored: number;
  readonly sessionsOk: number;
  readonly sessionsRead: number;
  /** Cores used, averaged over the steady part of the run, by name (`generator` is wrk itself). */
  readonly cpu: ReadonlyMap<string, number>;
  /** Busy cores of the whole machine over the same window. */
  readonly machineCpu: number;
}

/** wrk's version line, or null when it is not installed. */
export function wrkVersion(): string | null {
  const run = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (run.error) return null;
  return (run.stdout + run.stderr).split('\n', 1)[0]?.trim() ?? 'wrk';
}

function objectField(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  return Object.entries(value).find(([k]) => k === key)?.[1];
}

function numberAt(value: unknown, ...path: string[]): number {
  const found = path.reduce<unknown>((at, key) => objectField(at, key), value);
  if (typeof found !== 'number') throw new Error(`wrk output: ${path.join('.')} is not a number`);
  return found;
}

export interface WrkRun {
  readonly url: string;
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
  /** key=value arguments of bench/load.lua (scenario, tag, ...); `threads` is added. */
  readonly script: Readonly<Record<string, string | number>>;
  /** Processes whose CPU is measured, by name. */
  readonly watch: ReadonlyMap<string, readonly number[]>;
  readonly register: (undo: () => Promise<void>) => void;
}

export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const scriptArgs = Object.entries({ ...run.script, threads: run.threads }).map(([k, v]) => `${k}=${v}`);
  const child: ChildProcess = spawn(
    'wrk',
    [
      '-t',
      String(run.threads),
      '-c',
      String(run.connections),
      '-d',
      `${run.seconds}s`,
      '--timeout',
      '30s',
      '-s',
      LOAD_SCRIPT,
      run.url,
      '--',
      ...scriptArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  run.register(async () => {
    child.kill('SIGKILL');
    await exited(child);
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-5000)));
  const done = exited(child);

  let cpu = new Map<string, number>();
  let machineCpu = Number.NaN;
  const steady = run.seconds - 1;
  if (steady > 0 && child.pid !== undefined) {
    await Promise.race([sleep(500), done]);
    const window = cpuWindow(new Map([...run.watch, ['generator', [child.pid]]]));
    await Promise.race([sleep(steady * 1000), done]);
    const measured = window.stop();
    cpu = measured.byName;
    machineCpu = measured.machine;
  }
  await done;
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH-JSON '));
  if (child.exitCode !== 0 || line === undefined) {
    throw new Error(`wrk failed (${child.exitCode ?? child.signalCode}): ${stderr || stdout.slice(-2000)}`);
  }
  const parsed: unknown = JSON.parse(line.slice('BENCH-JSON '.length));
  const statuses = new Map<number, number>();
  const statusObject = objectField(parsed, 'statuses');
  if (typeof statusObject === 'object' && statusObject !== null) {
    for (const [status, count] of Object.entries(statusObject)) {
      if (typeof count === 'number') statuses.set(Number(status), count);
    }
  }
  const samplesValue = objectField(parsed, 'samples');
  const samples = Array.isArray(samplesValue) ? samplesValue.filter((s) => typeof s === 'string') : [];
  const non2xx = [...statuses].reduce((sum, [status, count]) => sum + (status >= 200 && status < 300 ? 0 : count), 0);
  const us = (key: string): number => numberAt(parsed, 'latency_us', key) / 1000;
  return {
    requests: numberAt(parsed, 'requests'),
    seconds: numberAt(parsed, 'duration_us') / 1e6,
    latencyMs: { p50: us('p50'), p90: us('p90'), p99: us('p99'), max: us('max') },
    socketErrors:
      numberAt(parsed, 'errors', 'connect') + numberAt(parsed, 'errors', 'read') + numberAt(parsed, 'errors', 'write'),
    timeouts: numberAt(parsed, 'errors', 'timeout'),
    statuses,
    non2xx,
    samples,
    eventsStored: numberAt(parsed, 'events_stored'),
    sessionsOk: numberAt(parsed, 'sessions_ok'),
    sessionsRead: numberAt(parsed, 'sessions_read'),
    cpu,
    machineCpu,
  };
}
