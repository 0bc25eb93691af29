/**
 * A raw HTTP/1.1 client over net sockets: it sends the exact bytes it is given (no client library would
 * send broken framing, invalid UTF-8 or duplicate headers) on one keep-alive connection, parses the
 * response itself, and reports a hang, a dropped connection or bytes left over as errors. It can also send
 * part of a request and close the socket.
 */
import net from 'node:net';

export interface HttpResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: Buffer;
}

export const headerOf = (response: HttpResponse, name: string): string | undefined =>
  response.headers.get(name)?.join(', ');

/** Parses one response from the front of `buffer`; null while incomplete. Throws on malformed framing. */
function parseResponse(buffer: Buffer, head: boolean, eof: boolean): { response: HttpResponse; rest: Buffer } | null {
  let start = 0;
  for (;;) {
    const end = buffer.indexOf('\r\n\r\n', start);
    if (end < 0) return null;
    const lines = buffer.subarray(start, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '')?.[1];
    if (status === undefined) throw new Error(`malformed status line ${JSON.stringify(lines[0])}`);
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`malformed header line ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
    }
    const code = Number(status);
    let at = end + 4;
    if (code >= 100 && code < 200) {
      start = at;
      continue;
    }
    const response = (body: Buffer): HttpResponse => ({ status: code, headers, body });
    if (head || code === 204 || code === 304) return { response: response(Buffer.alloc(0)), rest: buffer.subarray(at) };
    if (/chunked/i.test(headers.get('transfer-encoding')?.join(',') ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = buffer.indexOf('\r\n', at);
        if (lineEnd < 0) return null;
        const size = parseInt(buffer.subarray(at, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) throw new Error('malformed chunk size');
        if (size === 0) {
          const trailerEnd = buffer.indexOf('\r\n\r\n', lineEnd);
          if (trailerEnd < 0) return null;
          return { response: response(Buffer.concat(parts)), rest: buffer.subarray(trailerEnd + 4) };
        }
        if (buffer.length < lineEnd + 2 + size + 2) return null;
        parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
    }
    const length = headers.get('content-length')?.[0];
    if (length !== undefined) {
      const size = Number(length);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`malformed content-length ${length}`);
      if (buffer.length < at + size) return null;
      return { response: response(buffer.subarray(at, at + size)), rest: buffer.subarray(at + size) };
    }
    if (!eof) return null;
    return { response: response(buffer.subarray(at)), rest: Buffer.alloc(0) };
  }
}

export class Connection {
  private buffer = Buffer.alloc(0);
  private closed = false;
  private lastError: Error | null = null;
  private wake: (() => void) | null = null;
  lastUsed = Date.now();

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    socket.on('error', (error) => {
      this.lastError = error;
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  get usable(): boolean {
    return !this.closed && !this.socket.destroyed && this.buffer.length === 0;
  }

  /** Sends a complete request and waits for its complete response. */
  async exchange(
    bytes: Buffer,
    head: boolean,
    timeoutMs: number,
  ): Promise<HttpResponse & { keepAlive: boolean; extraBytes: number }> {
    this.socket.write(bytes);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseResponse(this.buffer, head, this.closed);
      if (parsed) {
        this.buffer = Buffer.from(parsed.rest);
        this.lastUsed = Date.now();
        const connection = headerOf(parsed.response, 'connection') ?? '';
        // Answers made outside the application (the HTTP parser's own 400 and 431) close the socket without
        // saying so: only an answer of the application (it carries a request id) keeps the connection.
        const fromApp = parsed.response.headers.has('x-request-id');
        const keepAlive = fromApp && !this.closed && !/close/i.test(connection);
        return { ...parsed.response, keepAlive, extraBytes: parsed.rest.length };
      }
      if (this.closed) {
        const why = this.lastError ? ` (${this.lastError.message})` : '';
        throw new Error(
          `connection closed after ${this.buffer.length} bytes of an incomplete response${why}: ${escapeBytes(this.buffer, 200)}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no complete response within ${timeoutMs} ms (${this.buffer.length} bytes received)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Sends part of a request, then ends or destroys the socket; resolves when it is closed (or soon). */
  async sendCut(bytes: Buffer, mode: 'end' | 'destroy'): Promise<void> {
    if (mode === 'destroy') {
      this.socket.write(bytes, () => this.socket.destroy());
    } else {
      this.socket.end(bytes);
    }
    const deadline = Date.now() + 1000;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Printable ASCII as is, everything else as \xNN; at most `max` bytes shown. */
export function escapeBytes(bytes: Uint8Array, max: number): string {
  let out = '';
  for (const byte of bytes.subarray(0, max)) {
    out +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return bytes.length > max ? `${out}... (${bytes.length} bytes)` : out;
}
