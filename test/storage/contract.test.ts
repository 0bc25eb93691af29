import { openTestStore } from '../support/test-app.js';
import { testBackends } from '../support/backends.js';
import { describeStoreContract } from './store-contract.js';

for (const backend of testBackends()) {
  describeStoreContract(backend, () => openTestStore(backend));
}
