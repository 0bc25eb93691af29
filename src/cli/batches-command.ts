import { PAGE_LIMITS } from '../domain/limits.js';
import type { CommandIO, CommandSpec } from './command.js';
import { UsageError, type ParsedCommand } from './flags.js';
import { batchService } from './store-session.js';
import { textTable } from './text-table.js';
import { isoSeconds } from './time-format.js';

export const batchesCommand: CommandSpec = {
  name: 'batches',
  summary: 'list batches, newest first',
  usage: 'clickstream batches [--json] [--limit N] [flags]',
  settings: ['store'],
  store: 'read-only',
  options: {
    json: { type: 'boolean', help: 'Print one JSON object per line instead of a table.' },
    limit: { type: 'string', help: 'How many batches (default 100).' },
  },
};

export async function runBatches(parsed: ParsedCommand, { out, withStore }: CommandIO): Promise<void> {
  const config = parsed.config();
  const limit = parseLimit(parsed.options.limit);
  const batches = await withStore(config, (store) => batchService(store, config).listBatches(limit));
  if (parsed.options.json === true) {
    for (const batch of batches) out.write(`${JSON.stringify(batch)}\n`);
    return;
  }
  const rows = batches.map((b) => [
    b.batch_id,
    b.status,
    String(b.session_count),
    isoSeconds(b.created_at),
    b.released_at === null ? '-' : isoSeconds(b.released_at),
    b.sealed_at === null ? '-' : isoSeconds(b.sealed_at),
    b.release_id ?? '-',
  ]);
  const header = ['batch_id', 'status', 'sessions', 'created_at', 'released_at', 'sealed_at', 'release_id'];
  out.write(textTable(header, rows, 'left'));
}

function parseLimit(value: string | boolean | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_LIMITS.maxSessions) {
    throw new UsageError(`--limit must be a whole number from 1 to ${PAGE_LIMITS.maxSessions}, got "${value}"`);
  }
  return limit;
}
