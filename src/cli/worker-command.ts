/**
 * `clickstream worker`: a fine-tuning worker. Claims tasks from a running service over HTTP, runs the
 * trainer command for each (task-runner.ts), and waits for the next. Its key is its own
 * (CLICKSTREAM_WORKER_KEY, one of the service's CLICKSTREAM_WORKER_KEYS), else the admin key. SIGTERM or
 * SIGINT stops it: the task in hand goes back to the queue first.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { TRAINING_METHODS } from '../learning/rows.js';
import { DEFAULT_LEASE_SECONDS, MAX_LEASE_SECONDS, MIN_LEASE_SECONDS, type Task } from '../schemas/tasks.js';
import type { CommandIO, CommandSpec } from './command.js';
import { UsageError, wholeNumberFlag, type ParsedCommand } from './flags.js';
import { ServiceClient, ServiceUnreachable, serviceUrl } from './service-client.js';
import { runTask, type TaskOutcome } from './task-runner.js';

export const workerCommand: CommandSpec = {
  name: 'worker',
  summary: 'claim fine-tuning tasks from a running service and run a trainer command for each',
  usage: 'clickstream worker --exec "<command>" [--url URL] [--method M] [--lease-seconds N] [--once] [flags]',
  settings: [],
  store: 'none',
  options: {
    exec: {
      type: 'string',
      help: 'The trainer, run by sh -c with CLICKSTREAM_TASK_ID, CLICKSTREAM_TRAINING_DATA (the file), CLICKSTREAM_TASK_JSON and CLICKSTREAM_RESULT_FILE (write {"best_model_url", "best_model_id", "metrics"} there) set, and no CLICKSTREAM_*KEY* variable (required).',
    },
    url: { type: 'string', help: 'The service (default: CLICKSTREAM_URL, else http://127.0.0.1:5000).' },
    method: { type: 'string', help: 'Claim only tasks of these training-data methods (comma-separated).' },
    'lease-seconds': {
      type: 'string',
      help: 'Lease asked for each task, 5 to 3600 (default 60); heartbeats every third.',
    },
    'kill-grace-seconds': {
      type: 'string',
      help: 'After SIGTERM, how long the command has before SIGKILL when its task is canceled or lost (default 10).',
    },
    'poll-seconds': { type: 'string', help: 'Wait between claims while no task is pending (default 5).' },
    'worker-id': { type: 'string', help: 'The name this worker claims under (default: host name and process id).' },
    once: { type: 'boolean', help: 'Run one task and exit (0 when it is done or none is pending, 1 otherwise).' },
  },
};

export async function runWorker(parsed: ParsedCommand, { err }: CommandIO): Promise<void> {
  const { options } = parsed;
  const command = options.exec;
  if (typeof command !== 'string' || command.trim() === '') throw new UsageError('--exec "<command>" is required');
  const methods = methodList(options.method);
  const leaseSeconds =
    wholeNumberFlag(options, 'lease-seconds', MIN_LEASE_SECONDS, MAX_LEASE_SECONDS) ?? DEFAULT_LEASE_SECONDS;
  const killGraceSeconds = wholeNumberFlag(options, 'kill-grace-seconds', 0, 3600) ?? 10;
  const pollSeconds = wholeNumberFlag(options, 'poll-seconds', 1, 3600) ?? 5;
  const workerId = typeof options['worker-id'] === 'string' ? options['worker-id'] : `${hostname()}.${process.pid}`;
  const url = serviceUrl(options.url, process.env);
  const client = new ServiceClient(url, process.env.CLICKSTREAM_WORKER_KEY ?? process.env.CLICKSTREAM_ADMIN_KEY);
  const log = (line: string) => err.write(`worker ${workerId}: ${line}\n`);

  const stopping = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`);
    stopping.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    log(`claiming tasks from ${url}${methods ? ` (methods ${methods.join(', ')})` : ''}`);
    for (;;) {
      if (stopping.signal.aborted) return;
      const task = await claim(client, workerId, leaseSeconds, methods, log);
      if (task === undefined || task === null) {
        if (options.once === true && task === null) return;
        await sleep(pollSeconds * 1000, undefined, { signal: stopping.signal }).catch(() => undefined);
        continue;
      }
      log(`claimed task ${task.id} (method ${task.method}, batch ${String(task.batch_id)}, attempt ${task.attempts})`);
      let outcome: TaskOutcome | 'error';
      try {
        outcome = await runTask(
          client,
          task,
          { command, workerId, leaseSeconds, killGraceSeconds, log },
          stopping.signal,
        );
      } catch (error) {
        // Its lease runs out and the service hands it to another worker.
        log(`task ${task.id}: ${error instanceof Error ? error.message : String(error)}`);
        outcome = 'error';
      }
      log(`task ${task.id}: ${outcome}`);
      if (options.once === true) {
        if (outcome !== 'done') process.exitCode = 1;
        return;
      }
    }
  } finally {
    process.removeListener('SIGTERM', stop);
    process.removeListener('SIGINT', stop);
  }
}

/** A claimed task, null when none is pending, undefined when the service could not be reached. */
async function claim(
  client: ServiceClient,
  workerId: string,
  leaseSeconds: number,
  methods: readonly string[] | null,
  log: (line: string) => void,
): Promise<Task | null | undefined> {
  try {
    const { body } = await client.request<Task | null>('POST', '/api/v1/fine-tuning/task/claim', {
      worker_id: workerId,
      lease_seconds: leaseSeconds,
      ...(methods ? { methods } : {}),
    });
    return body;
  } catch (error) {
    if (!(error instanceof ServiceUnreachable)) throw error;
    log(`${error.message}; trying again`);
    return undefined;
  }
}

function methodList(value: unknown): string[] | null {
  if (typeof value !== 'string') return null;
  const methods = value.split(',').map((method) => method.trim());
  const unknown = methods.filter((method) => !(TRAINING_METHODS as readonly string[]).includes(method));
  if (unknown.length > 0) {
    throw new UsageError(
      `--method: ${unknown.join(', ')} is not a method; the methods are ${TRAINING_METHODS.join(', ')}`,
    );
  }
  return methods;
}
