#!/usr/bin/env node
import { runCli } from './run-cli.js';

// `eric-sse listen ... | head -1`: a reader that leaves ends the program, quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
