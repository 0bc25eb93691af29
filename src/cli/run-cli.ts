import { ConfigError } from '../config/config.js';
import { ClickstreamError } from '../domain/errors.js';
import { batchesCommand, runBatches } from './batches-command.js';
import { checkCommand, runCheck } from './check-command.js';
import { exportCommand, runExport } from './export-command.js';
import { commandHelp, parseCommand, UsageError, type CommandSpec, type ParsedCommand } from './flags.js';
import { migrateCommand, runMigrate } from './migrate-command.js';
import { releaseCommand, runRelease } from './release-command.js';
import { runServe, serveCommand } from './serve-command.js';

interface Command {
  readonly spec: CommandSpec;
  readonly run: (parsed: ParsedCommand) => Promise<unknown>;
}

const COMMANDS: readonly Command[] = [
  { spec: serveCommand, run: runServe },
  { spec: migrateCommand, run: (p) => runMigrate(p, process.stdout) },
  { spec: releaseCommand, run: (p) => runRelease(p, process.stdout) },
  { spec: batchesCommand, run: (p) => runBatches(p, process.stdout) },
  { spec: exportCommand, run: (p) => runExport(p, process.stdout) },
  { spec: checkCommand, run: (p) => runCheck(p, process.stdout) },
];

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

/** Runs one CLI command; returns the process exit code (0 ok, 1 failed, 2 wrong usage or configuration). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (!command) {
    process.stderr.write(`clickstream: unknown command "${name}"\n\n${overview()}\n`);
    return 2;
  }
  try {
    const parsed = parseCommand(command.spec, args, process.env);
    if (parsed.help) {
      process.stdout.write(`${commandHelp(command.spec)}\n`);
      return 0;
    }
    await command.run(parsed);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`clickstream ${name}: ${error.message}\n`);
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
