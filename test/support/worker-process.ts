/**
 * `clickstream worker` as a real process for end-to-end tests (`node --import tsx src/cli/main.ts worker`),
 * and the polling waits those tests need: a task reaching a status, a file appearing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Task } from '../../src/schemas/tasks.js';
import { childEnv, REPO_ROOT, type Exit } from './service-process.js';

export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stderr (its progress lines, the trainer's stderr). */
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** SIGKILL unless it has exited; resolves with its exit. */
  kill(): Promise<Exit>;
}

export function startWorker(
  dir: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', ...args], {
    cwd: REPO_ROOT,
    env: childEnv(dir, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout.resume();
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return {
    child,
    stderr: () => stderr,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** Polls `probe` every 100 ms until it returns a value other than undefined; fails after `ms`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Waits until `file` exists. */
export function fileAppears(file: string, ms = 60_000): Promise<true> {
  return eventually(`${file} to exist`, () => Promise.resolve(existsSync(file) ? true : undefined), ms);
}

/** Reads a task through the API until `accept` holds for it. */
export function taskWhere(
  getTask: () => Promise<Task>,
  what: string,
  accept: (task: Task) => boolean,
  ms = 60_000,
): Promise<Task> {
  return eventually(
    what,
    async () => {
      const task = await getTask();
      return accept(task) ? task : undefined;
    },
    ms,
  );
}
