import { ClickstreamError } from '../domain/errors.js';
import type { ClickstreamStore } from '../storage/store.js';

/**
 * Resolves when the store can serve requests. A store that is out of space says so with its own
 * `storage_full` error, passed on as it is (the answer tells operators what to do); any other failure
 * becomes `service_unavailable` with the store's error as the cause (logged, never answered).
 */
export async function checkReady(store: ClickstreamStore): Promise<void> {
  try {
    await store.ping();
  } catch (error) {
    if (error instanceof ClickstreamError && error.code === 'storage_full') throw error;
    throw new ClickstreamError('service_unavailable', 'the store is not reachable', [], { cause: error });
  }
}
