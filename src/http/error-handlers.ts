import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../domain/errors.js';
import type { App } from './app-types.js';
import { pathOf, problem, problemStatus, routeNotFound, toProblem } from './problem.js';

/** Longest a client may take to send one whole request (headers and body). */
export const REQUEST_TIMEOUT_MS = 30_000;

/** How long a client should wait before retrying, by code: a busy store soon, a full disk later. */
const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = { service_unavailable: 1, storage_full: 30 };

/**
 * One envelope for every error: anything thrown while serving a request becomes a problem+json answer
 * (its status from the code, or from the route's own `errorStatus`), and paths no route serves are 404.
 * 5xx answers never carry internal messages; they are logged with the request id instead.
 */
export function registerErrorHandlers(app: App, maxBodyBytes: number): void {
  app.setErrorHandler((error, request, reply) => {
    const body = toProblem(error, request.id, maxBodyBytes);
    const status = request.routeOptions.config.errorStatus?.[body.code] ?? body.status;
    const retryAfter = RETRY_AFTER_SECONDS[body.code];
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    reply.problemCode = body.code;
    reply.problem = body;
    if (body.code === 'service_unavailable') request.log.warn({ err: error }, 'store unavailable');
    else if (body.code === 'storage_full') request.log.error({ err: error }, 'store full: writes are refused');
    else if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply
      .status(status)
      .type('application/problem+json')
      .send({ ...body, status });
  });
  app.setNotFoundHandler((request) => {
    throw routeNotFound(request);
  });
}

/** Malformed URLs are refused by the router before any hook runs; they are answered in the same envelope. */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void reply
    .status(400)
    .header('x-request-id', request.id)
    .type('application/problem+json')
    // The path only: the query string may hold a key (?key=), and answers must not echo keys.
    .send(problem('bad_request', `the URL is not valid (${error.code}): ${pathOf(request.url)}`, request.id));
}

/**
 * Requests Node's HTTP parser refuses (headers over 16 KiB, a malformed request line, a timeout) never
 * reach Fastify; they are answered here in the same problem+json envelope. Nothing of the request is
 * logged: its raw bytes may hold a key.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) return;
  const [code, detail]: [ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['header_too_large', 'the request line and headers are larger than 16 KiB']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['request_timeout', `the request was not received within ${REQUEST_TIMEOUT_MS / 1000} s`]
        : ['bad_request', `the request is not valid HTTP (${error.code ?? 'parse error'})`];
  const requestId = randomUUID();
  const body = JSON.stringify(problem(code, detail, requestId));
  socket.end(
    `HTTP/1.1 ${problemStatus(code)} ${STATUS_CODES[problemStatus(code)] ?? ''}\r\n` +
      `content-type: application/problem+json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}
