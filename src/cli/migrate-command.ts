import { createStore } from '../storage/create-store.js';
import type { CommandSpec, ParsedCommand } from './flags.js';

export const migrateCommand: CommandSpec = {
  name: 'migrate',
  summary: 'create the store or bring its schema up to date, then exit',
  usage: 'clickstream migrate [flags]',
};

export async function runMigrate(parsed: ParsedCommand, out: NodeJS.WritableStream): Promise<void> {
  const { store, applied, location } = await createStore(parsed.config().databaseUrl, { durability: 'power-loss' });
  await store.close();
  out.write(
    applied.length === 0
      ? `${location}: schema is up to date\n`
      : `${location}: applied migration${applied.length > 1 ? 's' : ''} ${applied.join(', ')}\n`,
  );
}
