// Runs the webhook exactly as `pilotfish webhook` does (the same runWebhookCommand, same flags),
// for builds whose command line does not route the subcommand yet.
import { runWebhookCommand } from '../src/cli/webhook-command.js';

runWebhookCommand(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`pilotfish webhook: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
