import type { Config } from '../config/config.js';
import { systemClock } from '../domain/time.js';
import { BatchService } from '../services/batches.js';
import { createStore } from '../storage/create-store.js';
import type { ClickstreamStore } from '../storage/store.js';

/** Opens the configured store for one command and always closes it, whatever the command does. */
export async function withStore<T>(config: Config, work: (store: ClickstreamStore) => Promise<T>): Promise<T> {
  const { store } = await createStore(config.databaseUrl, { durability: config.durability });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

export function batchService(store: ClickstreamStore, config: Config): BatchService {
  return new BatchService(
    store,
    { limits: config.limits, lateEventGraceSeconds: config.lateEventGraceSeconds },
    systemClock,
  );
}
