// Which Kubernetes API a command talks to, chosen the way kubectl chooses it, and refused up front
// with one line when there is none (client-node would otherwise fall back to http://localhost:8080
// and fail later with "HTTP protocol is not allowed when skipTLSVerify is not set").
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { CommandFailure } from './failure.js';

/**
 * --kubeconfig, else in-cluster when running in a Pod, else KUBECONFIG / ~/.kube/config.
 * `hint` ends every failure's message (what else the user could do). client-node is loaded here,
 * not imported by the module: it costs ~70 MiB of RSS (its generated API source and code), which
 * `serve` without Kubernetes never needs.
 */
export async function loadKubeConfig(file: string | undefined, env: NodeJS.ProcessEnv, hint = ''): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const fail = (why: string): CommandFailure => new CommandFailure(`${why}${hint}`);
  try {
    if (file) {
      kc.loadFromFile(file);
    } else if (env.KUBERNETES_SERVICE_HOST) {
      kc.loadFromCluster();
    } else {
      const home = path.join(homedir(), '.kube', 'config');
      if (!env.KUBECONFIG && !existsSync(home)) {
        throw fail(`no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG, or create ${home}`);
      }
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof CommandFailure) throw err;
    const which = file ?? env.KUBECONFIG ?? '~/.kube/config';
    throw new CommandFailure(`cannot load the kubeconfig ${which}: ${(err as Error).message.split('\n')[0]}${hint}`, { cause: err });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw fail('the kubeconfig names no current cluster');
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    throw fail(`the kubeconfig's cluster "${cluster.name}" is plain HTTP (${cluster.server}); use https, or set insecure-skip-tls-verify`);
  }
  return kc;
}
