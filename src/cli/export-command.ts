import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Config } from '../config/config.js';
import { ClickstreamError, type ErrorCode } from '../domain/errors.js';
import type { SessionWithEvents } from '../schemas/records.js';
import type { ExportPart } from '../services/batches.js';
import { MissingStoreError } from '../storage/create-store.js';
import { startWorker } from '../worker-thread.js';
import type { CommandIO, CommandSpec } from './command.js';
import { exportVerdict, type ExportAllowance } from './export-verdict.js';
import { batchIdFlag, UsageError, type ParsedCommand } from './flags.js';
import { OutputFile } from './output-file.js';
import { batchService } from './store-session.js';

const MAX_THREADS = 16;

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'stream a batch as JSON Lines: one session with all its events per line, in session_number order',
  usage:
    'clickstream export --batch-id <id> [--output <file>] [--threads <n>] [--allow-collecting] [--allow-unsealed] [flags]',
  settings: ['store'],
  store: 'read-only',
  options: {
    'batch-id': { type: 'string', help: 'The batch to export (required).' },
    output: { type: 'string', help: 'Write to this file instead of standard output.' },
    threads: {
      type: 'string',
      help: `Threads that read and format sessions at the same time, each with its own database connection (default: the number of CPUs, at most 4; 1 to ${MAX_THREADS}).`,
    },
    'allow-collecting': {
      type: 'boolean',
      help: 'Export the collecting batch as it is now (refused without: sessions and events are still added to it).',
    },
    'allow-unsealed': {
      type: 'boolean',
      help: 'Export a released batch that is not sealed yet without a warning (late events may still change it).',
    },
  },
};

/** What to export, where, and how, from the command's flags. */
interface ExportRequest {
  readonly batchId: string;
  readonly threadCount: number;
  readonly outputPath: string | null;
  readonly allow: ExportAllowance;
}

/** What an export thread is started with (export-thread.ts). */
export interface ExportThreadData {
  readonly config: Config;
  readonly batchId: string;
}

/** The JSON Lines of an export part, and how many sessions they are. */
interface PartText {
  readonly text: string;
  readonly count: number;
}

/** A part for a thread to read, and its answer: the part's JSON Lines, or why it failed. */
export interface ExportPartRequest {
  readonly id: number;
  readonly part: ExportPart;
}
export type ExportPartAnswer =
  | { readonly id: number; readonly text: string; readonly count: number }
  | { readonly id: number; readonly error: { readonly code: ErrorCode | null; readonly message: string } };

/**
 * The batch is cut into parts of consecutive session numbers (BatchService.exportParts). Threads read and
 * format the parts, several at a time, and this thread writes their text in order, waiting for the output
 * to drain: the output is the same as one reader paging through the batch, and memory stays bounded by
 * the parts in flight (two per thread, 50 sessions each) whatever the batch size. Reading and formatting
 * both take CPU, so threads scale with cores: 100,000 sessions took 4.5 s with one, 2.7 s with two
 * (bench/README.md).
 */
export async function runExport(parsed: ParsedCommand, io: CommandIO): Promise<number> {
  const request = exportRequest(parsed.options);
  const config = parsed.config();
  let count = 0;
  try {
    await exportTo(config, request, io, (n) => (count += n));
  } catch (error) {
    throw stoppedAfter(error, count, request.outputPath);
  }
  return count;
}

function exportRequest(options: ParsedCommand['options']): ExportRequest {
  return {
    batchId: batchIdFlag(options),
    threadCount: threadsOption(options.threads),
    outputPath: typeof options.output === 'string' ? options.output : null,
    allow: { collecting: options['allow-collecting'] === true, unsealed: options['allow-unsealed'] === true },
  };
}

/**
 * A failure that stopped a started export says how far it got and what became of the output (`count` is 0
 * when it stopped before writing: an unknown batch, a file that cannot be created).
 */
function stoppedAfter(error: unknown, count: number, outputPath: string | null): unknown {
  // Refusals before the export starts: a missing store, a batch that is unknown or not to be exported.
  if (error instanceof MissingStoreError || error instanceof UsageError) return error;
  if (error instanceof ClickstreamError && error.code === 'batch_not_found') return error;
  const output = outputPath === null ? 'the output is incomplete' : `${outputPath} was not written`;
  const message = `${error instanceof Error ? error.message : String(error)} (stopped after ${count} sessions; ${output})`;
  return error instanceof ClickstreamError
    ? new ClickstreamError(error.code, message, error.errors, { cause: error })
    : new Error(message, { cause: error });
}

