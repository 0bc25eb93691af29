import { parseArgs } from 'node:util';
import { FLAG_SETTINGS, flagName, loadConfig, settingsHelp, type Config } from '../config/config.js';

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Options of the command itself, besides the configuration flags every command takes. */
  readonly options?: Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly help: string }>>;
}

export interface ParsedCommand {
  readonly help: boolean;
  /** The configuration; read on demand so that `--help` works whatever the environment holds. */
  readonly config: () => Config;
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Parses a command's arguments: its own options plus one flag per configuration variable
 * (`--late-event-grace-seconds` for `CLICKSTREAM_LATE_EVENT_GRACE_SECONDS`), which override the
 * environment.
 */
export function parseCommand(spec: CommandSpec, args: readonly string[], env: NodeJS.ProcessEnv): ParsedCommand {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, option] of Object.entries(spec.options ?? {})) options[name] = { type: option.type };
  for (const setting of FLAG_SETTINGS) options[flagName(setting.variable).slice(2)] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n\n${commandHelp(spec)}`);
  }
  const overrides: Record<string, string> = {};
  for (const setting of FLAG_SETTINGS) {
    const value = values[flagName(setting.variable).slice(2)];
    if (typeof value === 'string') overrides[setting.variable] = value;
  }
  return { help: values.help === true, config: () => loadConfig(env, overrides), options: values };
}

export function commandHelp(spec: CommandSpec): string {
  const own = Object.entries(spec.options ?? {})
    .map(([name, option]) => `  --${name}${option.type === 'string' ? ' <value>' : ''}\n      ${option.help}`)
    .join('\n');
  return [
    `clickstream ${spec.name}: ${spec.summary}`,
    '',
    `Usage: ${spec.usage}`,
    ...(own ? ['', 'Options:', own] : []),
    '',
    'Configuration (flags override the environment variables):',
    settingsHelp(),
    '  --help\n      Show this help.',
  ].join('\n');
}
