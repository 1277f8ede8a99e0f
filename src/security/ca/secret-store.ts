// CA material in a Kubernetes Secret in pilotfish's own namespace (default pilotfish-ca). The
// first replica to POST the Secret wins; the others get 409 Conflict and read the winner's. An
// operator plugs a CA in by creating the Secret before installing (Istio's cacerts keys), or
// from a cert-manager Certificate (tls.crt / tls.key / ca.crt, mapped below).
import { ApiException, type V1Secret } from '@kubernetes/client-node';
import type { ApiPermission } from '../../kube/api-permission.js';
import { certificatePems, joinPems } from '../pem.js';
import {
  CA_CERT_FILE, CA_FILE_NAMES, CA_KEY_FILE, CERT_CHAIN_FILE, MAX_CA_FILE_BYTES, ROOT_CERT_FILE, isEmptyCaFiles,
  type CaFileName, type CaFiles,
} from './ca-files.js';
import type { CaStore } from './ca-store.js';

export const DEFAULT_CA_SECRET_NAME = 'pilotfish-ca';
/** Set on a Secret pilotfish created itself, so an operator can tell it from a plugged-in CA. */
export const CA_ORIGIN_ANNOTATION = 'security.pilotfish.io/ca-origin';

/** Every API call SecretCaStore makes, for RBAC (src/permissions.ts collects these lists). */
export const CA_SECRET_PERMISSIONS: readonly ApiPermission[] = [
  { group: '', resource: 'secrets', verbs: ['get'], scope: 'namespace', resourceName: 'caSecret', why: 'SecretCaStore: read the mesh CA Secret' },
  { group: '', resource: 'secrets', verbs: ['create'], scope: 'namespace', why: 'SecretCaStore: create the mesh CA Secret on first start' },
];

/** The two CoreV1Api calls the store needs (client-node 1.x's CoreV1Api satisfies it). */
interface SecretClient {
  readNamespacedSecret(param: { name: string; namespace: string }): Promise<V1Secret>;
  createNamespacedSecret(param: { namespace: string; body: V1Secret }): Promise<V1Secret>;
}

function status(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export class SecretCaStore implements CaStore {
  readonly description: string;

  constructor(private readonly client: SecretClient, private readonly namespace: string,
    private readonly name: string = DEFAULT_CA_SECRET_NAME) {
    this.description = `Secret ${namespace}/${name}`;
  }

  async read(): Promise<CaFiles | undefined> {
    let secret: V1Secret;
    try {
      secret = await this.client.readNamespacedSecret({ name: this.name, namespace: this.namespace });
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
    return this.decode(secret);
  }

  async createIfAbsent(files: CaFiles): Promise<CaFiles> {
    const data: Record<string, string> = {};
    for (const name of CA_FILE_NAMES) {
      const content = files[name];
      if (content !== undefined) data[name] = Buffer.from(content, 'utf8').toString('base64');
    }
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: this.name, namespace: this.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'pilotfish', 'app.kubernetes.io/component': 'mesh-ca' },
        annotations: { [CA_ORIGIN_ANNOTATION]: 'generated' },
      },
      type: 'Opaque',
      data,
    };
    try {
      await this.client.createNamespacedSecret({ namespace: this.namespace, body });
      return files;
    } catch (err) {
      if (status(err) !== 409) throw err;
    }
    const stored = await this.read();
    if (!stored) throw new Error(`${this.description} was created by someone else and then deleted; start again`);
    return stored;
  }

  private decode(secret: V1Secret): CaFiles | undefined {
    const text: Record<string, string> = {};
    for (const [key, value] of Object.entries(secret.data ?? {})) {
      if (value.length > (MAX_CA_FILE_BYTES * 4) / 3 + 4) throw new Error(`${this.description}: key ${key} is larger than ${MAX_CA_FILE_BYTES} bytes`);
      text[key] = Buffer.from(value, 'base64').toString('utf8');
    }
    const files: Partial<Record<CaFileName, string>> = {};
    for (const name of CA_FILE_NAMES) if (text[name] !== undefined) files[name] = text[name];
    if (isEmptyCaFiles(files) && text['tls.crt'] !== undefined) return this.fromCertManager(text);
    return isEmptyCaFiles(files) ? undefined : files;
  }

  // cert-manager's layout for a CA Certificate: tls.crt is the CA (maybe followed by its chain),
  // tls.key its key, ca.crt the root that issued it.
  private fromCertManager(text: Record<string, string>): CaFiles {
    const [caCert, ...rest] = certificatePems(text['tls.crt']);
    return {
      ...(caCert ? { [CA_CERT_FILE]: caCert } : {}),
      ...(text['tls.key'] !== undefined ? { [CA_KEY_FILE]: text['tls.key'] } : {}),
      ...(rest.length > 0 ? { [CERT_CHAIN_FILE]: joinPems(rest) } : {}),
      ...(text['ca.crt'] !== undefined ? { [ROOT_CERT_FILE]: text['ca.crt'] } : {}),
    };
  }
}
