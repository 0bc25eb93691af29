import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { AddEventsBody, EventInput, RegisterSessionBody } from '../../src/schemas/payloads.js';

/** A random id with a readable prefix, so tests never collide and failures say what the id was for. */
export function id(prefix = 'id'): string {
  return `${prefix}-${randomUUID()}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A valid session registration; three results, the first with rank and item_info as in the seed. */
export function makeSession(overrides: Partial<RegisterSessionBody> = {}): RegisterSessionBody {
  return {
    session_id: id('session'),
    search_query: 'user search query',
    search_results: [
      { object_id: id('object'), rank: 0.3, item_info: { title: 'first' } },
      { object_id: id('object') },
      { object_id: id('object') },
    ],
    search_meta: { page: 1 },
    user_id: id('user'),
    ...overrides,
  };
}

export function makeEvent(overrides: Partial<EventInput> = {}): EventInput {
  return { event_id: id('event'), object_id: id('object'), event_type: 'click', ...overrides };
}

/** Events on the given objects of a session, in order. */
export function makeEvents(session: RegisterSessionBody, positions: readonly number[]): AddEventsBody {
  return {
    session_id: session.session_id,
    events: positions.map((p) => makeEvent({ object_id: session.search_results[p]?.object_id ?? id('unseen') })),
  };
}

/** A scratch directory removed by the returned cleanup. */
export function scratchDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'clickstream-test-'));
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A configuration for tests: a fresh SQLite file, defaults otherwise, overridable by variable name. */
export function testConfig(dir: string, variables: Record<string, string> = {}): Config {
  return loadConfig({}, { CLICKSTREAM_DATABASE_URL: `sqlite:${join(dir, 'clickstream.db')}`, ...variables });
}

/** A non-negative integer from the environment (a property test's runs or seed), or `fallback` when unset. */
export function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}
