/**
 * The options of `bias` and `training-data`, read from flags or query parameters (the same names, kebab
 * or snake case) into what the training service takes. Every problem is named with the option as the
 * caller wrote it, all at once.
 */
import { validationFailed, type FieldError } from '../domain/errors.js';
import { TRAINING_FORMATS, type TrainingFormat } from '../formats/training-formats.js';
import { DEFAULT_EVENT_WEIGHTS, parseEventWeights } from '../learning/event-weights.js';
import { DEFAULT_MIN_RATING } from '../learning/ratings.js';
import { TRAINING_METHODS, type TrainingMethod } from '../learning/rows.js';
import { SPLIT_BY, type SplitBy } from '../learning/split.js';
import type { SignalOptions, TrainingOptions } from './training.js';

/** Raw option values by their snake_case name (`max_position`); absent as undefined. */
export type RawOptions = Readonly<Record<string, string | undefined>>;

/** How a caller names an option in messages: `--max-position` on the CLI, `max_position` over HTTP. */
export type OptionName = (snake: string) => string;

/** Positions the position models read by default; clicks and skip-above read every position shown. */
export const DEFAULT_MAX_POSITION = 10;
const MAX_POSITION_LIMIT = 1000;

class OptionProblems {
  readonly list: FieldError[] = [];
  constructor(private readonly name: OptionName) {}

  add(snake: string, message: string): void {
    this.list.push({ path: this.name(snake), message });
  }

  integer(raw: RawOptions, snake: string, min: number, max: number): number | undefined {
    const value = raw[snake];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max)
      this.add(snake, `must be a whole number from ${min} to ${max}, got "${value}"`);
    return n;
  }

  fraction(raw: RawOptions, snake: string): number | undefined {
    const value = raw[snake];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (value.trim() === '' || !(n > 0 && n < 1))
      this.add(snake, `must be a number between 0 and 1 (exclusive), got "${value}"`);
    return n;
  }

  number(raw: RawOptions, snake: string): number | undefined {
    const value = raw[snake];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) this.add(snake, `must be a number, got "${value}"`);
    return n;
  }

  oneOf<T extends string>(raw: RawOptions, snake: string, allowed: readonly T[]): T | undefined {
    const value = raw[snake];
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value))
      this.add(snake, `must be one of ${allowed.join(', ')}, got "${value}"`);
    return value as T;
  }

  path(raw: RawOptions, snake: string): string | null {
    const value = raw[snake];
    if (value === undefined) return null;
    if (!/^[^.\s]+(\.[^.\s]+)*$/.test(value)) this.add(snake, `must be a dot path such as query.text, got "${value}"`);
    return value;
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw validationFailed(this.list);
  }
}

function signalOptions(raw: RawOptions, problems: OptionProblems, defaultMaxPosition: number): SignalOptions {
  let weights = DEFAULT_EVENT_WEIGHTS;
  if (raw.event_weights !== undefined) {
    try {
      weights = parseEventWeights(raw.event_weights);
    } catch (error) {
      problems.add('event_weights', error instanceof Error ? error.message : String(error));
    }
  }
  return {
    maxPosition: problems.integer(raw, 'max_position', 1, MAX_POSITION_LIMIT) ?? defaultMaxPosition,
    weights,
    fields: { queryField: problems.path(raw, 'query_field'), documentField: problems.path(raw, 'document_field') },
  };
}

/** The options of `bias`: which positions, weights and query text. */
export function biasOptions(raw: RawOptions, name: OptionName): SignalOptions {
  const problems = new OptionProblems(name);
  const options = signalOptions(raw, problems, DEFAULT_MAX_POSITION);
  problems.throwIfAny();
  return options;
}

/** The options of `training-data`; `method` is required. */
export function trainingOptions(raw: RawOptions, name: OptionName): TrainingOptions {
  const problems = new OptionProblems(name);
  const method = problems.oneOf<TrainingMethod>(raw, 'method', TRAINING_METHODS);
  if (raw.method === undefined) problems.add('method', `is required: one of ${TRAINING_METHODS.join(', ')}`);
  const positional = method === 'pbm' || method === 'coec';
  const signals = signalOptions(raw, problems, positional ? DEFAULT_MAX_POSITION : MAX_POSITION_LIMIT);
  const testFraction = problems.fraction(raw, 'test_fraction');
  const by = problems.oneOf<SplitBy>(raw, 'split_by', SPLIT_BY) ?? 'query';
  if (raw.split_by !== undefined && testFraction === undefined)
    problems.add('split_by', `needs ${name('test_fraction')}`);
  const minRating = problems.number(raw, 'min_rating');
  if (minRating !== undefined && !positional) problems.add('min_rating', 'applies to the pbm and coec methods only');
  problems.throwIfAny();
  const chosen = method ?? 'clicks';
  return {
    ...signals,
    method: chosen,
    minRating: minRating ?? DEFAULT_MIN_RATING[chosen],
    split: testFraction === undefined ? null : { testFraction, by },
  };
}

/** The format of `training-data`: `fallback` (jsonl) unless one is given. */
export function trainingFormat(raw: RawOptions, name: OptionName, fallback: TrainingFormat = 'jsonl'): TrainingFormat {
  const problems = new OptionProblems(name);
  const format = problems.oneOf<TrainingFormat>(raw, 'format', TRAINING_FORMATS);
  problems.throwIfAny();
  return format ?? fallback;
}

/** What one stream of training data is made of: its format and the options of its rows. */
export interface TrainingRequest {
  readonly format: TrainingFormat;
  readonly options: TrainingOptions;
}

/**
 * Format and options for one stream (the HTTP route, a fine-tuning task): as trainingFormat and
 * trainingOptions read them, and a split only in a format with a split column.
 */
export function trainingRequest(raw: RawOptions, name: OptionName, fallback: TrainingFormat): TrainingRequest {
  const format = trainingFormat(raw, name, fallback);
  const options = trainingOptions(raw, name);
  if (options.split && format === 'sentence-transformers') {
    throw validationFailed([
      {
        path: name('test_fraction'),
        message: 'a sentence-transformers file holds no split column: use jsonl or parquet',
      },
    ]);
  }
  return { format, options };
}
