/**
 * Runs one claimed fine-tuning task for `clickstream worker`: downloads its training data to a temporary
 * file, runs the trainer command through `sh -c` with the task in its environment and no key in it,
 * heartbeats every third of the lease while the command runs, stops the command when the lease is lost
 * or the task canceled (SIGTERM, then SIGKILL after a grace period), and ends the task with what the
 * command left: its result file on exit 0, else its exit status and the end of its stderr.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickstreamError } from '../domain/errors.js';
import { MAX_DETAIL_LENGTH } from '../domain/task.js';
import { FORMAT_FILES, TRAINING_FORMATS, type TrainingFormat } from '../formats/training-formats.js';
import type { CompleteBody, Task } from '../schemas/tasks.js';
import type { ServiceClient } from './service-client.js';

export interface RunOptions {
  /** The trainer command, run by `sh -c`. */
  readonly command: string;
  readonly workerId: string;
  readonly leaseSeconds: number;
  readonly killGraceSeconds: number;
  /** Progress lines for people (standard error). */
  readonly log: (line: string) => void;
}

/** How a task ended for this worker: done, failed, given back for another worker, or taken from it. */
export type TaskOutcome = 'done' | 'failed' | 'handed_back' | 'lost';

/** What a trainer may write to its result file: the fields of a completion, nothing else. */
const RESULT_FIELDS = ['best_model_url', 'best_model_id', 'metrics'];

const TASK = '/api/v1/fine-tuning/task';

/**
 * Runs `task` to its end. `stop` (the worker got SIGTERM) stops the command and hands the task back
 * (fail with retry) for another worker.
 */
export async function runTask(
  client: ServiceClient,
  task: Task,
  options: RunOptions,
  stop: AbortSignal,
): Promise<TaskOutcome> {
  const dir = await mkdtemp(join(tmpdir(), 'clickstream-task-'));
  const path = `${TASK}/${encodeURIComponent(task.id)}`;
  const worker = encodeURIComponent(options.workerId);
  const end = (action: 'complete' | 'fail', body: object, outcome: TaskOutcome) =>
    leaseHeld(client.request('POST', `${path}/${action}`, { worker_id: options.workerId, ...body }), outcome);
  try {
    const dataFile = join(dir, `training-data${FORMAT_FILES[formatOf(task)].extension}`);
    const resultFile = join(dir, 'result.json');
    try {
      const downloaded = await leaseHeld(client.download(`${path}/training-data?worker_id=${worker}`, dataFile), true);
      if (downloaded === 'lost') return 'lost';
    } catch (error) {
      // The service refused the task's data (its batch is gone, its params no longer read): no retry helps.
      if (!(error instanceof ClickstreamError)) throw error;
      return await end('fail', { detail: `its training data could not be read: ${error.message}` }, 'failed');
    }
    const run = await runCommand(client, task, options, stop, {
      CLICKSTREAM_TASK_ID: task.id,
      CLICKSTREAM_TRAINING_DATA: dataFile,
      CLICKSTREAM_TASK_JSON: JSON.stringify(task),
      CLICKSTREAM_RESULT_FILE: resultFile,
    });
    if (run.lost) return 'lost';
    if (stop.aborted) {
      const detail = 'the worker was stopped (SIGTERM) while the command ran; handed back for another worker';
      return await end('fail', { detail, retry: true }, 'handed_back');
    }
    if (run.code !== 0) {
      const status = run.code === null ? `was killed by ${String(run.signal)}` : `exited with status ${run.code}`;
      return await end('fail', { detail: withTail(`the command ${status}`, run.stderrTail) }, 'failed');
    }
    const result = await readResult(resultFile);
    if (typeof result === 'string') return await end('fail', { detail: result }, 'failed');
    return await end('complete', result, 'done');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function formatOf(task: Task): TrainingFormat {
  const format = task.params.format;
  return (TRAINING_FORMATS as readonly unknown[]).includes(format) ? (format as TrainingFormat) : 'jsonl';
}

/** `work`'s result, or 'lost' when the service says this worker no longer holds the lease. */
async function leaseHeld<T>(work: Promise<unknown>, value: T): Promise<T | 'lost'> {
  try {
    await work;
    return value;
  } catch (error) {
    if (error instanceof ClickstreamError && error.code === 'lease_lost') return 'lost';
    throw error;
  }
}

interface CommandRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderrTail: string;
  /** The lease was lost (or the task canceled) while it ran: the command was stopped. */
  readonly lost: boolean;
}

function runCommand(
  client: ServiceClient,
  task: Task,
  options: RunOptions,
  stop: AbortSignal,
  taskEnv: Record<string, string>,
): Promise<CommandRun> {
  // In its own process group, so that a stop reaches whatever the shell started.
  const child = spawn('sh', ['-c', options.command], {
    env: { ...trainerEnv(process.env), ...taskEnv },
    stdio: ['ignore', 'inherit', 'pipe'],
    detached: true,
  });
  let tail = '';
  child.stderr.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-MAX_DETAIL_LENGTH);
  });
  let lost = false;
  let killTimer: NodeJS.Timeout | undefined;
  const terminate = () => {
    if (killTimer) return;
    signalGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => {
      signalGroup(child.pid, 'SIGKILL');
    }, options.killGraceSeconds * 1000);
  };
  const heartbeat = heartbeats(client, task, options, () => {
    lost = true;
    options.log(`task ${task.id}: the lease is lost or the task was canceled; stopping the command`);
    terminate();
  });
  stop.addEventListener('abort', terminate, { once: true });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearInterval(heartbeat);
      clearTimeout(killTimer);
      stop.removeEventListener('abort', terminate);
      resolve({ code, signal, stderrTail: tail, lost });
    });
  });
}

