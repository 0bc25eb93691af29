import type { OpenedStore, OpenOptions, StoreDriver } from './driver.js';
import { driverFor, storeUrlProblem } from './drivers.js';

export type { OpenedStore } from './driver.js';

/** A store opened with `mustExist` that does not exist yet; nothing was created for it. */
export class MissingStoreError extends Error {
  override readonly name = 'MissingStoreError';
  constructor(
    readonly location: string,
    readonly reason: string,
  ) {
    super(`no store at ${location}: ${reason}`);
  }
}

/**
 * Opens the store named by a `CLICKSTREAM_DATABASE_URL` through the driver that serves it, and brings its
 * schema up to date; with `mustExist`, only a store that exists (else MissingStoreError). Only the chosen
 * backend's modules (and database client) are loaded.
 */
export async function createStore(url: string, options: OpenOptions): Promise<OpenedStore> {
  const driver = validDriver(url);
  if (options.mustExist === true) {
    const reason = await driver.missing(url);
    if (reason !== null) throw new MissingStoreError(driver.location(url), reason);
  }
  return driver.open(url, options);
}

/** Where the data of a store URL lives, for messages (no credentials); opens nothing. */
export function storeLocation(url: string): string {
  return validDriver(url).location(url);
}

function validDriver(url: string): StoreDriver {
  const problem = storeUrlProblem(url);
  const driver = driverFor(url);
  if (problem !== null || !driver) throw new Error(`CLICKSTREAM_DATABASE_URL ${problem ?? 'is not valid'}`);
  return driver;
}
