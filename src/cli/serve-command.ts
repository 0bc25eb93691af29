import { createLogger } from '../logger.js';
import { runServer } from '../server.js';
import type { CommandSpec, ParsedCommand } from './flags.js';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'run the HTTP service (migrations are applied at start)',
  usage: 'clickstream serve [flags]',
};

export async function runServe(parsed: ParsedCommand): Promise<void> {
  const config = parsed.config();
  await runServer(config, createLogger(config.logLevel));
}
