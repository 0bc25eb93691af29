/**
 * Every setting, declared once: its variable, its CLI flag (derived from the variable), its default, its
 * parser and its help text. The README table, `--help` and validation all come from {@link SETTINGS}.
 */
import { isIP } from 'node:net';
import { DEFAULT_LIMITS, LIMIT_VARIABLES, type Limits } from '../domain/limits.js';
import { DURABILITY_MODES, type Durability } from '../storage/driver.js';
import { storeUrlProblem } from '../storage/drivers.js';
import type { Config, LogLevel } from './config.js';
import { DEBUG_SETTINGS } from './debug-settings.js';
import { flag, integer, oneOf, text, type Parsed } from './setting-parsers.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Shortest accepted key: 16 characters from a generator (`openssl rand -hex 16` gives 32) resist guessing. */
export const MIN_KEY_LENGTH = 16;

/**
 * What a setting is read for. A command takes the flags of the uses it declares (CommandSpec.settings):
 * `store` opening the store (every command working on it), `release` releasing a batch, `service` the
 * HTTP service.
 */
export const SETTING_USES = ['store', 'release', 'service'] as const;
export type SettingUse = (typeof SETTING_USES)[number];

export type MutableConfig = { -readonly [K in Exclude<keyof Config, 'limits'>]: Config[K] } & {
  limits: { -readonly [K in keyof Limits]: Limits[K] };
};

export interface Setting {
  readonly variable: string;
  readonly defaultValue: string | undefined;
  readonly help: string;
  /** What reads it; a command that declares none of these uses neither takes nor lists its flag. */
  readonly usedFor: readonly SettingUse[];
  /** A key: never echoed in messages, and read from the environment only (a flag shows in `ps`). */
  readonly secret?: boolean;
  /**
   * Honoured by some storage backends only (those whose driver lists it); set explicitly for another
   * backend, it is refused at start rather than silently ignored.
   */
  readonly backendSpecific?: boolean;
  readonly parse: (raw: string) => Parsed;
  readonly assign: (target: MutableConfig, value: unknown) => void;
}

/** A dot path into a JSON value (`query.text`, `items.0.title`): no empty segment, no space. */
const dotPath = (raw: string): Parsed =>
  /^[^.\s]+(\.[^.\s]+)*$/.test(raw)
    ? { ok: true, value: raw }
    : { ok: false, message: `must be a dot path such as query.text, got "${raw}"` };

/** Checked by the storage drivers, which know their URL forms. */
const databaseUrl = (raw: string): Parsed => {
  const url = raw.trim();
  const problem = storeUrlProblem(url);
  return problem === null ? { ok: true, value: url } : { ok: false, message: problem };
};

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

/** The input limits: each one a whole number within its range, with its default from DEFAULT_LIMITS. */
const LIMITS: readonly {
  key: keyof Limits;
  min: number;
  max: number;
  help: string;
  usedFor?: readonly SettingUse[];
}[] = [
  {
    key: 'maxBodyBytes',
    min: 1024,
    max: 1024 * 1024 * 1024,
    help: 'Largest accepted request body, in bytes (413 above it).',
  },
  { key: 'maxResultsPerSession', min: 1, max: 1_000_000, help: "Most entries in one session's search_results." },
  { key: 'maxEventsPerRequest', min: 1, max: 1_000_000, help: 'Most events in one POST /session/events request.' },
  {
    key: 'maxIngestItems',
    min: 1,
    max: 1_000_000,
    help: 'Most items in each section (sessions, events groups, irrelevant ids) of one POST /ingest body.',
  },
  {
    key: 'maxIdLength',
    min: 1,
    max: 65536,
    help: 'Longest session_id, event_id, object_id, user_id or release_id, in characters.',
    usedFor: ['service', 'release'],
  },
  {
    key: 'maxMetaBytes',
    min: 2,
    max: 64 * 1024 * 1024,
    help: 'Largest serialized meta (or item_info) of one result or event, in bytes.',
  },
  {
    key: 'maxSearchMetaBytes',
    min: 2,
    max: 64 * 1024 * 1024,
    help: 'Largest serialized search_meta, payload_filter, sort_by or structured search_query, in bytes.',
  },
  {
    key: 'maxJsonDepth',
    min: 2,
    max: 1000,
    help: 'Deepest nesting of objects and arrays accepted in a request body.',
  },
];

const LIMIT_SETTINGS: readonly Setting[] = LIMITS.map(({ key: name, min, max, help, usedFor = ['service'] }) => ({
  variable: LIMIT_VARIABLES[name],
  defaultValue: String(DEFAULT_LIMITS[name]),
  help,
  usedFor,
  parse: integer(min, max),
  assign: (c, v) => (c.limits[name] = number(v)),
}));

