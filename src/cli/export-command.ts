import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { CommandSpec, ParsedCommand } from './flags.js';
import { UsageError } from './flags.js';
import { batchService, withStore } from './store-session.js';

const OUTPUT_BUFFER = 4 * 1024 * 1024;

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'stream a batch as JSON Lines: one session with all its events per line, in session_number order',
  usage: 'clickstream export --batch-id <id> [--output <file>] [flags]',
  options: {
    'batch-id': { type: 'string', help: 'The batch to export (required).' },
    output: { type: 'string', help: 'Write to this file instead of standard output.' },
  },
};

/**
 * Streams page by page and waits for the output to drain, so memory stays flat whatever the batch size.
 * A page is one write, and a file's stream buffers up to OUTPUT_BUFFER bytes, so reading the next page
 * overlaps with writing the last one.
 */
export async function runExport(parsed: ParsedCommand, stdout: NodeJS.WritableStream): Promise<number> {
  const batchId = parsed.options['batch-id'];
  if (typeof batchId !== 'string') throw new UsageError('--batch-id is required');
  const outputPath = parsed.options.output;
  const config = parsed.config();
  let count = 0;
  await withStore(config, async (store) => {
    const batches = batchService(store, config);
    // Checked before the output file is created, so an unknown batch leaves no empty file behind.
    await batches.getBatch(batchId);
    const out =
      typeof outputPath === 'string' ? createWriteStream(outputPath, { highWaterMark: OUTPUT_BUFFER }) : stdout;
    for await (const page of batches.exportBatch(batchId)) {
      const lines = page.map((session) => JSON.stringify(session)).join('\n');
      if (!out.write(`${lines}\n`)) await once(out, 'drain');
      count += page.length;
    }
    if (out !== stdout) {
      out.end();
      await once(out, 'finish');
    }
  });
  return count;
}
