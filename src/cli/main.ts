#!/usr/bin/env node
// The pilotfish command line. The only module that reads argv and the environment.
import { runBootstrap } from './bootstrap.js';
import { runConfigDump } from './config-dump.js';
import { runServe } from './serve.js';
import { UsageError } from './flags.js';

const USAGE = `pilotfish — a small, fast service-mesh control plane

Usage:
  pilotfish serve [--config-dir DIR] [--xds-address HOST:PORT] [--http-address HOST:PORT] [--log-level L]
      Serve xDS from Kubernetes YAML files in DIR (watched) and the REST registry.
  pilotfish bootstrap --node-id ID [--xds-address HOST:PORT] [--namespace NS] [--kind grpc]
      Print the xDS bootstrap JSON for a proxyless gRPC client.
  pilotfish config-dump --config-dir DIR --node-id ID [--namespace NS] [--kind grpc|sidecar]
      Print, as JSON, the resources the given proxy would receive.
  pilotfish help
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      await runServe(rest);
      return 0;
    case 'bootstrap':
      runBootstrap(rest, process.stdout);
      return 0;
    case 'config-dump':
      return runConfigDump(rest, process.stdout, process.stderr);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => { if (code !== 0) process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`pilotfish: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
