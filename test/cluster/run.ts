// Starts the throw-away control plane for manual use and keeps it up until Ctrl-C:
//   npm run build && node dist/test/cluster/run.js
// then, in another shell, the printed `export KUBECONFIG=...` and e.g.
//   node dist/src/cli/main.js controller --xds-address 127.0.0.1:15010 --http-address 127.0.0.1:15014
import { startCluster } from './cluster.js';

const cluster = await startCluster();
process.stdout.write([
  `Kubernetes ${cluster.version} at ${cluster.url} (files and logs in ${cluster.dir})`,
  `export KUBECONFIG=${cluster.kubeconfig}`,
  'Ctrl-C stops it and deletes the directory.',
  '',
].join('\n'));
await new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});
await cluster.stop();
