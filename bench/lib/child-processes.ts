/**
 * Child processes of the benchmarks: the service in a process of its own, free ports, stopping with a
 * deadline. Shared by bench/run.ts and the entries of bench/scenarios/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository's root (this file is bench/lib/child-processes.ts): the cwd of every child process. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: no answer within ${ms / 1000} s`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no TCP port'));
        else resolve(address.port);
      });
    });
  });
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
}

/** SIGTERM (the service drains), then SIGKILL if it is still there after 10 s. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  try {
    await withTimeout(exited(child), 10_000, 'process exit');
  } catch {
    child.kill('SIGKILL');
    await exited(child);
  }
}

export interface Service {
  readonly base: string;
  readonly child: ChildProcess;
  /** The last 20,000 characters the process wrote to stdout and stderr. */
  readonly output: () => string;
}

/**
 * Starts `node dist/main.js` on a free port with the given store and waits until /ready answers 200.
 * `register` is given the way to stop it at once, before the wait, so a failed start is cleaned up too.
 */
export async function startService(
  databaseUrl: string,
  register: (undo: () => Promise<void>) => void,
  extraEnv: Readonly<Record<string, string>> = {},
): Promise<Service> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      CLICKSTREAM_HOST: '127.0.0.1',
      CLICKSTREAM_PORT: String(port),
      CLICKSTREAM_DATABASE_URL: databaseUrl,
      CLICKSTREAM_LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  register(() => stopProcess(child));
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}: ${output}`);
    try {
      const ready = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(2000) });
      if (ready.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`service not ready within 60 s: ${output}`);
    await sleep(100);
  }
  return { base, child, output: () => output };
}

/**
 * Starts one of the benchmark's own servers in a process of its own and waits until it listens:
 * bench/lib/ceiling-server.ts (a bare node:http server) or bench/lib/floor-server.ts (the service's HTTP application
 * over a store that keeps nothing). Run by node with tsx's loader, so it is compiled once at start.
 */
export async function startBenchServer(
  script: 'ceiling-server.ts' | 'floor-server.ts',
  register: (undo: () => Promise<void>) => void,
  extraEnv: Readonly<Record<string, string>> = {},
): Promise<Service> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL(`./${script}`, import.meta.url)), String(port)],
    {
      cwd: ROOT,
      env: { ...process.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  register(() => stopProcess(child));
  let output = '';
  const listening = new Promise<void>((resolve, reject) => {
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
      if (output.includes('listening')) resolve();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('exit', (code) => {
      reject(new Error(`${script} exited with ${code}: ${output}`));
    });
  });
  await withTimeout(listening, 30_000, `${script} start`);
  return { base: `http://127.0.0.1:${port}`, child, output: () => output };
}
