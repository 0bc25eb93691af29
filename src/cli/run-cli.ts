import { ConfigError } from '../config/config.js';
import { ClickstreamError } from '../domain/errors.js';
import { MissingStoreError } from '../storage/create-store.js';
import { batchesCommand, runBatches } from './batches-command.js';
import { biasCommand, runBias } from './bias-command.js';
import { runTrainingData, trainingDataCommand } from './training-data-command.js';
import { checkCommand, runCheck } from './check-command.js';
import type { CommandIO, CommandSpec } from './command.js';
import { exportCommand, runExport } from './export-command.js';
import { commandHelp, parseCommand, UsageError, type ParsedCommand } from './flags.js';
import { migrateCommand, runMigrate } from './migrate-command.js';
import { releaseCommand, runRelease } from './release-command.js';
import { runServe, serveCommand } from './serve-command.js';
import {
  runTasksCancel,
  runTasksCreate,
  runTasksList,
  runTasksRestart,
  runTasksShow,
  tasksCancelCommand,
  tasksCreateCommand,
  tasksListCommand,
  tasksRestartCommand,
  tasksShowCommand,
} from './tasks-command.js';
import { withStore } from './store-session.js';
import { runWorker, workerCommand } from './worker-command.js';

interface Command {
  readonly spec: CommandSpec;
  readonly run: (parsed: ParsedCommand, io: CommandIO) => Promise<unknown>;
}

const COMMANDS: readonly Command[] = [
  { spec: serveCommand, run: runServe },
  { spec: migrateCommand, run: runMigrate },
  { spec: releaseCommand, run: runRelease },
  { spec: batchesCommand, run: runBatches },
  { spec: exportCommand, run: runExport },
  { spec: checkCommand, run: runCheck },
  { spec: biasCommand, run: runBias },
  { spec: trainingDataCommand, run: runTrainingData },
  { spec: tasksListCommand, run: runTasksList },
  { spec: tasksShowCommand, run: runTasksShow },
  { spec: tasksCreateCommand, run: runTasksCreate },
  { spec: tasksCancelCommand, run: runTasksCancel },
  { spec: tasksRestartCommand, run: runTasksRestart },
  { spec: workerCommand, run: runWorker },
];

/** The process's streams, and the store opened as the command declares. */
function processIO(spec: CommandSpec): CommandIO {
  return {
    out: process.stdout,
    err: process.stderr,
    withStore: (config, work) => withStore(config, spec.store, process.stderr, work),
  };
}

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.name.length));
  return [
    'clickstream: search clickstream collector',
    '',
    'Usage: clickstream <command> [flags]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.spec.name.padEnd(width)}  ${c.spec.summary}`),
    '',
    'Run `clickstream <command> --help` for the flags of a command.',
  ].join('\n');
}

/**
 * Runs one CLI command; returns the process exit code: 0 ok, 1 failed, 2 wrong usage or configuration (or
 * no store for a command that only reads).
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${overview()}\n`);
    return first === undefined ? 2 : 0;
  }
  // A command of two words (`tasks list`) is named by both.
  const [second, ...afterSecond] = rest;
  const twoWords = COMMANDS.some((c) => c.spec.name === `${first} ${second ?? ''}`);
  const name = twoWords ? `${first} ${second ?? ''}` : first;
  const args = twoWords ? afterSecond : rest;
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (!command) {
    const group = COMMANDS.filter((c) => c.spec.name.startsWith(`${first} `)).map((c) => c.spec.name);
    process.stderr.write(
      group.length > 0
        ? `clickstream ${first}: name one of: ${group.join(', ')}\n\n${overview()}\n`
        : `clickstream: unknown command "${first}"\n\n${overview()}\n`,
    );
    return 2;
  }
  try {
    const parsed = parseCommand(command.spec, args, process.env);
    if (parsed.help) {
      process.stdout.write(`${commandHelp(command.spec)}\n`);
      return 0;
    }
    await command.run(parsed, processIO(command.spec));
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`clickstream ${name}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof MissingStoreError) {
      process.stderr.write(
        `clickstream ${name}: ${error.message}; start the service once or run \`clickstream migrate\` (with the same settings) to create it\n`,
      );
      return 2;
    }
    if (error instanceof ClickstreamError) {
      process.stderr.write(`clickstream ${name}: ${error.code}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`clickstream ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
