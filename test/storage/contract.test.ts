import { after } from 'node:test';
import { freshTestStores, testBackends } from '../support/backends.js';
import { describeStoreContract } from './contract/index.js';

for (const backend of testBackends()) {
  // How this file's backends open their stores; the contract only calls `open`, once per case.
  const stores = freshTestStores(backend);
  after(() => stores.close());
  describeStoreContract(backend, () => stores.open());
}
