import { parseArgs } from 'node:util';
import { flagName, loadConfig, type Config } from '../config/config.js';
import { flagSettingsFor, SETTING_USES, SETTINGS, settingsHelp, type SettingUse } from '../config/settings.js';
import { nearest } from './nearest.js';

/** What parsing a command's arguments and printing its help read of it (see CommandSpec). */
export interface FlagSpec {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Options of the command itself, besides the flags of the settings it uses. */
  readonly options?: Readonly<Record<string, { readonly type: 'string' | 'boolean'; readonly help: string }>>;
  /** The uses of settings whose flags it takes (default: every use, as `serve`). */
  readonly settings?: readonly SettingUse[];
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

type ParseOptions = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/**
 * Parses a command's arguments: its own options plus one flag per setting it uses
 * (`--late-event-grace-seconds` for `CLICKSTREAM_LATE_EVENT_GRACE_SECONDS`), which override the
 * environment. The environment is read whole: a wrong value of any setting is refused.
 */
export function parseCommand(spec: FlagSpec, args: readonly string[], env: NodeJS.ProcessEnv): ParsedCommand {
  const settings = flagSettingsFor(spec.settings ?? SETTING_USES);
  const options: ParseOptions = { help: { type: 'boolean', short: 'h' } };
  for (const [name, option] of Object.entries(spec.options ?? {})) options[name] = { type: option.type };
  for (const setting of settings) options[flagName(setting.variable).slice(2)] = { type: 'string' };
  const unknown = unknownFlag(args, options);
  if (unknown !== null) throw new UsageError(unknownFlagMessage(spec.name, unknown, Object.keys(options)));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)} ${helpHint(spec.name)}`);
  }
  const overrides: Record<string, string> = {};
  for (const setting of settings) {
    const value = values[flagName(setting.variable).slice(2)];
    if (typeof value === 'string') overrides[setting.variable] = value;
  }
  return { help: values.help === true, config: () => loadConfig(env, overrides), options: values };
}

/** The first flag among the arguments that the command does not take, as written (`--batch-idd`), or null. */
function unknownFlag(args: readonly string[], options: ParseOptions): string | null {
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const token = tokens.find((t) => t.kind === 'option' && !Object.hasOwn(options, t.name));
  return token?.kind === 'option' ? token.rawName : null;
}

/** One line: the unknown flag, the nearest flag of the command if one is near, and where the flags are. */
function unknownFlagMessage(command: string, flag: string, known: readonly string[]): string {
  const secret = SETTINGS.find((s) => s.secret === true && flagName(s.variable) === flag);
  if (secret) {
    return `${flag} is not a flag: ${secret.variable} is read from the environment only (a flag would show it to anyone listing processes)`;
  }
  const near = nearest(flag.replace(/^--?/, ''), known);
  return `unknown flag ${flag}${near === null ? '' : `; did you mean --${near}?`} ${helpHint(command)}`;
}

function helpHint(command: string): string {
  return `(clickstream ${command} --help lists the flags)`;
}

/** The help of a command: its own options, then the settings it uses (all of them for `serve`). */
export function commandHelp(spec: FlagSpec): string {
  const own = Object.entries(spec.options ?? {})
    .map(([name, option]) => `  --${name}${option.type === 'string' ? ' <value>' : ''}\n      ${option.help}`)
    .join('\n');
  const settings = flagSettingsFor(spec.settings ?? SETTING_USES);
  return [
    `clickstream ${spec.name}: ${spec.summary}`,
    '',
    `Usage: ${spec.usage}`,
    ...(own ? ['', 'Options:', own] : []),
    ...(settings.length > 0
      ? ['', 'Configuration (flags override the environment variables):', settingsHelp(settings)]
      : []),
    '  -h, --help\n      Show this help.',
  ].join('\n');
}

/** The `--batch-id` every batch command requires. */
export function batchIdFlag(options: ParsedCommand['options']): string {
  const batchId = options['batch-id'];
  if (typeof batchId !== 'string') throw new UsageError('--batch-id is required');
  return batchId;
}

/** A whole-number flag from `min` to `max`, or undefined when it is not given. */
export function wholeNumberFlag(
  options: ParsedCommand['options'],
  flag: string,
  min: number,
  max: number,
): number | undefined {
  const value = options[flag];
  if (typeof value !== 'string') return undefined;
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`--${flag} must be a whole number ${range}, got "${value}"`);
  }
  return number;
}
