/**
 * What the files of the storage contract share: the store each case gets (a fresh one, see
 * {@link freshStorePerCase}), builders of domain inputs on top of the test factories, and the check of a
 * store's typed errors.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach } from 'node:test';
import { ClickstreamError } from '../../../src/domain/errors.js';
import { toNewEvents, type NewEvent } from '../../../src/domain/event.js';
import { toNewSession, type NewSession } from '../../../src/domain/session.js';
import type { RegisterSessionBody } from '../../../src/schemas/payloads.js';
import type { ClickstreamStore } from '../../../src/storage/store.js';
import { makeEvent, makeSession } from '../../support/factories.js';
import { DEFAULT_RULES } from '../../support/rules.js';

/** A store opened for one case, with what removes it and its data afterwards. */
export interface OpenedTestStore {
  readonly store: ClickstreamStore;
  readonly cleanup: () => Promise<void>;
}

/** Opens a new store of one backend on empty storage of its own. */
export type OpenTestStore = () => Promise<OpenedTestStore>;

export const RULES = DEFAULT_RULES;

/** The late-event grace period the cases release with (the service's default). */
export const GRACE = 600;

/**
 * Gives every case of the calling describe() a store of its own: opened before the case and cleaned up
 * after it, also when it fails, so that no case sees another's data or depends on the order they run in.
 * Call it in a describe() body; the returned function answers the running case's store.
 */
export function freshStorePerCase(open: OpenTestStore): () => ClickstreamStore {
  let current: OpenedTestStore | undefined;
  beforeEach(async () => {
    current = await open();
  });
  afterEach(async () => {
    const opened = current;
    current = undefined;
    await opened?.cleanup();
  });
  return () => {
    if (!current) throw new Error('a contract store exists only while a case runs');
    return current.store;
  };
}

/** A valid session (see makeSession) as the domain hands it to the store at `now`. */
export function newSession(now: number, overrides: Partial<RegisterSessionBody> = {}): NewSession {
  return toNewSession(makeSession(overrides), now, RULES);
}

/** One click per object id, in order, as the domain hands them to the store at `now`. */
export function newEvents(sessionId: string, objectIds: readonly string[], now: number): NewEvent[] {
  return toNewEvents(
    { session_id: sessionId, events: objectIds.map((objectId) => makeEvent({ object_id: objectId })) },
    now,
    RULES,
  ).events;
}

/** The object id at `position` of a session's results; fails the case when there is none. */
export function objectAt(session: NewSession, position: number): string {
  const result = session.search_results[position];
  assert.ok(result, `session ${session.session_id} has no result at position ${position}`);
  return result.object_id;
}

/** Checks that `promise` rejects with a ClickstreamError of `code`, and returns that error. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<ClickstreamError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof ClickstreamError, `expected a ClickstreamError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}
