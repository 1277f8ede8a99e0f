// The mesh CA follows its store without a restart (a root rotation is an edit of the CA directory
// or Secret): a change is picked up by the directory watch or by check(); material that does not
// validate is refused, counted and logged, and the last good CA keeps signing; a Secret edit is
// read by the poll.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { rename, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE, type CaFiles } from '../../src/security/ca/ca-files.js';
import { MeshCaReloader } from '../../src/security/ca/ca-reloader.js';
import { DirectoryCaStore } from '../../src/security/ca/directory-store.js';
import { loadOrCreateMeshCa } from '../../src/security/ca/load.js';
import type { MeshCa } from '../../src/security/ca/mesh-ca.js';
import { DEFAULT_CA_SECRET_NAME, SecretCaStore } from '../../src/security/ca/secret-store.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { workloadSpiffeId, type WorkloadIdentity } from '../../src/security/spiffe.js';
import { startFakeKubeApi } from '../support/fake-kube-api.js';
import { LogTap } from '../support/log-tap.js';
import { makeCsr } from './pki.js';

const WHO: WorkloadIdentity = { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'web' };

async function issuedBy(ca: MeshCa): Promise<X509Certificate> {
  const { csrPem } = await makeCsr(workloadSpiffeId(WHO));
  return new X509Certificate((await ca.sign(csrPem, WHO)).certChain[0]!);
}

function nextSwap(reloader: MeshCaReloader): Promise<{ next: MeshCa; previous: MeshCa }> {
  return new Promise((resolve) => {
    const off = reloader.onChange((next, previous) => {
      off();
      resolve({ next, previous });
    });
  });
}

describe('security/ca/ca-reloader', function () {
  this.timeout(30_000);
  let dir: string;
  let oldFiles: CaFiles;
  let newFiles: CaFiles;
  let reloader: MeshCaReloader | undefined;

  before(async () => {
    oldFiles = await generateRootCaFiles({ subject: 'O=pilotfish, CN=old root' });
    newFiles = await generateRootCaFiles({ subject: 'O=pilotfish, CN=new root' });
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pilotfish-ca-reload-'));
  });
  afterEach(async () => {
    reloader?.stop();
    reloader = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function replace(name: string, content: string): Promise<void> {
    await writeFile(join(dir, 'ca', `${name}.tmp`), content);
    await rename(join(dir, 'ca', `${name}.tmp`), join(dir, 'ca', name));
  }

  it('a directory edit is picked up by the watch: the bundle grows, then signing switches to the new root', async () => {
    const store = new DirectoryCaStore(join(dir, 'ca'));
    await store.createIfAbsent(oldFiles);
    const tap = new LogTap();
    reloader = new MeshCaReloader(store, await loadOrCreateMeshCa(store, { logger: tap.logger }), { logger: tap.logger, pollIntervalMs: 0, settleMs: 20 });
    reloader.start();
    const oldRoot = new X509Certificate(oldFiles[ROOT_CERT_FILE]!);
    const newRoot = new X509Certificate(newFiles[ROOT_CERT_FILE]!);

    const grown = nextSwap(reloader);
    await replace(ROOT_CERT_FILE, oldFiles[ROOT_CERT_FILE]! + newFiles[ROOT_CERT_FILE]!);
    const { next, previous } = await grown;
    assert.equal(next.trustBundle.length, 2);
    assert.equal(next.trustBundle[0], oldFiles[ROOT_CERT_FILE], 'the signing root first');
    assert.equal(previous.trustBundle.length, 1);
    assert.ok((await issuedBy(next)).verify(oldRoot.publicKey));

    const switched = nextSwap(reloader);
    await replace(CA_KEY_FILE, newFiles[CA_KEY_FILE]!);
    await replace(CERT_CHAIN_FILE, newFiles[CERT_CHAIN_FILE]!);
    await replace(CA_CERT_FILE, newFiles[CA_CERT_FILE]!);
    const after = (await switched).next;
    assert.equal(after.trustBundle[0], newFiles[ROOT_CERT_FILE], 'the new signing root first');
    assert.equal(after.trustBundle.length, 2);
    assert.ok((await issuedBy(reloader.current())).verify(newRoot.publicKey));
    assert.equal(reloader.stats.reloads, 2);
    assert.ok(tap.entries.some((e) => e.message === 'mesh CA reloaded' && e.signerChanged === true));
  });

  it('refuses material that does not validate and keeps signing with the last good CA; the completed edit is then used', async () => {
    const store = new DirectoryCaStore(join(dir, 'ca'));
    await store.createIfAbsent(oldFiles);
    const tap = new LogTap();
    const first = await loadOrCreateMeshCa(store, { logger: tap.logger });
    reloader = new MeshCaReloader(store, first, { logger: tap.logger, pollIntervalMs: 0 });
    assert.equal(await reloader.check(), false, 'the material as loaded is no change');

    // Half an operator's copy: the new key next to the old certificate.
    await replace(CA_KEY_FILE, newFiles[CA_KEY_FILE]!);
    assert.equal(await reloader.check(), false);
    assert.equal(reloader.current(), first);
    assert.equal(reloader.stats.refused, 1);
    const refusal = tap.entries.find((e) => e.message === 'mesh CA material refused; the current CA stays in use');
    assert.match(String(refusal?.reason), /ca-key\.pem is not the key of the certificate in ca-cert\.pem/);
    assert.ok((await issuedBy(reloader.current())).verify(new X509Certificate(oldFiles[ROOT_CERT_FILE]!).publicKey), 'still signing');
    // The same broken content is not refused (nor logged) again at every check.
    assert.equal(await reloader.check(), false);
    assert.equal(reloader.stats.refused, 1);

    // Material that is gone altogether is refused too.
    for (const name of [CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE]) await rm(join(dir, 'ca', name));
    assert.equal(await reloader.check(), false);
    assert.equal(reloader.stats.refused, 2);
    assert.equal(reloader.current(), first);

    for (const name of [CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE] as const) await writeFile(join(dir, 'ca', name), newFiles[name]!);
    assert.equal(await reloader.check(), true);
    assert.notEqual(reloader.current(), first);
    assert.deepEqual(reloader.current().trustBundle, [newFiles[ROOT_CERT_FILE]]);
  });

  it('a Secret edit is read by the poll', async () => {
    const api = await startFakeKubeApi({ namespaces: ['pilotfish-system'] });
    try {
      const store = new SecretCaStore(api.kubeConfig().makeApiClient(CoreV1Api), 'pilotfish-system');
      const tap = new LogTap();
      reloader = new MeshCaReloader(store, await loadOrCreateMeshCa(store, { logger: tap.logger }), { logger: tap.logger, pollIntervalMs: 50 });
      const swap = nextSwap(reloader);
      reloader.start();
      const bundle = reloader.current().trustBundle[0]! + newFiles[ROOT_CERT_FILE]!;
      api.patch({ apiVersion: 'v1', kind: 'Secret', namespace: 'pilotfish-system', name: DEFAULT_CA_SECRET_NAME },
        { data: { [ROOT_CERT_FILE]: Buffer.from(bundle).toString('base64') } });
      const { next } = await swap;
      assert.equal(next.trustBundle.length, 2);
    } finally {
      reloader?.stop();
      await api.close();
    }
  });
});
