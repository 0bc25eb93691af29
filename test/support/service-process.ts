/**
 * Real processes for end-to-end tests: the service (`src/main.ts`) and the CLI (`src/cli/main.ts`), each
 * run by this Node with tsx, in the repository root, on a SQLite file in a scratch directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root: the working directory of every child, so that `--import tsx` resolves. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How long a child may take to start listening; tsx compiles on the fly, which is slow on a busy machine. */
const START_TIMEOUT_MS = 20_000;
/** How long a CLI command may run before the helper gives up on it. */
const CLI_TIMEOUT_MS = 60_000;

/** The `sqlite:` URL of the store file the helpers use in `dir`. */
export function databaseUrl(dir: string): string {
  return `sqlite:${join(dir, 'db.sqlite')}`;
}

/**
 * The environment of a child: this process's environment without any CLICKSTREAM_* variable (so the
 * developer's shell cannot leak into a test) and without the test runner's own markers, then the test's
 * store, an info log level and the given overrides.
 */
export function childEnv(dir: string, overrides: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('CLICKSTREAM_') || key.startsWith('NODE_TEST')) continue;
    env[key] = value;
  }
  return {
    ...env,
    CLICKSTREAM_PORT: '0',
    CLICKSTREAM_DATABASE_URL: databaseUrl(dir),
    CLICKSTREAM_LOG_LEVEL: 'info',
    ...overrides,
  };
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** Every stdout line so far, parsed when it was JSON (pino), else kept as text. */
  readonly logLines: readonly (LogLine | string)[];
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** Resolves when the child has exited (at once when it has already). */
  readonly exited: Promise<Exit>;
  /** Ends the child if it still runs: SIGKILL, then waits for its exit. Safe to call many times. */
  kill(): Promise<Exit>;
}

/** A pino line; only the fields the tests read are typed. */
export interface LogLine {
  readonly msg?: unknown;
  readonly level?: unknown;
  readonly addresses?: unknown;
  readonly [key: string]: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseLogLine(line: string): LogLine | string {
  try {
    const parsed: unknown = JSON.parse(line);
    return isRecord(parsed) ? parsed : line;
  } catch {
    return line;
  }
}

/** The port of the first address in a "listening" line, or undefined when the line is something else. */
function listeningPort(line: LogLine | string): number | undefined {
  if (typeof line === 'string' || line.msg !== 'listening' || !Array.isArray(line.addresses)) return undefined;
  for (const address of line.addresses as unknown[]) {
    if (isRecord(address) && typeof address.port === 'number' && address.port > 0) return address.port;
  }
  return undefined;
}

function exitPromise(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
}

/**
 * Starts the service (`node --import tsx src/main.ts`) on a free port and resolves once it logged its
 * "listening" line. Rejects, with the child's stderr and output, when the child exits first or does not
 * listen within 20 s; the child is killed then. Callers must `kill()` it in their teardown.
 */
export async function startService(
  dir: string,
  overrides: Readonly<Record<string, string>> = {},
  args: readonly string[] = [],
  nodeArgs: readonly string[] = [],
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, 'src/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: childEnv(dir, overrides),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = exitPromise(child);
  const logLines: (LogLine | string)[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout });

  const kill = async (): Promise<Exit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  };

  const port = await new Promise<number>((resolve, reject) => {
    const describe = (why: string) =>
      new Error(
        `${why}\n--- child stderr ---\n${stderr}\n--- child stdout ---\n${logLines
          .map((l) => (typeof l === 'string' ? l : JSON.stringify(l)))
          .join('\n')}`,
      );
    const timer = setTimeout(() => {
      void kill();
      reject(describe(`the service did not log "listening" within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    lines.on('line', (text) => {
      const line = parseLogLine(text);
      logLines.push(line);
      const found = listeningPort(line);
      if (found !== undefined) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(describe(`the service exited before listening (code ${code}, signal ${signal})`));
    });
  });

  return {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    logLines,
    stderr: () => stderr,
    exited,
    kill,
  };
}

/** Waits for a child's exit for at most `ms`; rejects (naming the wait) when it is still running then. */
export async function exitWithin(service: ServiceProcess, ms: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`the service was still running ${ms} ms later\n--- child stderr ---\n${service.stderr()}`));
    }, ms);
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs one CLI command (`node --import tsx src/cli/main.ts ...args`) to completion on the scratch store
 * of `dir` and returns its exit code and output. A command that runs longer than 60 s is killed, and the
 * result says so through its signal.
 */
export async function runCliProcess(
  dir: string,
  args: readonly string[],
  overrides: Readonly<Record<string, string>> = {},
  nodeArgs: readonly string[] = [],
): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, 'src/cli/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: childEnv(dir, overrides),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
  try {
    // 'close' (not 'exit') so that both pipes are drained before the output is returned.
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}
