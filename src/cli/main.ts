#!/usr/bin/env node
// The pilotfish command line. The only module that reads argv and the environment.
import { EXIT } from './exit-codes.js';
import { runProgram } from './program.js';

// `pilotfish config-dump … | head`: the reader went away; that ends the output, not with a stack.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(EXIT.ok);
});

runProgram(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    // A serving command that failed may still hold sockets or watchers open: exit rather than hang.
    // Other codes let stdout drain first (a config dump can be large).
    if (code === EXIT.failure) process.exit(code);
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pilotfish: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(EXIT.failure);
  },
);
