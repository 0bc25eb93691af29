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