async function exportTo(
  config: Config,
  { batchId, threadCount, outputPath, allow }: ExportRequest,
  { withStore, out: stdout, err }: CommandIO,
  written: (sessions: number) => void,
): Promise<void> {
  await withStore(config, async (store) => {
    const batches = batchService(store, config);
    // Checked before the output file is created, so an unknown or refused batch leaves no empty file behind.
    const verdict = exportVerdict(await batches.batchLifecycle(batchId), allow);
    if (verdict?.kind === 'refuse') throw new UsageError(verdict.message);
    if (verdict?.kind === 'warn') err.write(`clickstream export: warning: ${verdict.message}\n`);
    const parts = await batches.exportParts(batchId);
    // The last part (every session numbered after the count) has no bound: this thread reads it page by
    // page after the others, so that no thread ever holds more than a bounded part.
    const bounded = parts.filter((part) => part.through !== null);
    const tail = parts.find((part) => part.through === null);
    const threads = await ExportThreads.start(Math.min(threadCount, bounded.length), { config, batchId });
    // A file is written under a temporary name beside it and renamed when complete: whoever finds the file
    // finds all of it. A failed export removes what it wrote; standard output cannot be taken back, so
    // there the exit code is what tells.
    const file = outputPath === null ? null : new OutputFile(outputPath);
    const out: NodeJS.WritableStream = file?.stream ?? stdout;
    let complete = false;
    try {
      // A file that cannot be opened or written (no such directory, a full disk) fails the export with the
      // file system's message, at the next write or at the end, instead of crashing the process.
      let failed: Error | null = null;
      out.on('error', (error: Error) => {
        failed ??= error;
      });
      const write = async (text: string): Promise<void> => {
        if (failed) throw failed;
        if (text !== '' && !out.write(text)) await once(out, 'drain');
      };
      // Up to two parts per thread in flight, written in order as they arrive.
      const inFlight: Promise<PartText>[] = [];
      let next = 0;
      const readNext = (): void => {
        const part = bounded[next++];
        if (!part) return;
        const text = threads.read(part);
        // Awaited in order below; a later part failing first must not be an unhandled rejection meanwhile.
        text.catch(() => undefined);
        inFlight.push(text);
      };
      while (next < bounded.length && inFlight.length < 2 * threads.size) readNext();
      for (let text = inFlight.shift(); text; text = inFlight.shift()) {
        const chunk = await text;
        readNext();
        await write(chunk.text);
        written(chunk.count);
      }
      if (tail) {
        for await (const page of batches.exportPart(batchId, tail)) {
          await write(jsonLines(page));
          written(page.length);
        }
      }
      if (file) await file.complete();
      complete = true;
    } finally {
      await threads.close();
      if (!complete && file) await file.discard();
    }
  });
}

/** The export's format: one session per line, every line ended by a newline. */
export function jsonLines(sessions: readonly SessionWithEvents[]): string {
  let text = '';
  for (const session of sessions) text += `${JSON.stringify(session)}\n`;
  return text;
}

function threadsOption(value: string | boolean | undefined): number {
  if (value === undefined) return Math.min(4, availableParallelism());
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < 1 || n > MAX_THREADS) {
    throw new UsageError(`--threads must be a whole number from 1 to ${MAX_THREADS}, got "${String(value)}"`);
  }
  return n;
}

/** The export's threads; parts go to them in turn, and each answer settles its part's promise. */
class ExportThreads {
  private readonly pending = new Map<number, { resolve: (chunk: PartText) => void; reject: (error: Error) => void }>();
  private nextId = 0;

  private readonly workers: Worker[] = [];
  private readonly exited = new Set<Worker>();

  get size(): number {
    return this.workers.length;
  }

  /** Starts the threads and waits until each has opened its store. */
  static async start(count: number, data: ExportThreadData): Promise<ExportThreads> {
    const threads = new ExportThreads();
    const opened: Promise<void>[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const worker = startWorker(import.meta.url, 'export-thread', {
          workerData: data,
          // Garbage is mostly short-lived; a smaller young generation per thread keeps the peak RSS lower.
          resourceLimits: { maxYoungGenerationSizeMb: 16 },
        });
        threads.workers.push(worker);
        opened.push(threads.listen(worker));
      }
      await Promise.all(opened);
    } catch (error) {
      await threads.close();
      throw error;
    }
    return threads;
  }

  /** Settles parts by the thread's answers; resolves once the thread has opened its store. */
  private listen(worker: Worker): Promise<void> {
    return new Promise((resolve, reject) => {
      worker.on('message', (answer: ExportPartAnswer | 'ready') => {
        if (answer === 'ready') resolve();
        else this.settle(answer);
      });
      // A thread that dies fails every part in flight (and a start), so the export stops instead of waiting.
      worker.on('error', (error) => {
        reject(error);
        this.failAll(error);
      });
      worker.on('exit', (code) => {
        this.exited.add(worker);
        const error = new Error(`an export thread stopped (exit code ${code})`);
        reject(error);
        this.failAll(error);
      });
    });
  }

  read(part: ExportPart): Promise<PartText> {
    const id = this.nextId++;
    const worker = this.workers[id % this.workers.length];
    if (!worker) throw new Error('no export thread');
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, part } satisfies ExportPartRequest);
    });
  }

  /** Asks every thread to close its store and waits for it to end (ending it if it takes over 10 s). */
  async close(): Promise<void> {
    await Promise.all(
      this.workers
        .filter((worker) => !this.exited.has(worker))
        .map(async (worker) => {
          const exited = once(worker, 'exit');
          worker.postMessage('close');
          const timer = setTimeout(() => void worker.terminate(), 10_000);
          await exited;
          clearTimeout(timer);
        }),
    );
  }

  private settle(answer: ExportPartAnswer): void {
    const waiting = this.pending.get(answer.id);
    if (!waiting) return;
    this.pending.delete(answer.id);
    if ('error' in answer) {
      const { code, message } = answer.error;
      waiting.reject(code === null ? new Error(message) : new ClickstreamError(code, message));
    } else waiting.resolve({ text: answer.text, count: answer.count });
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}
