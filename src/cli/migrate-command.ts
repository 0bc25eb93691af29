import type { CommandIO, CommandSpec } from './command.js';
import type { ParsedCommand } from './flags.js';

export const migrateCommand: CommandSpec = {
  name: 'migrate',
  summary: 'create the store or bring its schema up to date, then exit',
  usage: 'clickstream migrate [flags]',
  settings: ['store'],
  store: 'read-write',
};

export async function runMigrate(parsed: ParsedCommand, { out, withStore }: CommandIO): Promise<void> {
  // A migration is committed as durably as SQLite can (synchronous=FULL), whatever --durability says.
  const config = { ...parsed.config(), durability: 'power-loss' } as const;
  const { applied, location } = await withStore(config, (_store, opened) => Promise.resolve(opened));
  out.write(
    applied.length === 0
      ? `${location}: schema is up to date\n`
      : `${location}: applied migration${applied.length > 1 ? 's' : ''} ${applied.join(', ')}\n`,
  );
}
