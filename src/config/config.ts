/**
 * The one reader of the environment. Every setting is declared once in {@link SETTINGS}: its variable,
 * its CLI flag (derived from the variable), its default, its parser and its help text. The README table,
 * `--help` and validation all come from that list.
 */

import { isIP } from 'node:net';
import { DEFAULT_LIMITS, type Limits } from '../domain/limits.js';

export const DURABILITY_MODES = ['process', 'power-loss'] as const;
export type Durability = (typeof DURABILITY_MODES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string;
  readonly durability: Durability;
  readonly lateEventGraceSeconds: number;
  readonly timeWindowPastSeconds: number;
  readonly timeWindowFutureSeconds: number;
  readonly adminKey: string | undefined;
  readonly ingestKeys: readonly string[];
  /** Origins allowed to call the client routes from a browser; `*` allows any. Empty: no CORS headers. */
  readonly corsOrigins: readonly string[];
  /** Requests per minute per key (or per client address without a key); 0 is off. */
  readonly rateLimitPerMinute: number;
  /** Fastify's `trustProxy`: the proxies whose X-Forwarded-For names the client; false trusts none. */
  readonly trustProxy: string | false;
  readonly logLevel: LogLevel;
  readonly limits: Limits;
}

type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

interface Setting {
  readonly variable: string;
  readonly defaultValue: string | undefined;
  readonly help: string;
  /** A key: never echoed in messages, and read from the environment only (a flag shows in `ps`). */
  readonly secret?: boolean;
  readonly parse: (raw: string) => Parsed;
  readonly assign: (target: MutableConfig, value: unknown) => void;
}

type MutableConfig = { -readonly [K in Exclude<keyof Config, 'limits'>]: Config[K] } & {
  limits: { -readonly [K in keyof Limits]: Limits[K] };
};

const integer =
  (min: number, max: number) =>
  (raw: string): Parsed => {
    if (!/^\d+$/.test(raw.trim())) return { ok: false, message: `must be a whole number, got "${raw}"` };
    const value = Number(raw.trim());
    if (value < min || value > max) return { ok: false, message: `must be between ${min} and ${max}, got ${value}` };
    return { ok: true, value };
  };

const oneOf =
  (allowed: readonly string[]) =>
  (raw: string): Parsed =>
    allowed.includes(raw.trim())
      ? { ok: true, value: raw.trim() }
      : { ok: false, message: `must be one of ${allowed.join(', ')}, got "${raw}"` };

const text = (raw: string): Parsed =>
  raw.trim() === '' ? { ok: false, message: 'must not be empty' } : { ok: true, value: raw.trim() };

const databaseUrl = (raw: string): Parsed => {
  const url = raw.trim();
  if (url === 'sqlite:')
    return { ok: false, message: 'needs a file path after sqlite: (e.g. sqlite:./data/clickstream.db)' };
  return /^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(url)
    ? { ok: true, value: url }
    : { ok: false, message: `must start with sqlite: or postgres://, got "${raw}"` };
};

/** Shortest accepted key: 16 characters from a generator (`openssl rand -hex 16` gives 32) resist guessing. */
export const MIN_KEY_LENGTH = 16;

const key = (raw: string): Parsed => {
  const value = raw.trim();
  if (value === '') return { ok: false, message: 'must not be empty' };
  if (value.length < MIN_KEY_LENGTH) return { ok: false, message: `must be at least ${MIN_KEY_LENGTH} characters` };
  if (/[\s,]/.test(value)) return { ok: false, message: 'must not contain spaces or commas' };
  return { ok: true, value };
};

const keyList = (raw: string): Parsed => {
  const keys: string[] = [];
  for (const [index, part] of raw.split(',').entries()) {
    if (part.trim() === '') continue;
    const parsed = key(part);
    if (!parsed.ok) return { ok: false, message: `key ${index + 1} of the list ${parsed.message}` };
    keys.push(String(parsed.value));
  }
  return keys.length > 0 ? { ok: true, value: keys } : { ok: false, message: 'must name at least one key' };
};

const originList = (raw: string): Parsed => {
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of origins) {
    if (origin === '*') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    // An origin is scheme://host[:port] exactly, as browsers send it: no path, no trailing slash.
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      return { ok: false, message: `"${origin}" is not an origin like https://shop.example or http://localhost:3000` };
    }
  }
  return { ok: true, value: origins };
};

