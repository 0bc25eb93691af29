import type { BiasReport } from '../services/training.js';
import { biasOptions } from '../services/training-options.js';
import type { CommandIO, CommandSpec } from './command.js';
import { batchIdFlag, UsageError, type ParsedCommand } from './flags.js';
import { flagOf, rawOptions, readFlags, releasedOnly, SIGNAL_FLAGS } from './learning-flags.js';
import { trainingService } from './store-session.js';
import { textTable } from './text-table.js';

export const biasCommand: CommandSpec = {
  name: 'bias',
  summary:
    "estimate the position-bias curve of a released batch (PBM by EM): how much each position's clicks are worth",
  usage: 'clickstream bias --batch-id <id> [--max-position N] [--format json|table] [flags]',
  settings: ['store'],
  store: 'read-only',
  options: {
    ...SIGNAL_FLAGS,
    format: { type: 'string', help: 'json (default: one JSON document on standard output) or table (for people).' },
  },
};

export async function runBias(parsed: ParsedCommand, { out, err, withStore }: CommandIO): Promise<void> {
  const batchId = batchIdFlag(parsed.options);
  const format = parsed.options.format ?? 'json';
  if (format !== 'json' && format !== 'table')
    throw new UsageError(`--format must be json or table, got "${String(format)}"`);
  const options = readFlags(() => biasOptions(rawOptions(parsed.options), flagOf));
  const config = parsed.config();
  const report = await withStore(config, (store) =>
    releasedOnly(() => trainingService(store, config).bias(batchId, options)),
  );
  for (const warning of report.warnings) err.write(`clickstream bias: warning: ${warning.code}: ${warning.message}\n`);
  out.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : biasTable(report));
}

function biasTable(report: BiasReport): string {
  const header = ['position', 'propensity', 'ctr', 'impressions', 'clicks'];
  const rows = report.propensities.map((p) => [
    String(p.position),
    p.propensity.toFixed(3),
    p.ctr.toFixed(3),
    String(p.impressions),
    String(p.clicks),
  ]);
  const skipped = Object.entries(report.skipped)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return (
    `batch ${report.batch_id}: ${report.sessions} sessions (skipped: ${skipped}); ` +
    `PBM ${report.converged ? 'converged' : 'did not converge'} in ${report.iterations} iterations\n` +
    textTable(header, rows, 'right')
  );
}
