import type { Logger } from 'pino';
import { ConfigError, exposureProblem, isLoopback, keysConfigured, type Config } from './config/config.js';
import { buildApp } from './http/app.js';
import { createMetrics } from './http/metrics.js';
import { createStore } from './storage/create-store.js';

/** How long shutdown waits for in-flight requests before it closes their connections. */
const SHUTDOWN_GRACE_MS = 4000;

/**
 * Runs the service: opens the store (applying migrations), builds the app, listens, and on SIGTERM or
 * SIGINT stops accepting connections, lets in-flight requests finish, closes the store and exits 0.
 */
export async function runServer(config: Config, logger: Logger): Promise<void> {
  const exposure = exposureProblem(config);
  if (exposure !== null) throw new ConfigError([exposure]);
  if (!keysConfigured(config)) {
    logger.warn(
      { host: config.host },
      'no API key is set: every route is open, so the service listens on loopback only; set CLICKSTREAM_ADMIN_KEY and CLICKSTREAM_INGEST_KEYS to serve other machines',
    );
  }
  // Made before the store, which reports its group commits into them.
  const metrics = config.metrics ? createMetrics() : undefined;
  const { store, applied, location } = await createStore(config.databaseUrl, {
    durability: config.durability,
    checkpointThread: true,
    logger: logger.child({ component: 'store' }),
    ...(metrics ? { observer: metrics.store } : {}),
  });
  logger.info({ store: location, backend: store.capabilities.backend, migrationsApplied: applied }, 'store ready');
  const app = await buildApp({ store, config, logger, ...(metrics ? { metrics } : {}) });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await store.close();
    throw error;
  }
  // The host is checked as written before listening; a name is resolved by listen, so check what it bound.
  const exposed = app
    .addresses()
    .map((bound) => (typeof bound === 'string' ? bound : bound.address))
    .filter((address) => !isLoopback(address));
  if (!keysConfigured(config) && exposed.length > 0) {
    await app.close();
    await store.close();
    throw new ConfigError([
      `CLICKSTREAM_HOST (--host) ${config.host} resolved to ${exposed.join(', ')}, which is not loopback, and no API key is set: set CLICKSTREAM_ADMIN_KEY, or listen on 127.0.0.1`,
    ]);
  }
  logger.info({ addresses: app.addresses() }, 'listening');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      logger.warn({ afterMs: SHUTDOWN_GRACE_MS }, 'closing connections of requests still in flight');
      app.server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    app
      .close()
      .then(() => store.close())
      .then(
        () => {
          logger.info('stopped');
          logger.flush();
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          logger.flush();
          process.exit(1);
        },
      );
  };
  // `on`, not `once`: a second Ctrl-C while requests finish must not kill the process half-way.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
