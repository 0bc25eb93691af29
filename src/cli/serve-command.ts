import { SETTING_USES } from '../config/settings.js';
import { createLogger } from '../logger.js';
import { storeLocation } from '../storage/create-store.js';
import type { CommandIO, CommandSpec } from './command.js';
import type { ParsedCommand } from './flags.js';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'run the HTTP service (migrations are applied at start)',
  usage: 'clickstream serve [flags]',
  settings: SETTING_USES,
  store: 'read-write',
};

/** Runs the service (which opens the store itself), and says which store it serves once it listens. */
export async function runServe(parsed: ParsedCommand, { err }: CommandIO): Promise<void> {
  const config = parsed.config();
  // Loaded here, not with the command list: the HTTP app's modules took about 1.1 s of every other command's
  // start-up (tsx, 2-core machine), and the tests run the CLI in a few hundred processes.
  const { runServer } = await import('../server.js');
  await runServer(config, createLogger(config.logLevel));
  err.write(`store: ${storeLocation(config.databaseUrl)}\n`);
}
