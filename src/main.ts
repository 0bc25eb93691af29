/** Process entry of the service (`npm start`): the same as `clickstream serve`, flags included. */
import { runCli } from './cli/run-cli.js';

const code = await runCli(['serve', ...process.argv.slice(2)]);
if (code !== 0) process.exitCode = code;
