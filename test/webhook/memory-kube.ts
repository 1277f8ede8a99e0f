// In-memory implementations of the injector's Kubernetes interfaces, for logic tests that need
// a controllable clock or a scripted race; the client-node implementations are tested against
// the HTTP fake API server in kube-client.test.ts.
import type { CaBundleTarget, SecretStore, StoredSecret, WriteResult } from '../../src/webhook/kube.js';

export class MemorySecretStore implements SecretStore {
  readonly secrets = new Map<string, StoredSecret>();
  writes = 0;
  private version = 0;
  /** Runs once before the next write, e.g. to let another "replica" win a race. */
  beforeNextWrite: (() => void) | undefined;

  private key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  put(ns: string, name: string, data: Record<string, string>): void {
    this.secrets.set(this.key(ns, name), { data: { ...data }, resourceVersion: String(++this.version) });
  }

  async read(ns: string, name: string): Promise<StoredSecret | undefined> {
    const s = this.secrets.get(this.key(ns, name));
    return s && { data: { ...s.data }, resourceVersion: s.resourceVersion };
  }

  private hook(): void {
    const h = this.beforeNextWrite;
    this.beforeNextWrite = undefined;
    h?.();
  }

  async create(ns: string, name: string, data: Readonly<Record<string, string>>): Promise<WriteResult> {
    this.hook();
    if (this.secrets.has(this.key(ns, name))) return 'conflict';
    this.writes++;
    this.put(ns, name, { ...data });
    return 'ok';
  }

  async replace(ns: string, name: string, data: Readonly<Record<string, string>>, rv: string): Promise<WriteResult> {
    this.hook();
    const cur = this.secrets.get(this.key(ns, name));
    if (!cur || cur.resourceVersion !== rv) return 'conflict';
    this.writes++;
    this.put(ns, name, { ...data });
    return 'ok';
  }
}

export class MemoryCaBundleTarget implements CaBundleTarget {
  readonly bundles = new Map<string, string>();
  calls = 0;
  async setCaBundle(configName: string, pem: string): Promise<void> {
    this.calls++;
    this.bundles.set(configName, pem);
  }
}
