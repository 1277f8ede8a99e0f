// Kubeconfig files and in-process KubeConfig objects pointing at a (fake) API server, so a test
// can hand the same cluster to a child `pilotfish controller --kubeconfig FILE` and to its own client.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

export interface KubeconfigTarget {
  /** http://127.0.0.1:PORT or https://127.0.0.1:PORT */
  url: string;
  /** PEM of the CA that signed the server certificate (HTTPS only). */
  caPem?: string;
  /** Bearer token; the fake accepts any unless started with one. */
  token?: string;
  /** The context's default namespace. */
  namespace?: string;
}

export function kubeconfigObject(target: KubeconfigTarget): Record<string, unknown> {
  const cluster: Record<string, unknown> = { server: target.url };
  if (target.url.startsWith('https:') && target.caPem) {
    cluster['certificate-authority-data'] = Buffer.from(target.caPem).toString('base64');
  } else {
    // client-node refuses plain http unless TLS verification is switched off for the cluster.
    cluster['insecure-skip-tls-verify'] = true;
  }
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster }],
    users: [{ name: 'fake', user: { token: target.token ?? 'fake-token' } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: target.namespace ?? 'default' } }],
    'current-context': 'fake',
    preferences: {},
  };
}

export function kubeconfigYaml(target: KubeconfigTarget): string {
  return stringify(kubeconfigObject(target));
}

/** Writes DIR/kubeconfig (or DIR/fileName) and returns its path. */
export async function writeKubeconfig(dir: string, target: KubeconfigTarget, fileName = 'kubeconfig'): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, fileName);
  await writeFile(file, kubeconfigYaml(target), { mode: 0o600 });
  return file;
}

/** A client-node KubeConfig for in-process clients. */
export function loadKubeConfig(target: KubeconfigTarget): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(target));
  return kc;
}
