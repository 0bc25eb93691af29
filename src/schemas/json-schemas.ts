import { type Static, type TSchema, Type } from 'typebox';

/**
 * A JSON object with any keys. Not `Type.Record`: its `patternProperties: {"^.*$": ...}` does not match
 * keys holding a line break, and the response serializer would silently drop those keys.
 */
export const JsonObject = (options: { description?: string } = {}) =>
  Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true, ...options });

/**
 * `schema` or JSON null, as one type list so that a validation error reads "must be a number or null".
 * EmbeddingStudio's clients send null for every optional field they leave unset.
 */
export const OrNull = <T extends TSchema>(schema: T) =>
  Type.Unsafe<Static<T> | null>({ ...schema, type: [(schema as { type?: unknown }).type, 'null'] });
