/**
 * The flags `bias` and `training-data` share, and their reading into the training service's options: the
 * same parser as the HTTP routes' query parameters, with the flags' names in its messages.
 */
import { ClickstreamError } from '../domain/errors.js';
import type { RawOptions } from '../services/training-options.js';
import type { FlagSpec } from './flags.js';
import { UsageError, type ParsedCommand } from './flags.js';

export const SIGNAL_FLAGS: NonNullable<FlagSpec['options']> = {
  'batch-id': { type: 'string', help: 'The released batch to read (required).' },
  'max-position': {
    type: 'string',
    help: 'Read positions 0 to N-1 only (default 10 for bias, pbm and coec; every position for clicks and skip-above).',
  },
  'query-field': {
    type: 'string',
    help: 'Dot path of the query text in a structured search_query (e.g. query.text); without it, structured queries are skipped and counted.',
  },
  'document-field': {
    type: 'string',
    help: "Dot path of the document text in each result's meta (item_info); default: the object_id.",
  },
  'event-weights': {
    type: 'string',
    help: 'Weights by event type, merged over click=1,add_to_cart=2,purchase=3 (other types are ignored; type=0 drops one).',
  },
};

/** The flags as the option parser reads them: snake_case names, string values. */
export function rawOptions(options: ParsedCommand['options']): RawOptions {
  const raw: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(options)) {
    if (typeof value === 'string') raw[name.replaceAll('-', '_')] = value;
  }
  return raw;
}

export const flagOf = (snake: string): string => `--${snake.replaceAll('_', '-')}`;

/** Reads options, turning a refusal of their values into a usage error (exit code 2) that lists them all. */
export function readFlags<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ClickstreamError && error.code === 'validation_failed') {
      throw new UsageError(error.errors.map((e) => `${e.path} ${e.message}`).join('; '));
    }
    throw error;
  }
}

/** A batch that is still collecting is the caller's to fix (exit code 2), as `export` answers it. */
export async function releasedOnly<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ClickstreamError && error.code === 'batch_not_released') throw new UsageError(error.message);
    throw error;
  }
}
