/**
 * What the events debugger keeps of an answered request, built without I/O: the route, the status and the
 * error envelope's code, detail and paths, the session it named, an allow-list of headers, the URL without
 * its secret parameters and the start of the body. Secrets never get in: header and query parameter names
 * that hold key, token, secret, auth, passw or cookie are left out, and their values are then cut from
 * every text kept (a key pasted into a body too).
 */
import type { FieldError } from '../domain/errors.js';
import type { NewDebugEvent } from '../storage/debug-event-store.js';
import { pathOf } from './problem.js';

/** Header or query parameter names whose values are secrets (Authorization, X-API-Key, ?key=, Cookie...). */
const SECRET_NAME = /key|token|secret|auth|passw|cookie/i;

/** The headers kept; of these, none carries a credential. */
const KEPT_HEADERS = ['content-type', 'content-length', 'user-agent', 'origin', 'accept'] as const;

/** Secret values shorter than this are not cut from texts (a `?key=a` would cut every "a"). */
const MIN_REDACTED_LENGTH = 8;
export const REDACTED = '[redacted]';

/** Longest kept texts, in characters: a URL, a header value, an error's path or message, a session id. */
const MAX_URL = 2048;
const MAX_HEADER = 512;
const MAX_FIELD = 512;
const MAX_SESSION_ID = 1024;
const MAX_DETAIL = 2048;

/** An answered request as the hook sees it. */
export interface AnsweredRequest {
  /** Integer UTC seconds. */
  readonly time: number;
  readonly method: string;
  /** The template of the route that served it; undefined when no route matched. */
  readonly route: string | undefined;
  /** The URL as received: path and query string. */
  readonly url: string;
  readonly status: number;
  /** The error envelope of the answer, or null for a success. */
  readonly problem: { readonly code: string; readonly detail: string; readonly errors?: readonly FieldError[] } | null;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The parsed query string. */
  readonly query: unknown;
  /** The parsed body, undefined when none was parsed. */
  readonly body: unknown;
  /** The body's text as received, null when none was read (refused before, or not JSON or text). */
  readonly bodyText: string | null;
  readonly requestId: string;
  readonly durationMs: number;
}

/** Whether a header or query parameter of this name carries a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** The kept headers (an allow-list, each value capped), and the values of the secret ones, to cut elsewhere. */
export function scrubHeaders(headers: AnsweredRequest['headers']): {
  headers: Record<string, string>;
  secrets: string[];
} {
  const kept: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    const lower = name.toLowerCase();
    if (isSecretName(lower)) {
      // `Bearer <key>`: the key alone too, so that it is cut wherever it appears.
      for (const v of values) secrets.push(v, ...v.split(/[\s,;=]+/));
    } else if ((KEPT_HEADERS as readonly string[]).includes(lower)) {
      kept[lower] = clean(values.join(', '), MAX_HEADER);
    }
  }
  return { headers: kept, secrets };
}

/** The URL without a fragment and without the query parameters whose name is secret; their values. */
export function scrubUrl(url: string): { url: string; secrets: string[] } {
  const hash = url.indexOf('#');
  const whole = hash === -1 ? url : url.slice(0, hash);
  const mark = whole.indexOf('?');
  if (mark === -1) return { url: whole, secrets: [] };
  const secrets: string[] = [];
  const kept = whole
    .slice(mark + 1)
    .split('&')
    .filter((part) => {
      const equals = part.indexOf('=');
      const name = equals === -1 ? part : part.slice(0, equals);
      if (!isSecretName(decoded(name))) return true;
      if (equals !== -1) {
        const value = part.slice(equals + 1);
        secrets.push(value, decoded(value));
      }
      return false;
    });
  return { url: kept.length > 0 ? `${whole.slice(0, mark)}?${kept.join('&')}` : whole.slice(0, mark), secrets };
}