export const SETTINGS: readonly Setting[] = [
  {
    variable: 'CLICKSTREAM_HOST',
    defaultValue: '127.0.0.1',
    help: 'Address the HTTP server binds to.',
    usedFor: ['service'],
    parse: text,
    assign: (c, v) => (c.host = String(v)),
  },
  {
    variable: 'CLICKSTREAM_PORT',
    defaultValue: '5000',
    help: 'TCP port of the HTTP server (0 picks a free port).',
    usedFor: ['service'],
    parse: integer(0, 65535),
    assign: (c, v) => (c.port = number(v)),
  },
  {
    variable: 'CLICKSTREAM_DATABASE_URL',
    defaultValue: 'sqlite:./data/clickstream.db',
    help: 'Store location: sqlite:<path> (embedded, default) or postgres://... .',
    usedFor: ['store'],
    parse: databaseUrl,
    assign: (c, v) => (c.databaseUrl = String(v)),
  },
  {
    variable: 'CLICKSTREAM_DURABILITY',
    defaultValue: 'process',
    help: "SQLite only (PostgreSQL follows the server's synchronous_commit). process: acknowledged writes survive a crash of the process (WAL, synchronous=NORMAL); power-loss: they also survive a power loss or OS crash (synchronous=FULL, slower).",
    usedFor: ['store'],
    backendSpecific: true,
    parse: oneOf(DURABILITY_MODES),
    assign: (c, v) => (c.durability = v as Durability),
  },
  {
    variable: 'CLICKSTREAM_LATE_EVENT_GRACE_SECONDS',
    defaultValue: '600',
    help: 'After a release, events and irrelevant flags for the batch are still accepted this long; then the batch is sealed.',
    usedFor: ['service', 'release'],
    parse: integer(0, 31 * 86400),
    assign: (c, v) => (c.lateEventGraceSeconds = number(v)),
  },
  {
    variable: 'CLICKSTREAM_TIME_WINDOW_PAST_SECONDS',
    defaultValue: '86400',
    help: 'Oldest accepted created_at, in seconds before server time.',
    usedFor: ['service'],
    parse: integer(0, 10 * 365 * 86400),
    assign: (c, v) => (c.timeWindowPastSeconds = number(v)),
  },
  {
    variable: 'CLICKSTREAM_TIME_WINDOW_FUTURE_SECONDS',
    defaultValue: '300',
    help: 'Newest accepted created_at, in seconds after server time (clock skew).',
    usedFor: ['service'],
    parse: integer(0, 86400),
    assign: (c, v) => (c.timeWindowFutureSeconds = number(v)),
  },
  {
    variable: 'CLICKSTREAM_ADMIN_KEY',
    defaultValue: undefined,
    help: `Key that authorises every route, sent as Authorization: Bearer <key> or X-API-Key (never accepted in the URL). At least ${MIN_KEY_LENGTH} characters; environment only. With no key at all, the service serves this machine only.`,
    usedFor: ['service'],
    secret: true,
    parse: key,
    assign: (c, v) => (c.adminKey = String(v)),
  },
  {
    variable: 'CLICKSTREAM_INGEST_KEYS',
    defaultValue: undefined,
    help: `Comma-separated keys that authorise the client routes only; they may be public (embedded in web pages). Sent as a header, or as ?key= on client routes (sendBeacon). At least ${MIN_KEY_LENGTH} characters each; environment only.`,
    usedFor: ['service'],
    secret: true,
    parse: keyList,
    assign: (c, v) => (c.ingestKeys = v as string[]),
  },
  {
    variable: 'CLICKSTREAM_WORKER_KEYS',
    defaultValue: undefined,
    help: `Comma-separated keys of fine-tuning workers: they authorise the worker routes only (claim, heartbeat, training data, complete, fail of /api/v1/fine-tuning/task). Sent as a header. At least ${MIN_KEY_LENGTH} characters each; environment only.`,
    usedFor: ['service'],
    secret: true,
    parse: keyList,
    assign: (c, v) => (c.workerKeys = v as string[]),
  },
  {
    variable: 'CLICKSTREAM_TASK_MAX_ATTEMPTS',
    defaultValue: '3',
    help: 'Claims of a fine-tuning task before a lease that expires (or a failure with retry) makes it failed instead of pending again.',
    usedFor: ['service'],
    parse: integer(1, 1000),
    assign: (c, v) => (c.taskMaxAttempts = number(v)),
  },
  {
    variable: 'CLICKSTREAM_TASK_SWEEP_SECONDS',
    defaultValue: '15',
    help: 'How often the service hands back fine-tuning tasks whose lease expired (claims do it too). Safe with several replicas. 0 is off.',
    usedFor: ['service'],
    parse: integer(0, 86400),
    assign: (c, v) => (c.taskSweepSeconds = number(v)),
  },
  {
    variable: 'CLICKSTREAM_CORS_ORIGINS',
    defaultValue: undefined,
    help: 'Comma-separated origins (https://shop.example) whose pages may call the API from a browser and read the answers (the keys still decide what each may do); * allows any origin. Unset: no CORS headers. Without keys, local origins only.',
    usedFor: ['service'],
    parse: originList,
    assign: (c, v) => (c.corsOrigins = v as string[]),
  },
  {
    variable: 'CLICKSTREAM_RATE_LIMIT_PER_MINUTE',
    defaultValue: '0',
    help: 'Most requests per minute: per admin key, per ingest key and client address, or per client address for requests without a valid key; then 429 with Retry-After. Counted per process. 0 is off.',
    usedFor: ['service'],
    parse: integer(0, 100_000_000),
    assign: (c, v) => (c.rateLimitPerMinute = number(v)),
  },
  {
    variable: 'CLICKSTREAM_TRUST_PROXY',
    defaultValue: undefined,
    help: 'Addresses or CIDR ranges (comma-separated) of reverse proxies whose X-Forwarded-For gives the client address used by rate limits. Unset: the connection address.',
    usedFor: ['service'],
    parse: trustProxy,
    assign: (c, v) => (c.trustProxy = v as string | false),
  },
  {
    variable: 'CLICKSTREAM_METRICS',
    defaultValue: '1',
    help: 'Serve Prometheus metrics at GET /metrics (admin key) and count requests for them. 1/true or 0/false.',
    usedFor: ['service'],
    parse: flag,
    assign: (c, v) => (c.metrics = v === true),
  },
  {
    variable: 'CLICKSTREAM_METRICS_PUBLIC',
    defaultValue: '0',
    help: 'Serve GET /metrics without a key (for a scraper on a private network; its labels hold no id, key or query). 1/true or 0/false.',
    usedFor: ['service'],
    parse: flag,
    assign: (c, v) => (c.metricsPublic = v === true),
  },
  {
    variable: 'CLICKSTREAM_QUERY_FIELD',
    defaultValue: undefined,
    help: 'Dot path of the query text in structured search queries (e.g. query.text), for analytics and as the default query_field of training data (routes, tasks and the CLI). Unset: structured queries have no query text.',
    usedFor: ['service'],
    parse: dotPath,
    assign: (c, v) => (c.queryField = typeof v === 'string' ? v : null),
  },
  ...DEBUG_SETTINGS,
  {
    variable: 'CLICKSTREAM_DEMO',
    defaultValue: '0',
    help: 'Serve the demo search page (examples/demo-search) at /demo: a small catalog whose searches and clicks are sent with the SDK. 1/true or 0/false.',
    usedFor: ['service'],
    parse: flag,
    assign: (c, v) => (c.demo = v === true),
  },
  {
    variable: 'CLICKSTREAM_LOG_LEVEL',
    defaultValue: 'info',
    help: `Log level: ${LOG_LEVELS.join(', ')}. At info, one line per refused request (4xx); failures (5xx) at warn; every request at debug.`,
    usedFor: ['service'],
    parse: oneOf(LOG_LEVELS),
    assign: (c, v) => (c.logLevel = v as LogLevel),
  },
  ...LIMIT_SETTINGS,
];