/** Addresses and CIDR ranges only: `true` (trust anyone) or a hop count would let any client pick its address. */
const trustProxy = (raw: string): Parsed => {
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) return { ok: true, value: false };
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || extra !== undefined) {
      return { ok: false, message: `"${entry}" is not an IP address or a CIDR range (10.0.0.0/8, fd00::/8)` };
    }
  }
  return { ok: true, value: entries.join(',') };
};

const number = (value: unknown): number => Number(value);

export const SETTINGS: readonly Setting[] = [
  {
    variable: 'CLICKSTREAM_HOST',
    defaultValue: '127.0.0.1',
    help: 'Address the HTTP server binds to.',
    parse: text,
    assign: (c, v) => (c.host = String(v)),
  },
  {
    variable: 'CLICKSTREAM_PORT',
    defaultValue: '5000',
    help: 'TCP port of the HTTP server (0 picks a free port).',
    parse: integer(0, 65535),
    assign: (c, v) => (c.port = number(v)),
  },
  {
    variable: 'CLICKSTREAM_DATABASE_URL',
    defaultValue: 'sqlite:./data/clickstream.db',
    help: 'Store location: sqlite:<path> (embedded, default) or postgres://... .',
    parse: databaseUrl,
    assign: (c, v) => (c.databaseUrl = String(v)),
  },
  {
    variable: 'CLICKSTREAM_DURABILITY',
    defaultValue: 'process',
    help: 'process: acknowledged writes survive a crash of the process (SQLite WAL, synchronous=NORMAL); power-loss: they also survive a power loss or OS crash (synchronous=FULL, slower).',
    parse: oneOf(DURABILITY_MODES),
    assign: (c, v) => (c.durability = v as Durability),
  },
  {
    variable: 'CLICKSTREAM_LATE_EVENT_GRACE_SECONDS',
    defaultValue: '600',
    help: 'After a release, events and irrelevant flags for the batch are still accepted this long; then the batch is sealed.',
    parse: integer(0, 31 * 86400),
    assign: (c, v) => (c.lateEventGraceSeconds = number(v)),
  },
  {
    variable: 'CLICKSTREAM_TIME_WINDOW_PAST_SECONDS',
    defaultValue: '86400',
    help: 'Oldest accepted created_at, in seconds before server time.',
    parse: integer(0, 10 * 365 * 86400),
    assign: (c, v) => (c.timeWindowPastSeconds = number(v)),
  },
  {
    variable: 'CLICKSTREAM_TIME_WINDOW_FUTURE_SECONDS',
    defaultValue: '300',
    help: 'Newest accepted created_at, in seconds after server time (clock skew).',
    parse: integer(0, 86400),
    assign: (c, v) => (c.timeWindowFutureSeconds = number(v)),
  },
  {
    variable: 'CLICKSTREAM_ADMIN_KEY',
    defaultValue: undefined,
    help: `Key that authorises every route, sent as Authorization: Bearer <key> or X-API-Key (never accepted in the URL). At least ${MIN_KEY_LENGTH} characters; environment only. With no key at all, the service serves this machine only.`,
    secret: true,
    parse: key,
    assign: (c, v) => (c.adminKey = String(v)),
  },
  {
    variable: 'CLICKSTREAM_INGEST_KEYS',
    defaultValue: undefined,
    help: `Comma-separated keys that authorise the client routes only; they may be public (embedded in web pages). Sent as a header, or as ?key= on client routes (sendBeacon). At least ${MIN_KEY_LENGTH} characters each; environment only.`,
    secret: true,
    parse: keyList,
    assign: (c, v) => (c.ingestKeys = v as string[]),
  },
  {
    variable: 'CLICKSTREAM_CORS_ORIGINS',
    defaultValue: undefined,
    help: 'Comma-separated origins (https://shop.example) whose pages may call the API from a browser and read the answers (the keys still decide what each may do); * allows any origin. Unset: no CORS headers. Without keys, local origins only.',
    parse: originList,
    assign: (c, v) => (c.corsOrigins = v as string[]),
  },
  {
    variable: 'CLICKSTREAM_RATE_LIMIT_PER_MINUTE',
    defaultValue: '0',
    help: 'Most requests per minute: per admin key, per ingest key and client address, or per client address for requests without a valid key; then 429 with Retry-After. Counted per process. 0 is off.',
    parse: integer(0, 100_000_000),
    assign: (c, v) => (c.rateLimitPerMinute = number(v)),
  },
  {
    variable: 'CLICKSTREAM_TRUST_PROXY',
    defaultValue: undefined,
    help: 'Addresses or CIDR ranges (comma-separated) of reverse proxies whose X-Forwarded-For gives the client address used by rate limits. Unset: the connection address.',
    parse: trustProxy,
    assign: (c, v) => (c.trustProxy = v as string | false),
  },
  {
    variable: 'CLICKSTREAM_LOG_LEVEL',
    defaultValue: 'info',
    help: `Log level: ${LOG_LEVELS.join(', ')}.`,
    parse: oneOf(LOG_LEVELS),
    assign: (c, v) => (c.logLevel = v as LogLevel),
  },
  {
    variable: 'CLICKSTREAM_MAX_BODY_BYTES',
    defaultValue: String(DEFAULT_LIMITS.maxBodyBytes),
    help: 'Largest accepted request body, in bytes (413 above it).',
    parse: integer(1024, 1024 * 1024 * 1024),
    assign: (c, v) => (c.limits.maxBodyBytes = number(v)),
  },
  {
    variable: 'CLICKSTREAM_MAX_RESULTS_PER_SESSION',
    defaultValue: String(DEFAULT_LIMITS.maxResultsPerSession),
    help: "Most entries in one session's search_results.",
    parse: integer(1, 1_000_000),
    assign: (c, v) => (c.limits.maxResultsPerSession = number(v)),
  },
  {
    variable: 'CLICKSTREAM_MAX_EVENTS_PER_REQUEST',
    defaultValue: String(DEFAULT_LIMITS.maxEventsPerRequest),
    help: 'Most events in one POST /session/events request.',
    parse: integer(1, 1_000_000),
    assign: (c, v) => (c.limits.maxEventsPerRequest = number(v)),
  },
  {
    variable: 'CLICKSTREAM_MAX_ID_LENGTH',
    defaultValue: String(DEFAULT_LIMITS.maxIdLength),
    help: 'Longest session_id, event_id, object_id, user_id or release_id, in characters.',
    parse: integer(1, 65536),
    assign: (c, v) => (c.limits.maxIdLength = number(v)),
  },
  {
    variable: 'CLICKSTREAM_MAX_META_BYTES',
    defaultValue: String(DEFAULT_LIMITS.maxMetaBytes),
    help: 'Largest serialized meta (or item_info) of one result or event, in bytes.',
    parse: integer(2, 64 * 1024 * 1024),
    assign: (c, v) => (c.limits.maxMetaBytes = number(v)),
  },
  {
    variable: 'CLICKSTREAM_MAX_SEARCH_META_BYTES',
    defaultValue: String(DEFAULT_LIMITS.maxSearchMetaBytes),
    help: 'Largest serialized search_meta, payload_filter, sort_by or structured search_query, in bytes.',
    parse: integer(2, 64 * 1024 * 1024),
    assign: (c, v) => (c.limits.maxSearchMetaBytes = number(v)),
  },
  {
    variable: 'CLICKSTREAM_MAX_JSON_DEPTH',
    defaultValue: String(DEFAULT_LIMITS.maxJsonDepth),
    help: 'Deepest nesting of objects and arrays accepted in a request body.',
    parse: integer(2, 1000),
    assign: (c, v) => (c.limits.maxJsonDepth = number(v)),
  },
];

