#!/usr/bin/env node
import { runCli } from './run-cli.js';

// serve keeps the process alive until a signal; the other commands end with their exit code.
const command = process.argv[2];
const code = await runCli(process.argv.slice(2));
if (code !== 0 || command !== 'serve') process.exitCode = code;
