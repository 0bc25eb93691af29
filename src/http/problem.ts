import type { ErrorObject } from 'ajv';
import type { FastifyError } from 'fastify';
import { ClickstreamError, type ErrorCode, type FieldError, validationFailed } from '../domain/errors.js';
import { jsonPath } from '../domain/json.js';
import type { Problem } from '../schemas/records.js';

/** HTTP status and title of every error code. */
const STATUS: Readonly<Record<ErrorCode, readonly [number, string]>> = {
  validation_failed: [400, 'The request is not valid'],
  invalid_json: [400, 'The body is not valid JSON'],
  bad_request: [400, 'Bad request'],
  unsupported_media_type: [415, 'Unsupported media type'],
  payload_too_large: [413, 'Payload too large'],
  header_too_large: [431, 'Request header fields too large'],
  request_timeout: [408, 'Request timeout'],
  not_found: [404, 'No such route'],
  session_not_found: [404, 'Session not found'],
  batch_not_found: [404, 'Batch not found'],
  session_conflict: [409, 'Session registered with different content'],
  event_conflict: [409, 'Event stored with different content'],
  session_closed: [409, 'Session closed'],
  no_sessions_to_release: [404, 'No sessions to release'],
  batch_not_released: [409, 'Batch not released'],
  task_not_found: [404, 'Task not found'],
  task_conflict: [409, 'Task created with a different request'],
  task_processing: [409, 'Task is processing'],
  task_finished: [409, 'Task is finished'],
  lease_lost: [409, 'Lease lost'],
  unauthorized: [401, 'Unauthorized'],
  forbidden: [403, 'Forbidden'],
  rate_limited: [429, 'Too many requests'],
  service_unavailable: [503, 'Service unavailable'],
  storage_full: [507, 'Insufficient storage'],
  internal_error: [500, 'Internal error'],
};

/** The HTTP status of an error code. */
export function problemStatus(code: ErrorCode): number {
  return STATUS[code][0];
}

/** The title of an error code, as problems carry it. */
export function problemTitle(code: ErrorCode): string {
  return STATUS[code][1];
}

/** Most field errors listed in one answer; the rest are counted. */
const MAX_LISTED_ERRORS = 100;

export function problem(code: ErrorCode, detail: string, requestId: string, errors?: readonly FieldError[]): Problem {
  const [status, title] = STATUS[code];
  const body: Problem = { type: `urn:clickstream:problem:${code}`, title, status, detail, code, request_id: requestId };
  if (errors && errors.length > 0) {
    const listed = errors.slice(0, MAX_LISTED_ERRORS);
    if (errors.length > listed.length) {
      listed.push({ path: '(more)', message: `${errors.length - listed.length} more problems not listed` });
    }
    body.errors = listed;
  }
  return body;
}

/** Turns anything thrown while serving a request into a problem; internal details never leave the process. */
export function toProblem(error: unknown, requestId: string, maxBodyBytes: number): Problem {
  if (error instanceof ClickstreamError) return problem(error.code, error.message, requestId, error.errors);
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    const failed = validationFailed(
      fieldErrors(fastifyError.validation as ErrorObject[], fastifyError.validationContext),
    );
    return problem(failed.code, failed.message, requestId, failed.errors);
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(
        'payload_too_large',
        `request body is larger than ${maxBodyBytes} bytes (CLICKSTREAM_MAX_BODY_BYTES)`,
        requestId,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem('unsupported_media_type', 'send the body as application/json', requestId);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem('invalid_json', 'the body is empty; send a JSON object', requestId);
  }
  const status = fastifyError.statusCode ?? 500;
  if (status === 404) return problem('not_found', 'no such route', requestId);
  if (status >= 400 && status < 500 && fastifyError.message)
    return problem('bad_request', fastifyError.message, requestId);
  return problem(
    'internal_error',
    `internal error; the server log has the details under request_id ${requestId}`,
    requestId,
  );
}

/** Ajv errors as `{path, message}` with paths written as in the body: `events[3].object_id`. */
export function fieldErrors(errors: readonly ErrorObject[], context: string | undefined): FieldError[] {
  const seen = new Set<string>();
  const list: FieldError[] = [];
  for (const error of errors) {
    const segments = error.instancePath.split('/').slice(1).map(decodePointer);
    let message = error.message ?? 'is not valid';
    if (error.keyword === 'required') {
      segments.push((error.params as { missingProperty: string }).missingProperty);
      message = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      segments.push((error.params as { additionalProperty: string }).additionalProperty);
      message = 'is not a known field';
    } else if (error.keyword === 'type') {
      message = typeMessage(error);
    }
    const path = toPath(segments, context);
    const key = `${path}\u0000${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      list.push({ path, message });
    }
  }
  return list;
}

function decodePointer(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

function toPath(segments: readonly string[], context: string | undefined): string {
  const path = jsonPath(segments);
  if (path !== '') return path;
  return context === 'querystring' ? '(query)' : '(body)';
}

/**
 * "must be an integer or a null", or, for a schema that says what it expects (`x-expects`), "must be
 * integer UTC seconds or null"; a date string sent there is converted in the message, as the likely fix.
 */
function typeMessage(error: ErrorObject): string {
  const types = (error.params as { type: string | string[] }).type;
  const expects = (error.parentSchema as { 'x-expects'?: string } | undefined)?.['x-expects'];
  if (expects === undefined) return `must be ${describeType(types)}`;
  const nullable = (Array.isArray(types) ? types : types.split(',')).includes('null');
  const message = `must be ${expects}${nullable ? ' or null' : ''}`;
  const data: unknown = error.data;
  const time = typeof data === 'string' && /^\d{4}-\d{2}-\d{2}/.test(data) ? Date.parse(data) : Number.NaN;
  return Number.isNaN(time)
    ? message
    : `${message}, not a date string ("${String(data)}" is ${Math.floor(time / 1000)})`;
}

function describeType(type: string | readonly string[]): string {
  const names = (Array.isArray(type) ? type : String(type).split(',')).map((t: string) =>
    t === 'object' ? 'an object' : t === 'array' ? 'an array' : t === 'integer' ? 'an integer' : `a ${t}`,
  );
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''}` : (names[0] ?? 'valid');
}

/** The path of a request URL, without its query string (which may hold a key). */
export function pathOf(url: string): string {
  return url.split('?')[0] ?? '';
}

/** The answer for a path no route serves. */
export function routeNotFound(request: { readonly method: string; readonly url: string }): ClickstreamError {
  return new ClickstreamError('not_found', `no route ${request.method} ${pathOf(request.url)}`);
}
