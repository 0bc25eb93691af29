/** Every error code the API can answer with: a closed list, stable across versions. */
export const ERROR_CODES = [
  'validation_failed',
  'invalid_json',
  'bad_request',
  'unsupported_media_type',
  'payload_too_large',
  'header_too_large',
  'request_timeout',
  'not_found',
  'session_not_found',
  'batch_not_found',
  'session_conflict',
  'event_conflict',
  'session_closed',
  'no_sessions_to_release',
  'batch_not_released',
  'task_not_found',
  'task_conflict',
  'task_processing',
  'task_finished',
  'lease_lost',
  'unauthorized',
  'forbidden',
  'rate_limited',
  'service_unavailable',
  'storage_full',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** One offending item of a request, named by its JSON path (`events[3].object_id`). */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/**
 * An expected failure of a use-case: the request was wrong or conflicts with what is stored. Carries a
 * stable code; the HTTP layer maps codes to statuses. Anything else thrown is an internal error.
 */
export class ClickstreamError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errors: readonly FieldError[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ClickstreamError';
  }
}

export function validationFailed(errors: readonly FieldError[]): ClickstreamError {
  const first = errors[0];
  const summary =
    errors.length === 1 && first
      ? `${first.path}: ${first.message}`
      : `${errors.length} problems in the request; nothing was stored`;
  return new ClickstreamError('validation_failed', summary, errors);
}

/** Shape errors and rule errors of one request in one list: shape errors first, each (path, message) once. */
export function mergeFieldErrors(shape: readonly FieldError[], rules: readonly FieldError[]): FieldError[] {
  const seen = new Set<string>();
  const merged: FieldError[] = [];
  for (const error of [...shape, ...rules]) {
    const key = `${error.path}\u0000${error.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    merged.push(error);
  }
  return merged;
}
