import type { CommandIO, CommandSpec } from './command.js';
import type { ParsedCommand } from './flags.js';

export const checkCommand: CommandSpec = {
  name: 'check',
  summary: "check the store's integrity (the database's own checks and the collector's rules); exit 1 on a problem",
  usage: 'clickstream check [flags]',
  settings: ['store'],
  store: 'read-only',
};

/** Prints every problem found, one per line; a store with problems fails the command. */
export async function runCheck(parsed: ParsedCommand, { out, withStore }: CommandIO): Promise<void> {
  const problems = await withStore(parsed.config(), (store) => store.checkIntegrity());
  if (problems.length > 0) {
    for (const problem of problems) out.write(`${problem}\n`);
    throw new Error(`${problems.length} integrity problem${problems.length > 1 ? 's' : ''} found`);
  }
  out.write('ok: no integrity problem found\n');
}
