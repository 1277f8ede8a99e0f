// The commands with what runs them, in the order `pilotfish --help` lists them. A command's module
// is imported only when that command runs, so `pilotfish bootstrap` never loads the gRPC server,
// the Envoy protos or the Kubernetes client. Only program.ts (and the help test) read this table.
import { withRunner, type CommandSpec } from './command-line.js';
import {
  serveCommand, controllerCommand, webhookCommand, injectCommand, bootstrapCommand, configDumpCommand, analyzeCommand, proxyStatusCommand, proxyConfigCommand, checkCommand, agentCommand, versionCommand,
} from './commands.js';
import { pilotfishVersion } from './version.js';

export const COMMANDS: readonly CommandSpec[] = [
  withRunner(serveCommand, async (line) => (await import('./serve.js')).serve(line)),
  withRunner(controllerCommand, async (line) => (await import('./controller.js')).controller(line)),
  withRunner(webhookCommand, async (line) => (await import('./webhook-command.js')).webhook(line)),
  withRunner(injectCommand, async (line) => (await import('./inject.js')).inject(line, process)),
  withRunner(bootstrapCommand, async (line) => (await import('./bootstrap.js')).bootstrap(line, process.stdout)),
  withRunner(configDumpCommand, async (line) => (await import('./config-dump.js')).configDump(line, process.stdout, process.stderr)),
  withRunner(analyzeCommand, async (line) => (await import('./analyze.js')).analyze(line, process.stdout)),
  withRunner(proxyStatusCommand, async (line) => (await import('./proxy-status.js')).proxyStatus(line, process.stdout, process.stderr)),
  withRunner(proxyConfigCommand, async (line) => (await import('./proxy-config.js')).proxyConfig(line, process.stdout, process.stderr)),
  withRunner(checkCommand, async (line) => (await import('./check.js')).check(line, process.stdout)),
  withRunner(agentCommand, async (line) => (await import('./agent-command.js')).agent(line)),
  withRunner(versionCommand, async () => {
    process.stdout.write(`${pilotfishVersion()}\n`);
    return 0;
  }),
];
