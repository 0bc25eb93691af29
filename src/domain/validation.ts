import type { FieldError } from './errors.js';
import { serializedBytes } from './json.js';
import { LIMIT_VARIABLES, type Limits } from './limits.js';
import { timestampProblem, type TimeWindow } from './time.js';

// C0 and C1 control characters; ids are printed in logs, CSVs and file names downstream.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/u;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Collects every rule a request breaks, each under its JSON path, so one answer can list them all.
 * The checks accept any value and skip what is not of the expected type: the shape is the schema's to
 * report, and both reports are merged.
 */
export class Problems {
  readonly list: FieldError[] = [];
  /** Paths whose only problem is a timestamp outside the window: a retry of stored data may have them. */
  readonly outsideWindow = new Set<string>();

  constructor(private readonly limits: Limits) {}

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  /** An identifier: 1..maxIdLength characters, well-formed Unicode, no control characters. True if valid. */
  checkId(path: string, value: unknown): boolean {
    if (typeof value !== 'string') return false;
    const problemCount = this.list.length;
    // Characters are code points: an emoji counts once.
    const length = value.length > this.limits.maxIdLength ? codePoints(value) : value.length;
    if (length === 0) this.add(path, 'must not be empty');
    else if (length > this.limits.maxIdLength) {
      this.add(
        path,
        `is ${length} characters; the limit is ${this.limits.maxIdLength} (${LIMIT_VARIABLES.maxIdLength})`,
      );
    } else if (CONTROL_CHARACTER.test(value)) this.add(path, 'must not contain control characters');
    else if (!value.isWellFormed()) this.add(path, 'must be well-formed Unicode (it holds a lone surrogate)');
    return this.list.length === problemCount;
  }

  /** A JSON value whose serialized size is bounded by the named limit (absent and null pass). */
  checkSize(path: string, value: unknown, limit: 'maxMetaBytes' | 'maxSearchMetaBytes'): void {
    if (value === undefined || value === null) return;
    const bytes = serializedBytes(value);
    if (bytes > this.limits[limit]) {
      this.add(path, `is ${bytes} bytes serialized; the limit is ${this.limits[limit]} (${LIMIT_VARIABLES[limit]})`);
    }
  }

  /** A count of items bounded by the named limit. */
  checkCount(
    path: string,
    count: number,
    limit: 'maxResultsPerSession' | 'maxEventsPerRequest' | 'maxIngestItems',
  ): void {
    if (count > this.limits[limit]) {
      this.add(path, `has ${count} items; the limit is ${this.limits[limit]} (${LIMIT_VARIABLES[limit]})`);
    }
  }

  /** A client timestamp inside the accepted window (absent and null pass: the server's time is used). */
  checkTimestamp(path: string, value: unknown, now: number, window: TimeWindow): void {
    if (typeof value !== 'number' || !Number.isInteger(value)) return;
    const problem = timestampProblem(value, now, window);
    if (problem === null) return;
    this.add(path, problem);
    this.outsideWindow.add(path);
  }

  /** A finite number, where JSON's 1e400 would otherwise be stored as Infinity and read back as null. */
  checkFinite(path: string, value: unknown): void {
    if (typeof value === 'number' && !Number.isFinite(value)) this.add(path, 'must be a finite number');
  }

  /** `meta` and its alias `item_info` of an item: at most one of them, within the meta size limit. */
  checkMeta(path: string, item: Record<string, unknown>): void {
    const hasMeta = item.meta !== undefined && item.meta !== null;
    const hasItemInfo = item.item_info !== undefined && item.item_info !== null;
    if (hasMeta && hasItemInfo) this.add(`${path}.item_info`, 'is an alias of meta; send one of them, not both');
    else if (hasMeta) this.checkSize(`${path}.meta`, item.meta, 'maxMetaBytes');
    else if (hasItemInfo) this.checkSize(`${path}.item_info`, item.item_info, 'maxMetaBytes');
  }
}

function codePoints(text: string): number {
  let count = 0;
  // for...of walks a string by code point: a surrogate pair is one step.
  for (const _ of text) count++;
  return count;
}

/**
 * Splits checked problems: those that only say a timestamp is outside the time window, and the rest.
 * Idempotent retries of stored data are answered as before even when their timestamps have since aged
 * out of the window; only new data must be inside it.
 */
export function splitOutsideWindow(problems: Problems): { outsideWindow: FieldError[]; others: FieldError[] } {
  const outsideWindow: FieldError[] = [];
  const others: FieldError[] = [];
  for (const problem of problems.list) {
    (problems.outsideWindow.has(problem.path) ? outsideWindow : others).push(problem);
  }
  return { outsideWindow, others };
}

/** The meta of an item, taken from `meta` or its alias `item_info`; null when neither is given. */
export function metaOf(item: {
  meta?: Record<string, unknown> | null;
  item_info?: Record<string, unknown> | null;
}): Record<string, unknown> | null {
  return item.meta ?? item.item_info ?? null;
}

/** The problems of a body whose only field is one identifier (release_id, session_id). */
export function idFieldProblems(body: unknown, field: string, limits: Limits): FieldError[] {
  const problems = new Problems(limits);
  if (isRecord(body)) problems.checkId(field, body[field]);
  return problems.list;
}
