/**
 * Every call the dashboard makes: same origin, JSON, the admin key (when one was typed in) in the
 * Authorization header. The key is kept for the tab in sessionStorage and never put in a URL: downloads
 * are fetched with it and saved from a Blob.
 */
import type { Problem } from './api-types';

export const API = '/api/v1/clickstream';
export const INTERNAL = `${API}/internal`;

const KEY_ITEM = 'clickstream.admin-key';
let memoryKey: string | null = null;

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_ITEM);
  } catch {
    // Storage may be off (a locked-down browser): the key then lasts as long as the page.
    return memoryKey;
  }
}

export function saveKey(key: string): void {
  memoryKey = key;
  try {
    sessionStorage.setItem(KEY_ITEM, key);
  } catch {
    // Kept in memory only (see storedKey).
  }
}

export function forgetKey(): void {
  memoryKey = null;
  try {
    sessionStorage.removeItem(KEY_ITEM);
  } catch {
    // Nothing was stored.
  }
}

/** A refused or failed call: its status and, when the service answered one, its problem details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
  ) {
    super(problem ? `${problem.detail} (${problem.code})` : `the service answered ${status}`);
    this.name = 'ApiError';
  }

  get code(): string | null {
    return this.problem?.code ?? null;
  }
}

const unauthorizedListeners = new Set<() => void>();

/** Called whenever the service answers 401: the key is missing, wrong or was changed. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export type Params = Readonly<Record<string, string | number | undefined | null>>;

/** `path?params`, without the parameters that are not set. */
export function urlOf(path: string, params: Params = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  }
  const text = query.toString();
  return text === '' ? path : `${path}?${text}`;
}

function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && 'code' in value && 'detail' in value;
}

async function call(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  const key = storedKey();
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    credentials: 'omit',
    cache: 'no-store',
  });
  if (response.ok) return response;
  let problem: Problem | null = null;
  try {
    const parsed: unknown = await response.json();
    if (isProblem(parsed)) problem = parsed;
  } catch {
    // Not JSON: the status says enough.
  }
  if (response.status === 401) for (const listener of unauthorizedListeners) listener();
  throw new ApiError(response.status, problem);
}

export async function getJson<T>(path: string, params?: Params): Promise<T> {
  return (await (await call('GET', urlOf(path, params))).json()) as T;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return (await (await call('POST', path, body)).json()) as T;
}

/** The file name a Content-Disposition header gives, else `fallback`. */
export function attachmentName(disposition: string | null, fallback: string): string {
  const match = /filename="([^"]+)"/.exec(disposition ?? '');
  return match?.[1] ?? fallback;
}

/**
 * Fetches a file with the key and hands it to the browser as a download (a Blob URL and a temporary
 * link), so that the key never appears in a URL, a history entry or a server log. Returns its name and size.
 */
export async function download(
  path: string,
  params: Params,
  fallback: string,
): Promise<{ name: string; bytes: number }> {
  const response = await call('GET', urlOf(path, params));
  const blob = await response.blob();
  const name = attachmentName(response.headers.get('content-disposition'), fallback);
  const href = URL.createObjectURL(blob);
  try {
    const link = document.createElement('a');
    link.href = href;
    link.download = name;
    link.rel = 'noopener';
    document.body.append(link);
    link.click();
    link.remove();
  } finally {
    // After the click has started the download; revoking at once can cancel it in some browsers.
    setTimeout(() => {
      URL.revokeObjectURL(href);
    }, 60_000);
  }
  return { name, bytes: blob.size };
}

/**
 * A fresh idempotency key for a release. crypto.randomUUID exists only in secure contexts (https, or
 * loopback); the dashboard may be opened over plain http on a private network, so the fallback builds a
 * version 4 UUID from getRandomValues, which exists everywhere.
 */
export function newReleaseId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