/** The settings that have a CLI flag: all but the secrets. */
export const FLAG_SETTINGS: readonly Setting[] = SETTINGS.filter((s) => s.secret !== true);

/** How a setting is named in messages: `CLICKSTREAM_X (--x)`, or the variable alone for a secret. */
export function settingLabel(setting: Setting): string {
  return setting.secret ? setting.variable : `${setting.variable} (${flagName(setting.variable)})`;
}

/** `CLICKSTREAM_LATE_EVENT_GRACE_SECONDS` -> `--late-event-grace-seconds`. */
export function flagName(variable: string): string {
  return `--${variable
    .replace(/^CLICKSTREAM_/, '')
    .toLowerCase()
    .replaceAll('_', '-')}`;
}

/** The settings with a flag that serve any of `uses`, in the order of {@link SETTINGS}. */
export function flagSettingsFor(uses: readonly SettingUse[]): readonly Setting[] {
  return FLAG_SETTINGS.filter((s) => s.usedFor.some((use) => uses.includes(use)));
}

/** Help lines for settings (by default every one with a flag), as printed by `--help`. */
export function settingsHelp(settings: readonly Setting[] = FLAG_SETTINGS): string {
  return settings
    .map((s) => {
      const def = s.defaultValue === undefined ? 'unset' : s.defaultValue;
      return `  ${flagName(s.variable)} <value>\n      ${s.variable} (default: ${def})\n      ${s.help}`;
    })
    .join('\n');
}
