import type { CommandIO, CommandSpec } from './command.js';
import { UsageError, type ParsedCommand } from './flags.js';
import { batchService } from './store-session.js';

export const releaseCommand: CommandSpec = {
  name: 'release',
  summary: 'release the collecting batch and print it as JSON (idempotent by --release-id)',
  usage: 'clickstream release --release-id <id> [flags]',
  settings: ['store', 'release'],
  store: 'read-write',
  options: { 'release-id': { type: 'string', help: 'Idempotency key of the release (required).' } },
};

export async function runRelease(parsed: ParsedCommand, { out, withStore }: CommandIO): Promise<void> {
  const releaseId = parsed.options['release-id'];
  if (typeof releaseId !== 'string') throw new UsageError('--release-id is required');
  const config = parsed.config();
  const released = await withStore(config, (store) => batchService(store, config).release(releaseId));
  out.write(`${JSON.stringify(released)}\n`);
}
