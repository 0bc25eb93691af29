/**
 * The documents generated from {@link SETTINGS}, so that they cannot drift from it: the README's
 * configuration table (`npm run --silent docs:config`) and `.env.example` (`npm run --silent docs:env`);
 * tests compare both files with these.
 */
import { flagName, SETTINGS } from './settings.js';

/** The configuration table of the README, generated so that it cannot drift from {@link SETTINGS}. */
export function settingsMarkdownTable(): string {
  const rows = SETTINGS.map((s) => {
    const def = s.defaultValue === undefined ? 'unset' : `\`${s.defaultValue}\``;
    const flag = s.secret ? '(environment only)' : `\`${flagName(s.variable)}\``;
    return `| \`${s.variable}\` | ${flag} | ${def} | ${s.help.replaceAll('|', '\\|')} |`;
  });
  return ['| variable | flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

const ENV_EXAMPLE_HEADER = `# Example configuration of the clickstream collector: every setting, commented out at its default.
# Copy it to .env (git ignores .env), then uncomment and change what you need. Each setting is also a
# flag (see the Configuration section of README.md); flags win over the environment.
#
# Neither the service nor the CLI reads .env by itself; load it into their environment, either into the
# shell (then npm start, npx clickstream ... all see it):
#   set -a; . ./.env; set +a
# or with Node's own loader (after npm run build; variables already set in the environment win):
#   node --env-file=.env dist/main.js
#   node --env-file=.env dist/cli/main.js batches
# A .env with keys (CLICKSTREAM_ADMIN_KEY, CLICKSTREAM_INGEST_KEYS) is a secret: chmod 600 .env.`;

/** `.env.example`: a header on how to use it, then every setting commented out at its default. */
export function settingsEnvExample(): string {
  const settings = SETTINGS.map((s) => `# ${s.help}\n# ${s.variable}=${s.defaultValue ?? ''}`);
  return `${[ENV_EXAMPLE_HEADER, ...settings].join('\n\n')}\n`;
}