/** Heartbeats every third of the lease; `onLost` when the service answers that the lease is gone. */
function heartbeats(client: ServiceClient, task: Task, options: RunOptions, onLost: () => void): NodeJS.Timeout {
  let inFlight = false;
  return setInterval(
    () => {
      if (inFlight) return;
      inFlight = true;
      client
        .request('POST', `${TASK}/${encodeURIComponent(task.id)}/heartbeat`, {
          worker_id: options.workerId,
          lease_seconds: options.leaseSeconds,
        })
        .catch((error: unknown) => {
          if (error instanceof ClickstreamError && error.code === 'lease_lost') onLost();
          // Else (the service unreachable a moment): the next beat tries again, within the lease.
          else
            options.log(`task ${task.id}: heartbeat failed: ${error instanceof Error ? error.message : String(error)}`);
        })
        .finally(() => {
          inFlight = false;
        });
    },
    (options.leaseSeconds * 1000) / 3,
  );
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** The worker's environment without a key: a trainer never holds one (any CLICKSTREAM_*KEY* variable). */
export function trainerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^CLICKSTREAM_.*KEY/.test(name)));
}

/** The detail of a failed command: what happened, then as much of the end of its stderr as fits. */
function withTail(what: string, tail: string): string {
  const prefix = `${what}; the end of its stderr:\n`;
  const trimmed = tail.trim();
  if (trimmed === '') return `${what} (nothing on stderr)`;
  return prefix + trimmed.slice(-(MAX_DETAIL_LENGTH - prefix.length));
}

/** The completion the result file asks for ({} when the command wrote none), or why it is refused. */
async function readResult(file: string): Promise<Omit<CompleteBody, 'worker_id'> | string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `the result file (CLICKSTREAM_RESULT_FILE) is not JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'the result file (CLICKSTREAM_RESULT_FILE) must hold a JSON object';
  }
  const result = value as Record<string, unknown>;
  const unknown = Object.keys(result).filter((key) => !RESULT_FIELDS.includes(key));
  if (unknown.length > 0) {
    return `the result file (CLICKSTREAM_RESULT_FILE) may hold ${RESULT_FIELDS.join(', ')} only, not ${unknown.join(', ')}`;
  }
  const { best_model_url: url, best_model_id: modelId, metrics } = result;
  if ((url !== undefined && typeof url !== 'string') || (modelId !== undefined && typeof modelId !== 'string')) {
    return 'the result file (CLICKSTREAM_RESULT_FILE): best_model_url and best_model_id must be strings';
  }
  if (metrics !== undefined && (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics))) {
    return 'the result file (CLICKSTREAM_RESULT_FILE): metrics must be a JSON object';
  }
  return {
    ...(url !== undefined ? { best_model_url: url } : {}),
    ...(modelId !== undefined ? { best_model_id: modelId } : {}),
    ...(metrics !== undefined ? { metrics: metrics as Record<string, unknown> } : {}),
  };
}