/** At most `maxBytes` bytes of `text`, cut at a character boundary, with the whole size in bytes. */
export function bodyExcerpt(
  text: string | null,
  maxBytes: number,
): { body: string | null; bytes: number | null; truncated: boolean } {
  if (text === null) return { body: null, bytes: null, truncated: false };
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxBytes) return { body: text, bytes, truncated: false };
  if (maxBytes === 0) return { body: null, bytes, truncated: true };
  // A character takes at most 4 bytes (2 UTF-16 units), so maxBytes units hold the excerpt.
  const start = Buffer.from(text.slice(0, maxBytes), 'utf8');
  let end = Math.min(maxBytes, start.length);
  // Back to the first byte of a character: continuation bytes are 10xxxxxx.
  while (end > 0 && end < start.length && ((start[end] ?? 0) & 0xc0) === 0x80) end--;
  return { body: start.subarray(0, end).toString('utf8'), bytes, truncated: true };
}

/**
 * The session a request named: the body's top-level `session_id`, or the query's; for a body that could
 * not be parsed, the first `"session_id": "..."` of its text.
 */
export function sessionIdOf(body: unknown, query: unknown, bodyText: string | null): string | null {
  const fromBody = fieldOf(body, 'session_id');
  if (fromBody !== null) return fromBody;
  const fromQuery = fieldOf(query, 'session_id');
  if (fromQuery !== null) return fromQuery;
  if (body !== undefined || bodyText === null) return null;
  const match = /"session_id"\s*:\s*"((?:[^"\\\n]|\\.){1,1024})"/.exec(bodyText.slice(0, 64 * 1024));
  if (!match?.[1]) return null;
  try {
    const parsed: unknown = JSON.parse(`"${match[1]}"`);
    return typeof parsed === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

/** The debugger's record of an answered request; `bodyBytes` caps the excerpt of its body. */
export function debugEventOf(request: AnsweredRequest, bodyBytes: number): NewDebugEvent {
  const { headers, secrets: headerSecrets } = scrubHeaders(request.headers);
  const { url, secrets: urlSecrets } = scrubUrl(request.url);
  const secrets = [...new Set([...headerSecrets, ...urlSecrets])]
    .filter((s) => s.length >= MIN_REDACTED_LENGTH)
    // Longest first, so that a key is cut whole before a part of it could be.
    .sort((a, b) => b.length - a.length);
  const redact = (text: string): string => secrets.reduce((t, secret) => t.replaceAll(secret, REDACTED), text);
  const keep = (text: string, max: number): string => clean(redact(text), max);
  // The body is cut past the excerpt and the longest secret, so that a secret across the cut is cut whole.
  const text = request.bodyText;
  const reach = bodyBytes + (secrets[0]?.length ?? 0);
  const cut = text !== null && text.length > reach;
  const excerpt = bodyExcerpt(text === null ? null : keep(cut ? text.slice(0, reach) : text, Infinity), bodyBytes);
  const sessionId = sessionIdOf(request.body, request.query, request.bodyText);
  const { problem } = request;
  return {
    time: request.time,
    method: request.method,
    route: keep(request.route ?? pathOf(request.url), MAX_URL),
    url: keep(url, MAX_URL),
    status: request.status,
    code: problem?.code ?? null,
    detail: problem ? keep(problem.detail, MAX_DETAIL) : null,
    errors: (problem?.errors ?? []).map((e) => ({
      path: keep(e.path, MAX_FIELD),
      message: keep(e.message, MAX_FIELD),
    })),
    session_id: sessionId === null ? null : keep(sessionId, MAX_SESSION_ID),
    request_id: request.requestId,
    headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, redact(value)])),
    body: excerpt.body,
    body_bytes: text === null ? null : Buffer.byteLength(text, 'utf8'),
    body_truncated: cut || excerpt.truncated,
    duration_ms: Math.round(request.durationMs * 100) / 100,
  };
}

function fieldOf(value: unknown, name: string): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const field: unknown = (value as Record<string, unknown>)[name];
  return typeof field === 'string' ? field : null;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}

/**
 * A text as both stores keep it: no NUL and no lone surrogate (PostgreSQL's text refuses both; a JSON body
 * can hold either as an escape), each becoming U+FFFD, and at most `max` characters.
 */
function clean(text: string, max: number): string {
  const capped = (text.length > max ? text.slice(0, max) : text).toWellFormed();
  return capped.includes('\u0000') ? capped.replaceAll('\u0000', '\uFFFD') : capped;
}
