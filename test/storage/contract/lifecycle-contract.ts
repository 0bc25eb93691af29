/**
 * Storage contract, lifecycle: a store answers ping while open; close may be called twice, and the store
 * serves nothing afterwards.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { freshStorePerCase, type OpenTestStore } from './contract-helpers.js';

export function describeLifecycleContract(open: OpenTestStore): void {
  const current = freshStorePerCase(open);

  it('answers ping while open', async () => {
    await current().ping();
  });

  it('closes once: a second close does nothing, and a closed store answers no ping', async () => {
    const store = current();
    await store.ping();
    await store.close();
    await store.close();
    await assert.rejects(store.ping());
  });
}
