import { isDeepStrictEqual } from 'node:util';

export type JsonObject = Record<string, unknown>;

/** Size in bytes of a value as it is stored (compact JSON, UTF-8). */
export function serializedBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/**
 * Content equality of two JSON values as they would be stored: object key order does not matter, array
 * order does, and -0 equals 0 (JSON has one zero; a stored -0 reads back as 0).
 */
export function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(asStored(a), asStored(b));
}

function asStored(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/**
 * The deepest nesting of objects and arrays in a JSON text, found by scanning the text before it is
 * parsed, so that a hostile body costs one linear pass and never a deep recursion. Stops counting as soon
 * as `limit` is exceeded and returns the offset where that happened.
 */
export function findExcessiveNesting(text: string, limit: number): { depth: number; offset: number } | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > limit) return { depth, offset: i };
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return null;
}

/** A path as users write it: `events[3].meta["odd key"]`. Array indexes may be numbers or digit strings. */
export function jsonPath(segments: readonly (string | number)[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number' || /^\d+$/.test(segment)) path += `[${String(segment)}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

/**
 * Whether a parsed JSON value holds a number that is not finite (see nonFiniteNumberPaths): the check every
 * body gets, so it allocates nothing.
 */
export function hasNonFiniteNumber(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (hasNonFiniteNumber(item)) return true;
    return false;
  }
  for (const key in value) {
    if (Object.hasOwn(value, key) && hasNonFiniteNumber((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/**
 * Paths of the numbers in a parsed JSON value that are not finite: JSON.parse reads 1e400 as Infinity,
 * which would be stored and read back as null. Depth is bounded by the body parser's nesting limit.
 */
export function nonFiniteNumberPaths(value: unknown, at: (string | number)[] = []): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [jsonPath(at)];
  if (Array.isArray(value)) return value.flatMap((item, index) => nonFiniteNumberPaths(item, [...at, index]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => nonFiniteNumberPaths(item, [...at, key]));
  }
  return [];
}
