import { parse as tolerantParse, type ParseError } from 'jsonc-parser';
import secureJson from 'secure-json-parse';
import { ClickstreamError, validationFailed } from '../domain/errors.js';
import { findExcessiveNesting, hasNonFiniteNumber, nonFiniteNumberPaths } from '../domain/json.js';
import type { Limits } from '../domain/limits.js';
import { LIMIT_VARIABLES } from '../domain/limits.js';
import type { FastifyRequest } from 'fastify';
import type { App } from './app-types.js';
import { accessOf } from './auth.js';

/**
 * Largest body sent the way browsers send without preflight: as text/plain (navigator.sendBeacon) or with
 * the key in the URL (`?key=`). Such requests come from public pages; this bounds what one can cost.
 */
export const BROWSER_BODY_LIMIT = 64 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** The body's text as received, once a body parser read it; null before, or for other media types. */
    bodyText: string | null;
  }
}

/**
 * Replaces Fastify's JSON parser with one that (1) refuses deep nesting before parsing, (2) refuses
 * `__proto__` and `constructor.prototype` keys, and (3) says where a syntax error is, as line and column,
 * because the clients we replace send hand-written JSON with missing quotes and trailing commas.
 * Client routes also take JSON sent as text/plain, which is what navigator.sendBeacon sends; other routes
 * answer 415 for it.
 */
export function registerBodyParsers(app: App, limits: Limits): void {
  app.decorateRequest('bodyText', null);
  const parse = (request: FastifyRequest, body: string): unknown => {
    // Kept (a reference, not a copy) for the events debugger's excerpt of a refused body.
    request.bodyText = body;
    const form = browserForm(request);
    if (form !== null && Buffer.byteLength(body, 'utf8') > BROWSER_BODY_LIMIT) throw browserBodyTooLarge(form);
    return parseJsonBody(body, limits);
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      done(null, parse(request, String(body)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (request, body, done) => {
    try {
      if (accessOf(request) !== 'client') {
        throw new ClickstreamError(
          'unsupported_media_type',
          'text/plain bodies are accepted on the client routes only (for navigator.sendBeacon); send application/json',
        );
      }
      done(null, parse(request, String(body)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // A declared length over the limit is refused before the body is read; a chunked body once it is read.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const form = browserForm(request);
    if (form !== null && Number(request.headers['content-length'] ?? 0) > BROWSER_BODY_LIMIT) {
      done(browserBodyTooLarge(form));
      return;
    }
    done(null, payload);
  });
}

/** How a request was sent the way browsers send without preflight (see BROWSER_BODY_LIMIT), or null. */
function browserForm(request: FastifyRequest): string | null {
  if (request.caller?.fromUrl) return 'with the key in the URL (?key=)';
  if (/^\s*text\/plain\b/i.test(request.headers['content-type'] ?? '')) return 'as text/plain';
  return null;
}

function browserBodyTooLarge(form: string): ClickstreamError {
  return new ClickstreamError(
    'payload_too_large',
    `a body sent ${form} is limited to ${BROWSER_BODY_LIMIT} bytes; send larger bodies as application/json with the key in a header`,
  );
}

export function parseJsonBody(text: string, limits: Limits): unknown {
  if (text.trim() === '') throw new ClickstreamError('invalid_json', 'the body is empty; send a JSON object');
  const deep = findExcessiveNesting(text, limits.maxJsonDepth);
  if (deep) {
    throw new ClickstreamError(
      'validation_failed',
      `JSON nesting deeper than ${limits.maxJsonDepth} levels (${LIMIT_VARIABLES.maxJsonDepth}) at ${locate(text, deep.offset)}`,
    );
  }
  let value: unknown;
  try {
    value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/forbidden (prototype|constructor) property/.test(message)) {
      throw new ClickstreamError(
        'validation_failed',
        'the body holds a __proto__ or constructor.prototype key, which is refused (prototype pollution)',
      );
    }
    const where = `at ${locate(text, errorOffset(text, message))}`;
    throw new ClickstreamError('invalid_json', `the body is not valid JSON: ${cleanMessage(message)} (${where})`);
  }
  // JSON.parse reads 1e400 as Infinity, which would be stored and read back as null.
  if (hasNonFiniteNumber(value)) {
    throw validationFailed(
      nonFiniteNumberPaths(value).map((path) => ({
        path: path || '(body)',
        message: 'is a number too large to store (it would read back as null)',
      })),
    );
  }
  return value;
}

/**
 * Where parsing failed: V8 names the offset for most errors, but not for "Unexpected token"; then a
 * tolerant parser (only ever run on this failure path) finds the first offending offset.
 */
function errorOffset(text: string, message: string): number {
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position !== undefined) return Number(position);
  const errors: ParseError[] = [];
  tolerantParse(text, errors, { disallowComments: true, allowTrailingComma: false });
  return errors[0]?.offset ?? text.length;
}

/** "line 3, column 17 (offset 45)", 1-based, for humans. */
function locate(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line}, column ${offset - lineStart + 1} (offset ${offset})`;
}

/** V8's message without its own position suffix and without echoing long stretches of the body. */
function cleanMessage(message: string): string {
  return message
    .replace(/ (in|after) JSON at position \d+.*$/s, '')
    .replace(/, (\.\.\.)?".*" is not valid JSON$/s, '')
    .slice(0, 200);
}
