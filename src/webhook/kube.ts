// What the injector needs from the Kubernetes API, as small interfaces. kube-client.ts implements
// them with @kubernetes/client-node; tests use in-memory implementations or the HTTP fake.

export interface NamespaceLabelSource {
  /** Labels of the namespace; undefined when the namespace does not exist. Throws when the API fails. */
  labels(namespace: string): Promise<Readonly<Record<string, string>> | undefined>;
  /** Releases what the source holds open (a watch); called when the webhook server closes. */
  close?(): Promise<void>;
}

export interface StoredSecret {
  readonly data: Readonly<Record<string, string>>;
  /** Opaque; passed back to replace() for optimistic concurrency. */
  readonly resourceVersion: string;
}

export type WriteResult = 'ok' | 'conflict';

/** A Secret's string data (values are UTF-8 text such as PEM; implementations do the base64). */
export interface SecretStore {
  read(namespace: string, name: string): Promise<StoredSecret | undefined>;
  /** 'conflict' when it already exists (another replica won the race). */
  create(namespace: string, name: string, data: Readonly<Record<string, string>>): Promise<WriteResult>;
  /** 'conflict' when the resourceVersion is stale. */
  replace(namespace: string, name: string, data: Readonly<Record<string, string>>, resourceVersion: string): Promise<WriteResult>;
}

export interface CaBundleTarget {
  /** Sets caBundle on every webhook of the MutatingWebhookConfiguration. */
  setCaBundle(configName: string, caBundlePem: string): Promise<void>;
}

export interface ServerVersion {
  readonly major: number;
  readonly minor: number;
  readonly gitVersion: string;
}

export interface ServerVersionSource {
  version(): Promise<ServerVersion>;
}

/** Native sidecars (restartable init containers) are on by default from Kubernetes 1.29. */
export function supportsNativeSidecars(v: ServerVersion): boolean {
  return v.major > 1 || (v.major === 1 && v.minor >= 29);
}

/** "1", "29+" (GKE/EKS style) -> numbers; NaN-safe. */
export function parseServerVersion(major: string, minor: string, gitVersion: string): ServerVersion {
  const num = (s: string): number => {
    const m = /^(\d+)/.exec(s.trim());
    if (!m) throw new Error(`API server version ${JSON.stringify({ major, minor, gitVersion })} is not numeric`);
    return Number(m[1]);
  };
  return { major: num(major), minor: num(minor), gitVersion };
}

/**
 * For running without access to the Kubernetes API: every namespace counts as labelled, which is
 * right when the MutatingWebhookConfiguration's namespaceSelector already sends only labelled
 * namespaces (and pods labelled `sidecar.pilotfish.io/inject=true`) to the webhook.
 */
export class TrustWebhookSelectors implements NamespaceLabelSource {
  async labels(): Promise<Readonly<Record<string, string>>> {
    return { 'pilotfish.io/inject': 'enabled' };
  }
}
