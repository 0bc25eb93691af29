import { ClickstreamError } from '../domain/errors.js';
import type { ClickstreamStore } from '../storage/store.js';

/**
 * Resolves when the store can serve requests; otherwise throws `service_unavailable` with the store's
 * own error as the cause (logged, never answered).
 */
export async function checkReady(store: ClickstreamStore): Promise<void> {
  try {
    await store.ping();
  } catch (error) {
    throw new ClickstreamError('service_unavailable', 'the store is not reachable', [], { cause: error });
  }
}
