/**
 * Turns a generated template into the exact bytes sent: ids and timestamps filled in at send time, the
 * path variant and query written out, the body serialized and post-processed, framed by Content-Length or
 * chunked. Also how a request is shown in a failure report.
 */
import { serialize, type SendContext } from './raw-json.js';
import { escapeBytes } from './raw-client.js';
import type { PostOp } from './body-generators.js';
import { encodeText, type Cut, type PathVariant, type Template } from './request-generators.js';
import { ROUTES, type RouteName } from './routes.js';

/** A request as sent. */
export interface Prepared {
  readonly label: string;
  readonly route: RouteName;
  readonly method: string;
  readonly target: string;
  readonly bytes: Buffer;
  /** The body as the server reads it (chunks joined), or null. */
  readonly body: Buffer | null;
  readonly headerLength: number;
  readonly cut: Cut | null;
  /** A GET /session whose answer can be compared with the model. */
  readonly probeSession: string | null;
  readonly now: number;
}

/** Builds the exact bytes of a template, at server time `now`, for the server listening on `port`. */
export function prepareRequest(template: Template, port: number, now: number, ref: SendContext['ref']): Prepared {
  const route = ROUTES[template.route];
  const ctx: SendContext = { now, ref, space: template.body?.space ?? '' };
  const query = template.query.map((part) => {
    if (part.value === null) return part.key;
    const value = part.value.t === 'text' ? part.value.text : encodeText(ref(part.value.pool, part.value.index));
    return `${part.key}=${value}`;
  });
  if (template.auth.queryKey !== null) query.push(`key=${encodeText(template.auth.queryKey)}`);
  const path = pathOf(route.path, template.path);
  const target = query.length > 0 ? `${path}?${query.join('&')}` : path;

  let body: Buffer | null = null;
  if (template.body) {
    const out: Buffer[] = [];
    serialize(template.body.raw, ctx, out);
    body = postProcess(Buffer.concat(out), template.body.post);
  }
  const head = [`${template.method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
  for (const [name, value] of template.auth.headers) head.push(`${name}: ${value}`);
  if (template.contentType !== null && body !== null) head.push(`Content-Type: ${template.contentType}`);
  for (const [name, value] of template.headers) head.push(`${name}: ${value}`);
  let payload: Buffer = Buffer.alloc(0);
  if (body !== null && template.chunks !== null) {
    head.push('Transfer-Encoding: chunked');
    payload = chunked(body, template.chunks);
  } else if (body !== null) {
    head.push(`Content-Length: ${body.length}`);
    payload = body;
  } else if (template.method === 'POST' || template.method === 'PUT' || template.method === 'PATCH') {
    head.push('Content-Length: 0');
  }
  const headerBytes = Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1');
  const onlySessionId =
    template.route === 'getSession' &&
    template.method === 'GET' &&
    template.path === 'exact' &&
    template.query.length === 1 &&
    template.query[0]?.key === 'session_id' &&
    template.query[0].value?.t === 'ref';
  return {
    label: template.label,
    route: template.route,
    method: template.method,
    target,
    bytes: Buffer.concat([headerBytes, payload]),
    body,
    headerLength: headerBytes.length,
    cut: template.cut,
    probeSession: onlySessionId ? new URLSearchParams(target.split('?')[1]).get('session_id') : null,
    now,
  };
}

/** The path of a route as written by a path variant. */
function pathOf(path: string, variant: PathVariant): string {
  const cut = path.lastIndexOf('/');
  const head = path.slice(0, cut + 1);
  const last = path.slice(cut + 1);
  switch (variant) {
    case 'exact':
      return path;
    case 'trailing-slash':
      return `${path}/`;
    case 'upper':
      return path.toUpperCase();
    case 'double-slash':
      return path.replace('/clickstream/', '/clickstream//');
    case 'dot-segment':
      return `${head}./${last}`;
    case 'percent-letter':
      return `${head}%${last.charCodeAt(0).toString(16)}${last.slice(1)}`;
    case 'bad-percent':
      return `${path}%zz`;
    case 'encoded-slash':
      return `${head.slice(0, -1)}%2F${last}`;
    case 'unknown':
      return `${head}${last}x`;
    case 'long':
      return `${path}/${'a'.repeat(3000)}`;
    case 'semicolon':
      return `${path};jsessionid=1`;
    case 'absolute':
      return `http://127.0.0.1${path}`;
  }
}

function postProcess(body: Buffer, post: PostOp): Buffer {
  switch (post.op) {
    case 'none':
      return body;
    case 'truncate':
      return body.subarray(0, Math.floor(body.length * post.at));
    case 'append':
      return Buffer.concat([body, Buffer.from(post.text, 'utf8')]);
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]);
    case 'insertBytes': {
      const at = Math.floor(body.length * post.at);
      return Buffer.concat([body.subarray(0, at), Buffer.from(post.bytes), body.subarray(at)]);
    }
  }
}

function chunked(body: Buffer, splits: readonly number[]): Buffer {
  const points = [...new Set(splits.map((s) => Math.floor(body.length * s)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const point of [...points, body.length]) {
    if (point <= from) continue;
    const piece = body.subarray(from, point);
    parts.push(
      Buffer.from(`${piece.length.toString(16)}${from === 0 ? ';ext=1' : ''}\r\n`, 'latin1'),
      piece,
      Buffer.from('\r\n'),
    );
    from = point;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

export function describeRequest(request: Prepared): string {
  const head = request.bytes.subarray(0, request.headerLength).toString('latin1').trimEnd().replace(/\r\n/g, ' | ');
  const body = request.bytes.subarray(request.headerLength);
  return `[${request.label}] ${head.slice(0, 400)} || body ${body.length} bytes: ${escapeBytes(body, 600)}`;
}
