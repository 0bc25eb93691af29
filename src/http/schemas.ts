import { Type, type TSchema } from 'typebox';
import { Problem } from '../schemas/records.js';

/** Statuses every route can answer with, whatever it does. */
const COMMON_ERRORS = [400, 413, 415, 500, 503] as const;

const DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Invalid JSON or a request that breaks a rule (every offending item is listed under errors).',
  404: 'Not found (see code).',
  409: 'Conflicts with what is stored (see code).',
  413: 'Body larger than CLICKSTREAM_MAX_BODY_BYTES.',
  415: 'Body is not application/json.',
  500: 'Internal error; no details are returned.',
  503: 'Storage unavailable; retry later.',
};

/**
 * The response map of a route: its success schema plus problem+json for the common errors and the
 * route's own error statuses, so that the OpenAPI document lists every status a client can see.
 */
export function responses(ok: TSchema, ...routeErrors: number[]): Record<number, unknown> {
  const map: Record<number, unknown> = { 200: ok };
  for (const status of [...COMMON_ERRORS, ...routeErrors]) {
    map[status] = {
      description: DESCRIPTIONS[status] ?? 'Error',
      content: { 'application/problem+json': { schema: Problem } },
    };
  }
  return map;
}

export const Status = Type.Object({ status: Type.String() });
