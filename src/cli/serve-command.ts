import { SETTING_USES } from '../config/settings.js';
import { createLogger } from '../logger.js';
import { runServer } from '../server.js';
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
  await runServer(config, createLogger(config.logLevel));
  err.write(`store: ${storeLocation(config.databaseUrl)}\n`);
}
