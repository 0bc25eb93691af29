import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigError,
  exposureProblem,
  flagName,
  keysConfigured,
  loadConfig,
  SETTINGS,
} from '../../src/config/config.js';
import { parseCommand, UsageError } from '../../src/cli/flags.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';

function configError(env: Record<string, string>, overrides: Record<string, string> = {}): ConfigError {
  try {
    loadConfig(env, overrides);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `unexpected error ${String(error)}`);
    return error;
  }
  assert.fail('the configuration was accepted');
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 5000);
    assert.equal(config.databaseUrl, 'sqlite:./data/clickstream.db');
    assert.equal(config.lateEventGraceSeconds, 600);
    assert.equal(config.timeWindowPastSeconds, 86400);
    assert.equal(config.timeWindowFutureSeconds, 300);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.durability, 'process');
    assert.equal(config.adminKey, undefined);
    assert.deepEqual(config.ingestKeys, []);
    assert.deepEqual(config.limits, DEFAULT_LIMITS);
  });

  it('reads the environment', () => {
    const config = loadConfig({
      CLICKSTREAM_HOST: '0.0.0.0',
      CLICKSTREAM_PORT: '8080',
      CLICKSTREAM_DATABASE_URL: 'postgres://u@db/clicks',
      CLICKSTREAM_LATE_EVENT_GRACE_SECONDS: '0',
      CLICKSTREAM_TIME_WINDOW_PAST_SECONDS: '3600',
      CLICKSTREAM_TIME_WINDOW_FUTURE_SECONDS: '60',
      CLICKSTREAM_LOG_LEVEL: 'debug',
      CLICKSTREAM_MAX_JSON_DEPTH: '8',
    });
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.port, 8080);
    assert.equal(config.databaseUrl, 'postgres://u@db/clicks');
    assert.equal(config.lateEventGraceSeconds, 0);
    assert.equal(config.timeWindowPastSeconds, 3600);
    assert.equal(config.timeWindowFutureSeconds, 60);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.limits.maxJsonDepth, 8);
    assert.equal(config.limits.maxIdLength, DEFAULT_LIMITS.maxIdLength);
  });

  it('ignores variables it does not know', () => {
    assert.equal(loadConfig({ CLICKSTREAM_PORTT: 'x', PATH: '/bin' }).port, 5000);
  });

  it('lets overrides beat the environment', () => {
    const config = loadConfig(
      { CLICKSTREAM_PORT: '8080', CLICKSTREAM_HOST: '0.0.0.0' },
      { CLICKSTREAM_PORT: '9090', CLICKSTREAM_HOST: undefined },
    );
    assert.equal(config.port, 9090);
    assert.equal(config.host, '0.0.0.0', 'an undefined override falls back to the environment');
  });

  it('checks an override like an environment value, and does not check an overridden bad env value', () => {
    assert.equal(loadConfig({ CLICKSTREAM_PORT: 'bad' }, { CLICKSTREAM_PORT: '7000' }).port, 7000);
    const error = configError({ CLICKSTREAM_PORT: '7000' }, { CLICKSTREAM_PORT: 'bad' });
    assert.equal(error.problems.length, 1);
    assert.match(error.problems[0] ?? '', /^CLICKSTREAM_PORT \(--port\)/);
  });

  it('reports every bad value at once, each with its variable and flag', () => {
    const error = configError({
      CLICKSTREAM_PORT: 'eighty',
      CLICKSTREAM_LATE_EVENT_GRACE_SECONDS: '-1',
      CLICKSTREAM_TIME_WINDOW_FUTURE_SECONDS: '999999',
      CLICKSTREAM_DATABASE_URL: 'mysql://db',
      CLICKSTREAM_LOG_LEVEL: 'loud',
      CLICKSTREAM_HOST: '  ',
    });
    const expected: Record<string, RegExp> = {
      'CLICKSTREAM_PORT (--port)': /whole number.*"eighty"/,
      'CLICKSTREAM_LATE_EVENT_GRACE_SECONDS (--late-event-grace-seconds)': /whole number/,
      'CLICKSTREAM_TIME_WINDOW_FUTURE_SECONDS (--time-window-future-seconds)': /between 0 and 86400, got 999999/,
      'CLICKSTREAM_DATABASE_URL (--database-url)': /sqlite: or postgres:\/\//,
      'CLICKSTREAM_LOG_LEVEL (--log-level)': /one of fatal, error, warn, info, debug, trace, silent/,
      'CLICKSTREAM_HOST (--host)': /must not be empty/,
    };
    assert.equal(error.problems.length, Object.keys(expected).length, error.message);
    for (const [prefix, pattern] of Object.entries(expected)) {
      const problem = error.problems.find((p) => p.startsWith(`${prefix} `));
      assert.ok(problem, `no problem for ${prefix} in ${error.message}`);
      assert.match(problem, pattern);
      assert.ok(error.message.includes(problem), 'the message lists every problem');
    }
    assert.equal(error.name, 'ConfigError');
    assert.match(error.message, /^Invalid configuration:\n/);
  });

  it('rejects out-of-range and non-decimal numbers', () => {
    for (const value of ['65536', '1e3', '0x10', '12.5', '']) {
      const error = configError({ CLICKSTREAM_PORT: value });
      assert.equal(error.problems.length, 1, value);
    }
    assert.equal(loadConfig({ CLICKSTREAM_PORT: ' 65535 ' }).port, 65535);
    assert.equal(loadConfig({ CLICKSTREAM_PORT: '0' }).port, 0);
  });

  it('accepts postgresql:// and sqlite: urls', () => {
    assert.equal(loadConfig({ CLICKSTREAM_DATABASE_URL: 'postgresql://db/x' }).databaseUrl, 'postgresql://db/x');
    assert.equal(loadConfig({ CLICKSTREAM_DATABASE_URL: 'sqlite::memory:' }).databaseUrl, 'sqlite::memory:');
  });

  it('refuses sqlite: without a path, which would silently keep nothing', () => {
    const error = configError({ CLICKSTREAM_DATABASE_URL: 'sqlite:' });
    assert.match(error.message, /CLICKSTREAM_DATABASE_URL \(--database-url\) needs a file path/);
  });

  it('refuses a backend-specific setting given explicitly for a backend that ignores it, and names both', () => {
    const postgres = { CLICKSTREAM_DATABASE_URL: 'postgres://db.example/clickstream' };
    // The default applies everywhere: unset, the setting is no problem on PostgreSQL.
    assert.equal(loadConfig(postgres).databaseUrl, postgres.CLICKSTREAM_DATABASE_URL);
    const cases: { env: Record<string, string>; overrides: Record<string, string> }[] = [
      { env: { ...postgres, CLICKSTREAM_DURABILITY: 'power-loss' }, overrides: {} },
      { env: postgres, overrides: { CLICKSTREAM_DURABILITY: 'process' } },
    ];
    for (const given of cases) {
      const error = configError(given.env, given.overrides);
      assert.equal(error.problems.length, 1, error.message);
      assert.match(
        error.problems[0] ?? '',
        /^CLICKSTREAM_DURABILITY \(--durability\) does not apply to the postgres store/,
      );
    }
    // On SQLite the same setting is read.
    assert.equal(loadConfig({ CLICKSTREAM_DURABILITY: 'power-loss' }).durability, 'power-loss');
  });

  it('checks a store URL through the driver that serves it', () => {
    const error = configError({ CLICKSTREAM_DATABASE_URL: 'postgres://[::1' });
    assert.match(error.message, /CLICKSTREAM_DATABASE_URL \(--database-url\) is not a valid URL/);
  });

  it('reads the admin key and the ingest keys', () => {
    const config = loadConfig(
      { CLICKSTREAM_INGEST_KEYS: ' ingest-key-0123456789, ,ingest-key-abcdefghij ' },
      { CLICKSTREAM_ADMIN_KEY: 'admin-key-0123456789' },
    );
    assert.equal(config.adminKey, 'admin-key-0123456789');
    assert.deepEqual(config.ingestKeys, ['ingest-key-0123456789', 'ingest-key-abcdefghij']);
    assert.ok(keysConfigured(config));
    assert.equal(keysConfigured(loadConfig({})), false);
  });

  it('refuses short keys, and the admin key among the ingest keys, without echoing them', () => {
    const short = configError(
      { CLICKSTREAM_INGEST_KEYS: 'long-enough-key-0001,s3cret' },
      { CLICKSTREAM_ADMIN_KEY: 's3cret-admin' },
    );
    assert.equal(short.problems.length, 2, short.message);
    assert.ok(short.problems.some((p) => /^CLICKSTREAM_ADMIN_KEY must be at least 16 characters/.test(p)));
    assert.ok(short.problems.some((p) => /^CLICKSTREAM_INGEST_KEYS key 2 of the list must be at least 16/.test(p)));
    assert.doesNotMatch(short.message, /s3cret|long-enough/);

    const shared = configError({
      CLICKSTREAM_ADMIN_KEY: 'the-same-key-0123456789',
      CLICKSTREAM_INGEST_KEYS: 'the-same-key-0123456789',
    });
    assert.match(shared.message, /CLICKSTREAM_ADMIN_KEY is also listed in CLICKSTREAM_INGEST_KEYS/);
    assert.doesNotMatch(shared.message, /the-same-key/);
  });

  it('reads CORS origins and refuses what is not an origin', () => {
    assert.deepEqual(
      loadConfig({ CLICKSTREAM_CORS_ORIGINS: 'https://shop.example, http://localhost:3000' }).corsOrigins,
      ['https://shop.example', 'http://localhost:3000'],
    );
    assert.deepEqual(loadConfig({ CLICKSTREAM_CORS_ORIGINS: '*' }).corsOrigins, ['*']);
    assert.deepEqual(loadConfig({}).corsOrigins, []);
    for (const bad of ['https://shop.example/', 'shop.example', 'ftp://shop.example', 'https://shop.example/path']) {
      assert.match(
        configError({ CLICKSTREAM_CORS_ORIGINS: bad }).message,
        /CLICKSTREAM_CORS_ORIGINS \(--cors-origins\) ".*" is not an origin/,
        bad,
      );
    }
  });

  it('reads keys from the environment only: a flag would show them in ps', () => {
    const spec = { name: 'serve', summary: 'serve', usage: 'clickstream serve' };
    for (const flag of ['--admin-key', '--ingest-keys']) {
      assert.throws(() => parseCommand(spec, [flag, 'admin-key-0123456789'], {}), UsageError, flag);
    }
    assert.equal(
      parseCommand(spec, [], { CLICKSTREAM_ADMIN_KEY: 'admin-key-0123456789' }).config().adminKey,
      'admin-key-0123456789',
    );
  });

  it('trusts only proxies named by address or CIDR range', () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(
      loadConfig({ CLICKSTREAM_TRUST_PROXY: '10.0.0.1, 10.1.0.0/16,fd00::/8' }).trustProxy,
      '10.0.0.1,10.1.0.0/16,fd00::/8',
    );
    for (const bad of ['true', '1', '10.0.0.0/33', 'proxy.example', '10.0.0.1/8/1']) {
      assert.match(
        configError({ CLICKSTREAM_TRUST_PROXY: bad }).message,
        /CLICKSTREAM_TRUST_PROXY \(--trust-proxy\) ".*" is not an IP address or a CIDR range/,
        bad,
      );
    }
  });

  it('has rate limiting off by default', () => {
    assert.equal(loadConfig({}).rateLimitPerMinute, 0);
    assert.equal(loadConfig({ CLICKSTREAM_RATE_LIMIT_PER_MINUTE: '600' }).rateLimitPerMinute, 600);
    assert.match(configError({ CLICKSTREAM_RATE_LIMIT_PER_MINUTE: '-1' }).message, /CLICKSTREAM_RATE_LIMIT_PER_MINUTE/);
  });

  it('without keys, allows only a loopback address and names the variable to set otherwise', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.0.0.2', '::ffff:127.0.0.1']) {
      assert.equal(exposureProblem(loadConfig({ CLICKSTREAM_HOST: host })), null, host);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'example.org', '128.0.0.1']) {
      const problem = exposureProblem(loadConfig({ CLICKSTREAM_HOST: host }));
      assert.ok(problem !== null, host);
      assert.match(problem, /CLICKSTREAM_HOST/);
      assert.match(problem, /set CLICKSTREAM_ADMIN_KEY/);
    }
    const withKey = loadConfig({ CLICKSTREAM_HOST: '0.0.0.0', CLICKSTREAM_ADMIN_KEY: 'admin-key-0123456789' });
    assert.equal(exposureProblem(withKey), null);
  });

  it('without keys, allows CORS for local pages only', () => {
    const local = loadConfig({ CLICKSTREAM_CORS_ORIGINS: 'http://localhost:3000,http://127.0.0.1:8080' });
    assert.equal(exposureProblem(local), null);
    for (const origins of ['*', 'https://shop.example', 'http://localhost:3000,https://shop.example']) {
      const problem = exposureProblem(loadConfig({ CLICKSTREAM_CORS_ORIGINS: origins }));
      assert.ok(problem !== null, origins);
      assert.match(problem, /^CLICKSTREAM_CORS_ORIGINS \(--cors-origins\) lets pages of .* read the service/);
    }
    const keyed = loadConfig({ CLICKSTREAM_CORS_ORIGINS: '*', CLICKSTREAM_INGEST_KEYS: 'ingest-key-0123456789' });
    assert.equal(exposureProblem(keyed), null);
  });

  it('does not echo a bad secret value', () => {
    const error = configError({ CLICKSTREAM_ADMIN_KEY: '   ' });
    assert.ok(error.problems.length >= 1);
    for (const problem of error.problems) assert.match(problem, /^CLICKSTREAM_ADMIN_KEY /);
  });

  it('returns a frozen configuration, limits and keys included', () => {
    const config = loadConfig({});
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.limits));
    assert.ok(Object.isFrozen(config.ingestKeys));
    assert.equal(Reflect.set(config, 'port', 1), false);
    assert.equal(Reflect.set(config.limits, 'maxJsonDepth', 1000), false);
    assert.throws(() => {
      (config.ingestKeys as string[]).push('a');
    }, TypeError);
    assert.equal(config.port, 5000);
    assert.equal(config.limits.maxJsonDepth, 32);
  });

  it('does not share state between calls', () => {
    const first = loadConfig({ CLICKSTREAM_MAX_ID_LENGTH: '10' });
    const second = loadConfig({});
    assert.equal(first.limits.maxIdLength, 10);
    assert.equal(second.limits.maxIdLength, 256);
    assert.notEqual(first.limits, DEFAULT_LIMITS);
  });
});

describe('flagName', () => {
  it('derives the CLI flag from the variable', () => {
    assert.equal(flagName('CLICKSTREAM_LATE_EVENT_GRACE_SECONDS'), '--late-event-grace-seconds');
    assert.equal(flagName('CLICKSTREAM_PORT'), '--port');
    assert.equal(flagName('CLICKSTREAM_MAX_JSON_DEPTH'), '--max-json-depth');
    assert.equal(flagName('OTHER_THING'), '--other-thing');
  });

  it('gives every setting a distinct flag', () => {
    const flags = SETTINGS.map((s) => flagName(s.variable));
    assert.equal(new Set(flags).size, SETTINGS.length);
    for (const flag of flags) assert.match(flag, /^--[a-z]+(-[a-z]+)*$/);
  });
});
