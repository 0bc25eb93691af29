import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { scratchDir } from '../support/factories.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('sqlite', () => {
  const { dir, cleanup } = scratchDir();
  const { store } = SqliteStore.open(join(dir, 'store.db'), { durability: 'process' });
  return Promise.resolve({
    store,
    cleanup: async () => {
      await store.close();
      cleanup();
    },
  });
});

it('sqlite: applies migrations once and keeps the file consistent', async () => {
  const { dir, cleanup } = scratchDir();
  try {
    const path = join(dir, 'nested', 'store.db');
    const first = SqliteStore.open(path, { durability: 'power-loss' });
    assert.deepEqual(first.applied, [1]);
    assert.deepEqual(first.store.integrityCheck(), []);
    await first.store.close();
    const second = SqliteStore.open(path, { durability: 'process' });
    assert.deepEqual(second.applied, []);
    await second.store.close();
  } finally {
    cleanup();
  }
});
