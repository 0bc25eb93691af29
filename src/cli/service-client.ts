/**
 * The CLI's client of a running service (`clickstream tasks`, `clickstream worker`): JSON requests with
 * the key in the Authorization header, problem+json answers turned into ClickstreamErrors with the
 * server's code and detail, and downloads streamed to a file. Uses Node's fetch: no dependency.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ClickstreamError, ERROR_CODES, type ErrorCode } from '../domain/errors.js';
import { UsageError } from './flags.js';

/** Where the service is when neither --url nor CLICKSTREAM_URL says: the default of `clickstream serve`. */
export const DEFAULT_SERVICE_URL = 'http://127.0.0.1:5000';

/** The service's URL: `--url`, else CLICKSTREAM_URL, else the local default; checked. */
export function serviceUrl(flag: unknown, env: NodeJS.ProcessEnv): string {
  const given = typeof flag === 'string' ? flag : (env.CLICKSTREAM_URL ?? DEFAULT_SERVICE_URL);
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new UsageError(`--url (or CLICKSTREAM_URL) must be a URL such as http://127.0.0.1:5000, got "${given}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url (or CLICKSTREAM_URL) must be an http or https URL, got "${given}"`);
  }
  return given.replace(/\/+$/, '');
}

export class ServiceClient {
  constructor(
    private readonly baseUrl: string,
    private readonly key: string | undefined,
  ) {}

  /** A JSON request; resolves with the status and the parsed body (null for 204), rejects for 4xx/5xx. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the body it expects
  async request<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await this.fetch(method, path, body);
    if (response.status === 204) return { status: 204, body: null as T };
    return { status: response.status, body: (await response.json()) as T };
  }

  /** Streams a GET's body to `file`; rejects (with the server's problem) before creating the file. */
  async download(path: string, file: string): Promise<void> {
    const response = await this.fetch('GET', path);
    if (!response.body) throw new Error(`GET ${path} answered without a body`);
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(file));
  }

  private async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.key !== undefined) headers.authorization = `Bearer ${this.key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new ServiceUnreachable(`cannot reach the service at ${this.baseUrl}: ${cause}`);
    }
    if (response.ok) return response;
    throw await problemOf(response, `${method} ${path}`);
  }
}

/** The service could not be reached (refused, reset, DNS): a worker waits and tries again. */
export class ServiceUnreachable extends Error {
  override readonly name = 'ServiceUnreachable';
}

async function problemOf(response: Response, what: string): Promise<Error> {
  const text = await response.text();
  let problem: { code?: unknown; detail?: unknown } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    // Not problem+json (a proxy's page): the status and the start of the text say enough.
  }
  const detail = typeof problem.detail === 'string' ? problem.detail : text.slice(0, 300);
  if (typeof problem.code === 'string' && (ERROR_CODES as readonly string[]).includes(problem.code)) {
    return new ClickstreamError(problem.code as ErrorCode, `${detail} (${what}: ${response.status})`);
  }
  return new Error(`${what} answered ${response.status}: ${detail}`);
}
