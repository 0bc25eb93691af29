import type { TrainingOptions, TrainingSummary } from '../services/training.js';
import { trainingWriters } from '../services/training-output.js';
import { trainingFormat, trainingOptions } from '../services/training-options.js';
import type { CommandIO, CommandSpec } from './command.js';
import { batchIdFlag, UsageError, type ParsedCommand } from './flags.js';
import { flagOf, rawOptions, readFlags, releasedOnly, SIGNAL_FLAGS } from './learning-flags.js';
import { OutputFile, partPath } from './output-file.js';
import { trainingService } from './store-session.js';
import { progressReporter } from './progress.js';

export const trainingDataCommand: CommandSpec = {
  name: 'training-data',
  summary:
    'turn a released batch into training data (clicks, skip-above, pbm or coec), in a format training libraries load',
  usage:
    'clickstream training-data --batch-id <id> --method clicks|skip-above|pbm|coec [--format sentence-transformers|jsonl|judgments|parquet] [--output FILE] [flags]',
  settings: ['store'],
  store: 'read-only',
  options: {
    ...SIGNAL_FLAGS,
    method: {
      type: 'string',
      help: 'clicks (interacted = positive), skip-above (interacted beats the unclicked results above it), pbm (position-based model: attractiveness), coec (clicks over expected clicks). Required.',
    },
    format: {
      type: 'string',
      help: 'sentence-transformers (exactly anchor, positive[, negative]), jsonl (with provenance; default), judgments (a rating per query and object), parquet.',
    },
    output: {
      type: 'string',
      help: 'Write to this file (with --test-fraction: two files, .train and .test before the extension) instead of standard output.',
    },
    'test-fraction': { type: 'string', help: 'Share of the test part, in (0, 1): split by a hash (see --split-by).' },
    'split-by': {
      type: 'string',
      help: 'query (default: no query in both parts, for embeddings) or session (the same queries in both, for a ranker).',
    },
    'min-rating': {
      type: 'string',
      help: 'pbm and coec: the lowest rating of a positive (default 0.5 for pbm, 1.0 for coec).',
    },
  },
};

export async function runTrainingData(parsed: ParsedCommand, io: CommandIO): Promise<void> {
  const batchId = batchIdFlag(parsed.options);
  const raw = rawOptions(parsed.options);
  const format = readFlags(() => trainingFormat(raw, flagOf));
  const options = readFlags(() => trainingOptions(raw, flagOf));
  const outputPath = typeof parsed.options.output === 'string' ? parsed.options.output : null;
  const twoFiles = options.split !== null && outputPath !== null;
  if (options.split && !twoFiles && format === 'sentence-transformers') {
    throw new UsageError(
      'a sentence-transformers file holds no split column: give --output FILE to write the train and test parts to two files',
    );
  }
  if (format === 'parquet' && outputPath === null && process.stdout.isTTY) {
    throw new UsageError('Parquet is binary: give --output FILE, or redirect standard output');
  }
  const config = parsed.config();
  await io.withStore(config, async (store) => {
    const service = trainingService(store, config);
    // Refusals (an unknown or collecting batch) come before any file is created.
    await releasedOnly(() => service.releasedBatch(batchId));
    const files =
      outputPath === null
        ? []
        : twoFiles
          ? [partPath(outputPath, 'train'), partPath(outputPath, 'test')]
          : [outputPath];
    const opened = files.map((path) => new OutputFile(path));
    const [train, test] = opened.map((file) => file.stream);
    const streams = train ? (test ? ([train, test] as const) : ([train] as const)) : ([io.out] as const);
    let complete = false;
    const progress = progressReporter(io.err, 'training-data');
    try {
      const writers = trainingWriters(format, streams, { split: options.split !== null && !twoFiles });
      const summary = await service.write(batchId, options, writers.output, progress.update);
      progress.done();
      await writers.end();
      // Both parts on disk before either gets its name: a failure leaves neither, never a lone part.
      await Promise.all(opened.map((file) => file.finish()));
      for (const file of opened) await file.commit();
      complete = true;
      report(io.err, summary, options, files);
    } finally {
      if (!complete) {
        progress.done();
        for (const file of opened) await file.discard();
      }
    }
  });
}

/** The summary line, always on standard error (standard output holds only the data), and the warnings. */
function report(
  err: NodeJS.WritableStream,
  summary: TrainingSummary,
  options: TrainingOptions,
  files: readonly string[],
): void {
  for (const warning of summary.warnings)
    err.write(`clickstream training-data: warning: ${warning.code}: ${warning.message}\n`);
  const skipped = Object.entries(summary.skipped)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${n} ${reason.replaceAll('_', ' ')}`);
  const rows = options.split
    ? `${summary.rows.train} train and ${summary.rows.test} test rows`
    : `${summary.rows.train} rows`;
  err.write(
    `clickstream training-data: ${summary.method}: ${rows} from ${summary.sessions} sessions` +
      `${skipped.length > 0 ? ` (skipped: ${skipped.join(', ')})` : ''}${files.length > 0 ? ` to ${files.join(' and ')}` : ''}\n`,
  );
}
