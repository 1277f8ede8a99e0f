// The pod agent as the identity benchmark runs it: one process, as in a pod, configured by a JSON
// argument (RunAgentConfig). Prints "certificate" each time one is issued (the first one means
// ready), then runs until SIGTERM. Certificate files and SDS run; the xDS proxy has nothing to
// forward here, so the benchmark turns it off.
import { runAgent, type RunAgentConfig } from '../src/agent/run-agent.js';
import { silentLogger } from '../src/logging.js';

const config = JSON.parse(process.argv[2] ?? '{}') as RunAgentConfig;
const agent = await runAgent(config, { logger: silentLogger() });
agent.certificates.onCertificate(() => process.stdout.write('certificate\n'));
await agent.ready();
process.stdout.write('certificate\n');
process.on('SIGTERM', () => {
  void agent.stop().then(() => process.exit(0));
});
