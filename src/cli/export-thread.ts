/**
 * A thread of `clickstream export` (see export-command.ts): with a store of its own, it reads the export
 * parts it is sent and answers each with its JSON Lines text.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ClickstreamError } from '../domain/errors.js';
import { createStore } from '../storage/create-store.js';
import { jsonLines, type ExportPartRequest, type ExportPartAnswer, type ExportThreadData } from './export-command.js';
import { batchService } from './store-session.js';

const { config, batchId } = workerData as ExportThreadData;
const port = parentPort;
if (!port) throw new Error('export-thread runs as a worker thread only');

const { store } = await createStore(config.databaseUrl, { durability: config.durability });
const batches = batchService(store, config);

port.on('message', (request: ExportPartRequest | 'close') => {
  if (request === 'close') {
    void store.close().finally(() => {
      port.close();
    });
    return;
  }
  void answer(request).then((reply) => {
    port.postMessage(reply);
  });
});
port.postMessage('ready');

async function answer({ id, part }: ExportPartRequest): Promise<ExportPartAnswer> {
  try {
    let text = '';
    let count = 0;
    for await (const page of batches.exportPart(batchId, part)) {
      text += jsonLines(page);
      count += page.length;
    }
    return { id, text, count };
  } catch (error) {
    // Errors do not cross threads with their class: the code is sent, and the main thread rebuilds it.
    const code = error instanceof ClickstreamError ? error.code : null;
    return { id, error: { code, message: error instanceof Error ? error.message : String(error) } };
  }
}
