import type { Config } from '../config/config.js';
import { systemClock } from '../domain/time.js';
import { BatchService } from '../services/batches.js';
import { TrainingService } from '../services/training.js';
import { createStore, type OpenedStore } from '../storage/create-store.js';
import type { ClickstreamStore } from '../storage/store.js';
import type { StoreAccess } from './command.js';

/**
 * Opens the configured store for one command, names it on `report` in one line
 * (`store: sqlite:./data/clickstream.db`, a PostgreSQL URL without its password) and always closes it,
 * whatever the command does. A read-only command opens only a store that exists: where there is none,
 * MissingStoreError, and nothing is created.
 */
export async function withStore<T>(
  config: Config,
  access: StoreAccess,
  report: NodeJS.WritableStream,
  work: (store: ClickstreamStore, opened: OpenedStore) => Promise<T>,
): Promise<T> {
  if (access === 'none') throw new Error('a command declared with store: none opened the store');
  const opened = await createStore(config.databaseUrl, {
    durability: config.durability,
    mustExist: access === 'read-only',
  });
  report.write(`store: ${opened.location}\n`);
  try {
    return await work(opened.store, opened);
  } finally {
    await opened.store.close();
  }
}

export function batchService(store: ClickstreamStore, config: Config): BatchService {
  return new BatchService(
    store,
    { limits: config.limits, lateEventGraceSeconds: config.lateEventGraceSeconds },
    systemClock,
  );
}

export function trainingService(store: ClickstreamStore, config: Config): TrainingService {
  return new TrainingService(batchService(store, config), config.queryField);
}
