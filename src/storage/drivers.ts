/**
 * The storage backends this build knows, in the order their URLs are tried. A new backend is a folder
 * with a driver (see StoreDriver) added here; configuration, `createStore` and the test support read
 * this list.
 */
import type { StoreDriver } from './driver.js';
import { postgresDriver } from './postgres/postgres-driver.js';
import { sqliteDriver } from './sqlite/sqlite-driver.js';

export const STORE_DRIVERS = [sqliteDriver, postgresDriver] as const;

/** The name of a known backend: `sqlite`, `postgres`. */
export type BackendName = (typeof STORE_DRIVERS)[number]['name'];

/** The driver that serves a URL, or undefined. */
export function driverFor(url: string): StoreDriver | undefined {
  return STORE_DRIVERS.find((driver) => driver.matches(url));
}

/** `sqlite: or postgres://`: how store URLs start, for messages. */
export function urlForms(): string {
  const forms = STORE_DRIVERS.map((driver) => driver.scheme);
  return forms.length > 1 ? `${forms.slice(0, -1).join(', ')} or ${forms.at(-1) ?? ''}` : (forms[0] ?? '');
}

/** Why a store URL cannot be used, or null: no driver serves it, or its driver refuses it as written. */
export function storeUrlProblem(url: string): string | null {
  const driver = driverFor(url);
  if (!driver) return `must start with ${urlForms()}, got "${url}"`;
  return driver.urlProblem(url);
}
