// The injector's Kubernetes interfaces implemented with @kubernetes/client-node 1.x.
import {
  AdmissionregistrationV1Api, ApiException, CoreV1Api, PatchStrategy, VersionApi, setHeaderOptions,
  type KubeConfig, type V1Secret,
} from '@kubernetes/client-node';
import type {
  CaBundleTarget, NamespaceLabelSource, SecretStore, ServerVersion, ServerVersionSource, StoredSecret, WriteResult,
} from './kube.js';
import { parseServerVersion } from './kube.js';
import type { ApiPermission } from '../kube/api-permission.js';

/**
 * Every API call the classes below make, for RBAC (src/permissions.ts collects it; the Helm chart is
 * checked against it, and test/permissions/webhook.test.ts checks it against the calls made).
 * KubeServerVersion's GET /version needs no rule (see src/permissions.ts).
 */
export const WEBHOOK_PERMISSIONS: readonly ApiPermission[] = [
  { group: '', resource: 'namespaces', verbs: ['get'], scope: 'cluster', why: 'KubeNamespaceLabels: a Pod\'s namespace labels until the cache has it' },
  { group: '', resource: 'namespaces', verbs: ['list', 'watch'], scope: 'cluster', why: 'InformerNamespaceCache: the namespace labels of every Pod, cached' },
  {
    group: '', resource: 'secrets', verbs: ['get', 'update'], scope: 'namespace', resourceName: 'tlsSecret',
    why: 'KubeSecretStore: read and renew the webhook TLS Secret',
  },
  { group: '', resource: 'secrets', verbs: ['create'], scope: 'namespace', why: 'KubeSecretStore: create the webhook TLS Secret on first start' },
  {
    group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', verbs: ['get', 'patch'], scope: 'cluster',
    resourceName: 'webhookConfig', why: 'KubeCaBundleTarget: patch the CA bundle into our MutatingWebhookConfiguration',
  },
];

function status(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export class KubeNamespaceLabels implements NamespaceLabelSource {
  private readonly core: CoreV1Api;
  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async labels(namespace: string): Promise<Readonly<Record<string, string>> | undefined> {
    try {
      const ns = await this.core.readNamespace({ name: namespace });
      return ns.metadata?.labels ?? {};
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }
}

const toBase64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const fromBase64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

export class KubeSecretStore implements SecretStore {
  private readonly core: CoreV1Api;
  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async read(namespace: string, name: string): Promise<StoredSecret | undefined> {
    let secret: V1Secret;
    try {
      secret = await this.core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = fromBase64(v);
    return { data, resourceVersion: secret.metadata?.resourceVersion ?? '' };
  }

  private body(namespace: string, name: string, data: Readonly<Record<string, string>>, resourceVersion?: string): V1Secret {
    const encoded: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) encoded[k] = toBase64(v);
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name, namespace, resourceVersion,
        labels: { 'app.kubernetes.io/managed-by': 'pilotfish', 'app.kubernetes.io/component': 'webhook-tls' },
      },
      type: 'Opaque',
      data: encoded,
    };
  }

  async create(namespace: string, name: string, data: Readonly<Record<string, string>>): Promise<WriteResult> {
    try {
      await this.core.createNamespacedSecret({ namespace, body: this.body(namespace, name, data) });
      return 'ok';
    } catch (err) {
      if (status(err) === 409) return 'conflict';
      throw err;
    }
  }

  async replace(namespace: string, name: string, data: Readonly<Record<string, string>>, resourceVersion: string): Promise<WriteResult> {
    try {
      await this.core.replaceNamespacedSecret({ namespace, name, body: this.body(namespace, name, data, resourceVersion) });
      return 'ok';
    } catch (err) {
      if (status(err) === 409) return 'conflict';
      throw err;
    }
  }
}

export class KubeCaBundleTarget implements CaBundleTarget {
  private readonly admission: AdmissionregistrationV1Api;
  constructor(kc: KubeConfig) {
    this.admission = kc.makeApiClient(AdmissionregistrationV1Api);
  }

  async setCaBundle(configName: string, caBundlePem: string): Promise<void> {
    const config = await this.admission.readMutatingWebhookConfiguration({ name: configName });
    const wanted = toBase64(caBundlePem);
    const ops: object[] = [];
    (config.webhooks ?? []).forEach((w, i) => {
      if (w.clientConfig?.caBundle === wanted) return;
      // The test guards against a concurrent reorder of the list between our read and patch.
      ops.push({ op: 'test', path: `/webhooks/${i}/name`, value: w.name });
      ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: wanted });
    });
    if (ops.length === 0) return;
    await this.admission.patchMutatingWebhookConfiguration(
      { name: configName, body: ops },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  }
}

export class KubeServerVersion implements ServerVersionSource {
  private readonly api: VersionApi;
  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(VersionApi);
  }

  async version(): Promise<ServerVersion> {
    const v = await this.api.getCode();
    return parseServerVersion(v.major, v.minor, v.gitVersion);
  }
}
