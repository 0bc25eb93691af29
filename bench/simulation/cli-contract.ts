/**
 * The CLI commands the simulation measures, and their output as the contract gives it:
 *   clickstream bias --batch-id B --format json --max-position N
 *     {"batch_id", "model": "pbm", "sessions", "skipped": {...}, "propensities": [{"position", "propensity",
 *      "impressions", "clicks", "ctr"}], "iterations", "converged", "warnings": [{"code", "message", ...}]}
 *   clickstream training-data --batch-id B --method M --format judgments
 *     JSON Lines, one per (query, object) shown: {"query", "object_id", "rating", "impressions", "clicks",
 *     "mean_position"}
 * Parsing is strict: a field missing or of another type is an error naming it, not a silent zero.
 */
import type { JudgmentRow } from '../../src/learning/rows.js';

export const JUDGMENT_METHODS = ['clicks', 'skip-above', 'pbm', 'coec'] as const;
export type JudgmentMethod = (typeof JUDGMENT_METHODS)[number];

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `clickstream <args>` on the service's store. */
export type RunCli = (args: readonly string[]) => Promise<CliRun>;

export interface BiasOutput {
  readonly batchId: string;
  readonly model: string;
  readonly sessions: number;
  readonly skipped: Readonly<Record<string, unknown>>;
  readonly propensities: readonly {
    readonly position: number;
    readonly propensity: number;
    readonly impressions: number;
    readonly clicks: number;
    readonly ctr: number;
  }[];
  readonly iterations: number;
  readonly converged: boolean;
  readonly warnings: readonly { readonly code: string; readonly message: string }[];
}

/** A judgments line as the click models produce it (src/learning/rows.ts), without the split. */
export type Judgment = Omit<JudgmentRow, 'split'>;

type Json = Readonly<Record<string, unknown>>;

function record(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: not an object`);
  return value as Json;
}

function field<T>(object: Json, key: string, where: string, check: (v: unknown) => v is T, kind: string): T {
  const value = object[key];
  if (!check(value)) throw new Error(`${where}: "${key}" is not ${kind} (got ${JSON.stringify(value)})`);
  return value;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);

export function parseBias(stdout: string): BiasOutput {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (error) {
    throw new Error(`bias: stdout is not one JSON document (${String(error)}): ${stdout.slice(0, 300)}`);
  }
  const top = record(parsed, 'bias');
  const num = (o: Json, key: string, where: string): number => field(o, key, where, isNumber, 'a finite number');
  const propensities = field(top, 'propensities', 'bias', isArray, 'an array').map((item, i) => {
    const where = `bias: propensities[${i}]`;
    const p = record(item, where);
    return {
      position: num(p, 'position', where),
      propensity: num(p, 'propensity', where),
      impressions: num(p, 'impressions', where),
      clicks: num(p, 'clicks', where),
      ctr: num(p, 'ctr', where),
    };
  });
  const warnings = field(top, 'warnings', 'bias', isArray, 'an array').map((item, i) => {
    const where = `bias: warnings[${i}]`;
    const w = record(item, where);
    return {
      code: field(w, 'code', where, isString, 'a string'),
      message: field(w, 'message', where, isString, 'a string'),
    };
  });
  return {
    batchId: field(top, 'batch_id', 'bias', isString, 'a string'),
    model: field(top, 'model', 'bias', isString, 'a string'),
    sessions: num(top, 'sessions', 'bias'),
    skipped: record(top.skipped, 'bias: skipped'),
    propensities,
    iterations: num(top, 'iterations', 'bias'),
    converged: field(top, 'converged', 'bias', isBoolean, 'a boolean'),
    warnings,
  };
}

export function parseJudgments(stdout: string, method: string): Judgment[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const where = `training-data --method ${method}: line ${i + 1}`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new Error(`${where}: not JSON: ${line.slice(0, 300)}`);
      }
      const row = record(parsed, where);
      const num = (key: string): number => field(row, key, where, isNumber, 'a finite number');
      return {
        query: field(row, 'query', where, isString, 'a string'),
        objectId: field(row, 'object_id', where, isString, 'a string'),
        rating: num('rating'),
        impressions: num('impressions'),
        clicks: num('clicks'),
        meanPosition: num('mean_position'),
      };
    });
}

/** Runs one command and returns its stdout; a failure names the command, its exit and its stderr. */
export async function runOrExplain(runCli: RunCli, args: readonly string[]): Promise<string> {
  const run = await runCli(args);
  if (run.code === 0) return run.stdout;
  const command = `clickstream ${args.join(' ')}`;
  const missing = /unknown command|unknown flag|not a flag|did you mean/i.test(run.stderr)
    ? ' (the command or one of its flags does not exist in this build: has it landed, and was `npm run build` run?)'
    : '';
  throw new Error(
    `${command} failed with exit ${run.code ?? run.signal ?? '?'}${missing}\n--- stderr ---\n${run.stderr.slice(-3000)}`,
  );
}

export async function readBias(runCli: RunCli, batchId: string, maxPosition: number): Promise<BiasOutput> {
  const args = ['bias', '--batch-id', batchId, '--format', 'json', '--max-position', String(maxPosition)];
  return parseBias(await runOrExplain(runCli, args));
}

export async function readJudgments(runCli: RunCli, batchId: string, method: JudgmentMethod): Promise<Judgment[]> {
  const args = ['training-data', '--batch-id', batchId, '--method', method, '--format', 'judgments'];
  return parseJudgments(await runOrExplain(runCli, args), method);
}
