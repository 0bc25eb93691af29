/**
 * The one reader of the environment: builds the frozen configuration from the settings declared in
 * `settings.ts`, reporting every problem at once.
 */
import type { Limits } from '../domain/limits.js';
import type { Durability } from '../storage/driver.js';
import { driverFor } from '../storage/drivers.js';
import { LOG_LEVELS, type MutableConfig, SETTINGS, settingLabel } from './settings.js';

export type { Durability } from '../storage/driver.js';
export { DURABILITY_MODES } from '../storage/driver.js';
export { FLAG_SETTINGS, flagName, MIN_KEY_LENGTH, SETTINGS, settingsHelp } from './settings.js';
export { settingsEnvExample, settingsMarkdownTable } from './settings-docs.js';
export { LOG_LEVELS };

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
  /** Keys of fine-tuning workers: the worker routes only. */
  readonly workerKeys: readonly string[];
  /** Claims of a task before an expired lease (or a retried failure) fails it. */
  readonly taskMaxAttempts: number;
  /** Seconds between sweeps of expired task leases; 0 is off. */
  readonly taskSweepSeconds: number;
  /** Origins allowed to call the client routes from a browser; `*` allows any. Empty: no CORS headers. */
  readonly corsOrigins: readonly string[];
  /** Requests per minute per key (or per client address without a key); 0 is off. */
  readonly rateLimitPerMinute: number;
  /** Fastify's `trustProxy`: the proxies whose X-Forwarded-For names the client; false trusts none. */
  readonly trustProxy: string | false;
  readonly logLevel: LogLevel;
  /** Serve the demo search page at /demo. */
  readonly demo: boolean;
  /** Count requests and serve Prometheus metrics at /metrics. */
  readonly metrics: boolean;
  /** Serve /metrics without a key. */
  readonly metricsPublic: boolean;
  /** Dot path of the query text in structured queries (analytics, training data's default); null: none. */
  readonly queryField: string | null;
  /** Record rejected (and sampled accepted) API requests for the events debugger. */
  readonly debugEvents: boolean;
  /** Fraction of accepted requests recorded, 0..1. */
  readonly debugSampleRate: number;
  /** Most rows of the events debugger's table. */
  readonly debugEventsMaxRows: number;
  /** Rows of the events debugger older than this many seconds are removed. */
  readonly debugEventsMaxAgeSeconds: number;
  /** Bytes of a body kept by the events debugger. */
  readonly debugBodyBytes: number;
  readonly limits: Limits;
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
    workerKeys: [],
    taskMaxAttempts: 0,
    taskSweepSeconds: 0,
    corsOrigins: [],
    rateLimitPerMinute: 0,
    trustProxy: false,
    logLevel: 'info',
    demo: false,
    metrics: true,
    metricsPublic: false,
    queryField: null,
    debugEvents: true,
    debugSampleRate: 0,
    debugEventsMaxRows: 0,
    debugEventsMaxAgeSeconds: 0,
    debugBodyBytes: 0,
    limits: {
      maxBodyBytes: 0,
      maxResultsPerSession: 0,
      maxEventsPerRequest: 0,
      maxIngestItems: 0,
      maxIdLength: 0,
      maxMetaBytes: 0,
      maxSearchMetaBytes: 0,
      maxJsonDepth: 0,
    },
  };
  const problems: string[] = [];
  const explicit: string[] = [];
  for (const setting of SETTINGS) {
    const given = overrides[setting.variable] ?? env[setting.variable];
    if (given !== undefined) explicit.push(setting.variable);
    const raw = given ?? setting.defaultValue;
    if (raw === undefined) continue;
    const parsed = setting.parse(raw);
    if (parsed.ok) setting.assign(draft, parsed.value);
    else {
      const shown = setting.secret && raw.trim() !== '' ? parsed.message.replaceAll(raw, '<hidden>') : parsed.message;
      problems.push(`${settingLabel(setting)} ${shown}`);
    }
  }
  problems.push(...backendProblems(draft.databaseUrl, explicit));
  if (draft.adminKey !== undefined && draft.ingestKeys.includes(draft.adminKey)) {
    problems.push(
      'CLICKSTREAM_ADMIN_KEY is also listed in CLICKSTREAM_INGEST_KEYS; ingest keys may be public, so the admin key must be another one',
    );
  }
  const workerKeyClash = draft.workerKeys.find((key) => key === draft.adminKey || draft.ingestKeys.includes(key));
  if (workerKeyClash !== undefined) {
    problems.push(
      'a key of CLICKSTREAM_WORKER_KEYS is also the admin key or an ingest key; each role needs keys of its own',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  Object.freeze(draft.limits);
  Object.freeze(draft.ingestKeys);
  Object.freeze(draft.workerKeys);
  Object.freeze(draft.corsOrigins);
  return Object.freeze(draft);
}

/** Backend-specific settings given explicitly for a backend whose driver does not honour them. */
function backendProblems(databaseUrl: string, explicit: readonly string[]): string[] {
  const driver = driverFor(databaseUrl);
  if (!driver) return [];
  return SETTINGS.filter(
    (s) => s.backendSpecific === true && explicit.includes(s.variable) && !driver.settings.includes(s.variable),
  ).map(
    (s) =>
      `${settingLabel(s)} does not apply to the ${driver.name} store (CLICKSTREAM_DATABASE_URL); it would be ignored, so unset it`,
  );
}

/** Whether any API key is configured; without one, every route is open to whoever reaches the port. */
export function keysConfigured(config: Config): boolean {
  return config.adminKey !== undefined || config.ingestKeys.length > 0 || config.workerKeys.length > 0;
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