/** The settings that have a CLI flag: all but the secrets. */
export const FLAG_SETTINGS: readonly Setting[] = SETTINGS.filter((s) => s.secret !== true);

/** How a setting is named in messages: `CLICKSTREAM_X (--x)`, or the variable alone for a secret. */
function settingLabel(setting: Setting): string {
  return setting.secret ? setting.variable : `${setting.variable} (${flagName(setting.variable)})`;
}

/** `CLICKSTREAM_LATE_EVENT_GRACE_SECONDS` -> `--late-event-grace-seconds`. */
export function flagName(variable: string): string {
  return `--${variable
    .replace(/^CLICKSTREAM_/, '')
    .toLowerCase()
    .replaceAll('_', '-')}`;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Builds the frozen configuration from the environment, with `overrides` (from CLI flags, keyed by
 * variable name) taking precedence. Every invalid value is reported at once in one {@link ConfigError}.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  overrides: Readonly<Record<string, string | undefined>> = {},
): Config {
  const draft: MutableConfig = {
    host: '',
    port: 0,
    databaseUrl: '',
    durability: 'process',
    lateEventGraceSeconds: 0,
    timeWindowPastSeconds: 0,
    timeWindowFutureSeconds: 0,
    adminKey: undefined,
    ingestKeys: [],
    corsOrigins: [],
    rateLimitPerMinute: 0,
    trustProxy: false,
    logLevel: 'info',
    limits: {
      maxBodyBytes: 0,
      maxResultsPerSession: 0,
      maxEventsPerRequest: 0,
      maxIdLength: 0,
      maxMetaBytes: 0,
      maxSearchMetaBytes: 0,
      maxJsonDepth: 0,
    },
  };
  const problems: string[] = [];
  for (const setting of SETTINGS) {
    const raw = overrides[setting.variable] ?? env[setting.variable] ?? setting.defaultValue;
    if (raw === undefined) continue;
    const parsed = setting.parse(raw);
    if (parsed.ok) setting.assign(draft, parsed.value);
    else {
      const shown = setting.secret && raw.trim() !== '' ? parsed.message.replaceAll(raw, '<hidden>') : parsed.message;
      problems.push(`${settingLabel(setting)} ${shown}`);
    }
  }
  if (draft.adminKey !== undefined && draft.ingestKeys.includes(draft.adminKey)) {
    problems.push(
      'CLICKSTREAM_ADMIN_KEY is also listed in CLICKSTREAM_INGEST_KEYS; ingest keys may be public, so the admin key must be another one',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  Object.freeze(draft.limits);
  Object.freeze(draft.ingestKeys);
  Object.freeze(draft.corsOrigins);
  return Object.freeze(draft);
}

/** Whether any API key is configured; without one, every route is open to whoever reaches the port. */
export function keysConfigured(config: Config): boolean {
  return config.adminKey !== undefined || config.ingestKeys.length > 0;
}

/**
 * The safe default: without keys the service may only listen on a loopback address. Returns why it must
 * not start, or null.
 */
export function exposureProblem(config: Config): string | null {
  if (keysConfigured(config)) return null;
  if (!isLoopback(config.host)) {
    return `CLICKSTREAM_HOST (--host) is ${config.host}, which is reachable from other machines, and no API key is set: set CLICKSTREAM_ADMIN_KEY (and CLICKSTREAM_INGEST_KEYS for search applications), or listen on 127.0.0.1`;
  }
  const remote = config.corsOrigins.filter((origin) => origin === '*' || !isLoopback(new URL(origin).hostname));
  if (remote.length > 0) {
    return `CLICKSTREAM_CORS_ORIGINS (--cors-origins) lets pages of ${remote.join(', ')} read the service, which is open without an API key: set CLICKSTREAM_ADMIN_KEY and CLICKSTREAM_INGEST_KEYS, or list only local origins (http://localhost:3000)`;
  }
  return null;
}

/** localhost, 127.0.0.0/8 and ::1 (also IPv4-mapped). */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(h);
}

/** Help lines for every setting, as printed by `--help`. */
export function settingsHelp(): string {
  return FLAG_SETTINGS.map((s) => {
    const def = s.defaultValue === undefined ? 'unset' : s.defaultValue;
    return `  ${flagName(s.variable)} <value>\n      ${s.variable} (default: ${def})\n      ${s.help}`;
  }).join('\n');
}

/** The configuration table of the README, generated so that it cannot drift from {@link SETTINGS}. */
export function settingsMarkdownTable(): string {
  const rows = SETTINGS.map((s) => {
    const def = s.defaultValue === undefined ? 'unset' : `\`${s.defaultValue}\``;
    const flag = s.secret ? '(environment only)' : `\`${flagName(s.variable)}\``;
    return `| \`${s.variable}\` | ${flag} | ${def} | ${s.help.replaceAll('|', '\\|')} |`;
  });
  return ['| variable | flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
