import type { OpenedStore, OpenOptions } from './driver.js';
import { driverFor, storeUrlProblem } from './drivers.js';

export type { OpenedStore } from './driver.js';

/**
 * Opens the store named by a `CLICKSTREAM_DATABASE_URL` through the driver that serves it, and brings its
 * schema up to date. Only the chosen backend's modules (and database client) are loaded.
 */
export async function createStore(url: string, options: OpenOptions): Promise<OpenedStore> {
  const problem = storeUrlProblem(url);
  const driver = driverFor(url);
  if (problem !== null || !driver) throw new Error(`CLICKSTREAM_DATABASE_URL ${problem ?? 'is not valid'}`);
  return driver.open(url, options);
}
