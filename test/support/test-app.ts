import assert from 'node:assert/strict';
import type { Config } from '../../src/config/config.js';
import type { Problem } from '../../src/schemas/records.js';
import type { App } from '../../src/http/app-types.js';
import { buildApp } from '../../src/http/app.js';
import { createMetrics } from '../../src/http/metrics.js';
import { createStore } from '../../src/storage/create-store.js';
import type { StoreObserver } from '../../src/storage/driver.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import { emptyStorage, type Backend } from './backends.js';
import { nowSeconds, scratchDir, testConfig } from './factories.js';

/** A clock the test moves by hand (UTC seconds). */
export class TestClock {
  constructor(public now: number = nowSeconds()) {}
  readonly read = (): number => this.now;
  advance(seconds: number): void {
    this.now += seconds;
  }
}

export interface TestApp {
  readonly app: App;
  readonly store: ClickstreamStore;
  readonly clock: TestClock;
  readonly config: Config;
  close(): Promise<void>;
}

/**
 * A fresh store of `backend` (a scratch SQLite file, or a PostgreSQL database of its own), reporting its
 * group commits to `observer` when one is given.
 */
export async function openTestStore(
  backend: Backend,
  variables: Record<string, string> = {},
  observer?: StoreObserver,
): Promise<{ store: ClickstreamStore; config: Config; url: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup: removeDir } = scratchDir();
  const storage = await emptyStorage(backend, dir);
  const config = testConfig(dir, { ...variables, CLICKSTREAM_DATABASE_URL: storage.url });
  const { store } = await createStore(config.databaseUrl, {
    durability: config.durability,
    ...(observer ? { observer } : {}),
  });
  return {
    store,
    config,
    url: config.databaseUrl,
    cleanup: async () => {
      await store.close();
      await storage.drop();
      removeDir();
    },
  };
}

/** The real app on a real store of `backend`, with a clock the test controls. */
export async function startTestApp(
  backend: Backend = 'sqlite',
  variables: Record<string, string> = {},
): Promise<TestApp> {
  // As the service does (server.ts): the metrics exist before the store, which reports into them.
  // Every scrape reads the collecting batch: tests look at it right after their writes.
  const metrics = createMetrics({ collectingReadSeconds: 0 });
  const { store, config, cleanup } = await openTestStore(backend, variables, metrics.store);
  const clock = new TestClock();
  const app = await buildApp({ store, config, clock: clock.read, metrics });
  await app.ready();
  return {
    app,
    store,
    clock,
    config,
    close: async () => {
      await app.close();
      await cleanup();
    },
  };
}

/** JSON body of an inject() response, typed by the caller. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the body type it expects
export function json<T>(response: { body: string }): T {
  return JSON.parse(response.body) as T;
}

/**
 * Checks that a response is the problem+json of `status` and `code`, with the request id of its header,
 * and returns the problem.
 */
export function assertProblem(
  response: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
  code: string,
): Problem {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const problem = json<Problem>(response);
  assert.equal(problem.status, status);
  assert.equal(problem.code, code);
  assert.equal(problem.type, `urn:clickstream:problem:${code}`);
  assert.equal(typeof problem.title, 'string');
  assert.ok(response.headers['x-request-id']);
  assert.equal(problem.request_id, response.headers['x-request-id']);
  return problem;
}
