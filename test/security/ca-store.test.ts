// Where the CA lives: two "replicas" starting at once end up with one root (directory: atomic
// rename; Secret: POST, 409, re-read against the fake API server through client-node), stored
// material is never replaced, and incomplete material is an error rather than a fresh root.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { silentLogger } from '../../src/logging.js';
import { CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE } from '../../src/security/ca/ca-files.js';
import { CaMaterialError } from '../../src/security/ca/ca-material.js';
import { DirectoryCaStore } from '../../src/security/ca/directory-store.js';
import { loadOrCreateMeshCa } from '../../src/security/ca/load.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { CA_ORIGIN_ANNOTATION, DEFAULT_CA_SECRET_NAME, SecretCaStore } from '../../src/security/ca/secret-store.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { makeCert } from './pki.js';

const logger = silentLogger();
const NS = 'pilotfish-system';

describe('security/ca stores', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pilotfish-ca-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('DirectoryCaStore', () => {
    it('two replicas starting together share one root; the key file is 0600', async () => {
      const caDir = join(dir, 'state', 'ca');
      const [a, b] = await Promise.all([
        loadOrCreateMeshCa(new DirectoryCaStore(caDir), { logger }),
        loadOrCreateMeshCa(new DirectoryCaStore(caDir), { logger }),
      ]);
      assert.deepEqual(a.trustBundle, b.trustBundle);
      assert.equal(a.material.signingCertPem, b.material.signingCertPem);
      assert.deepEqual((await readdir(caDir)).sort(), [CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE].sort());
      assert.equal((await stat(join(caDir, CA_KEY_FILE))).mode & 0o777, 0o600);
      assert.deepEqual((await readdir(join(dir, 'state'))), ['ca'], 'no staging directory is left behind');
      // A later start reads what is there.
      const c = await loadOrCreateMeshCa(new DirectoryCaStore(caDir), { logger });
      assert.deepEqual(c.trustBundle, a.trustBundle);
    });

    it('create-if-absent: of two concurrent writers exactly one wins and both return its files', async () => {
      const caDir = join(dir, 'ca');
      const [one, two] = await Promise.all([generateRootCaFiles(), generateRootCaFiles()]);
      const [a, b] = await Promise.all([new DirectoryCaStore(caDir).createIfAbsent(one), new DirectoryCaStore(caDir).createIfAbsent(two)]);
      assert.deepEqual(a, b);
      assert.ok(a[ROOT_CERT_FILE] === one[ROOT_CERT_FILE] || a[ROOT_CERT_FILE] === two[ROOT_CERT_FILE]);
      assert.deepEqual(await new DirectoryCaStore(caDir).read(), a);
    });

    it('uses an existing empty directory', async () => {
      const caDir = join(dir, 'empty');
      await mkdir(caDir);
      const ca = await loadOrCreateMeshCa(new DirectoryCaStore(caDir), { logger });
      assert.equal((await readdir(caDir)).length, 4);
      assert.equal(ca.trustBundle.length, 1);
    });

    it('uses plugged-in cacerts files and never replaces them', async () => {
      const root = await makeCert({ subject: 'CN=corp root' });
      const signer = await makeCert({ subject: 'CN=corp mesh signer', issuer: root });
      await writeFile(join(dir, CA_CERT_FILE), signer.certPem);
      await writeFile(join(dir, CA_KEY_FILE), signer.keyPem, { mode: 0o600 });
      await writeFile(join(dir, CERT_CHAIN_FILE), signer.certPem + root.certPem);
      await writeFile(join(dir, ROOT_CERT_FILE), root.certPem);
      const ca = await loadOrCreateMeshCa(new DirectoryCaStore(dir), { logger });
      assert.deepEqual(ca.trustBundle, [root.certPem]);
      assert.deepEqual(ca.material.chainPems, [signer.certPem]);
    });

    it('refuses incomplete material instead of making a new root', async () => {
      const root = await makeCert({ subject: 'CN=corp root' });
      await writeFile(join(dir, CA_CERT_FILE), root.certPem);
      await writeFile(join(dir, CA_KEY_FILE), root.keyPem);
      await assert.rejects(loadOrCreateMeshCa(new DirectoryCaStore(dir), { logger }),
        (err: unknown) => err instanceof CaMaterialError && err.message === `CA material in directory ${dir}: root-cert.pem is missing`);
      assert.deepEqual((await readdir(dir)).sort(), [CA_CERT_FILE, CA_KEY_FILE].sort());
    });

    it('refuses a directory holding other files', async () => {
      await writeFile(join(dir, 'notes.txt'), 'mine');
      await assert.rejects(new DirectoryCaStore(dir).createIfAbsent({ [CA_CERT_FILE]: 'x' }), /holds 1 other entries but none of ca-cert\.pem/);
    });
  });

  describe('SecretCaStore (fake API server, client-node)', () => {
    let api: FakeKubeApi;
    let core: CoreV1Api;
    beforeEach(async () => {
      api = await startFakeKubeApi({ namespaces: ['default', NS] });
      core = api.kubeConfig().makeApiClient(CoreV1Api);
    });
    afterEach(async () => {
      await api.close();
    });

    it('two replicas starting together: one POST wins, the other gets 409 and adopts its root', async () => {
      const [a, b] = await Promise.all([
        loadOrCreateMeshCa(new SecretCaStore(core, NS), { logger }),
        loadOrCreateMeshCa(new SecretCaStore(core, NS), { logger }),
      ]);
      assert.deepEqual(a.trustBundle, b.trustBundle);
      const creates = api.requests({ verb: 'create', resource: 'secrets' });
      assert.deepEqual(creates.map((r) => r.status).sort(), [201, 409]);
      const secret = api.get<{ apiVersion: string; kind: string; metadata: { annotations?: Record<string, string> }; data: Record<string, string> }>(
        { apiVersion: 'v1', kind: 'Secret', namespace: NS, name: DEFAULT_CA_SECRET_NAME });
      assert.equal(secret.metadata.annotations?.[CA_ORIGIN_ANNOTATION], 'generated');
      assert.deepEqual(Object.keys(secret.data).sort(), [CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE].sort());
      assert.equal(Buffer.from(secret.data[ROOT_CERT_FILE], 'base64').toString(), a.trustBundle[0]);
      // A restart reads it without writing.
      api.resetRequests();
      const c = await loadOrCreateMeshCa(new SecretCaStore(core, NS), { logger });
      assert.deepEqual(c.trustBundle, a.trustBundle);
      assert.equal(api.count({ verb: 'create' }), 0);
    });

    it('uses a plugged-in cacerts Secret', async () => {
      const root = await makeCert({ subject: 'CN=corp root' });
      const signer = await makeCert({ subject: 'CN=corp mesh signer', issuer: root });
      const b64 = (s: string): string => Buffer.from(s).toString('base64');
      api.create({
        apiVersion: 'v1', kind: 'Secret', metadata: { name: 'corp-ca', namespace: NS },
        data: { [CA_CERT_FILE]: b64(signer.certPem), [CA_KEY_FILE]: b64(signer.keyPem), [CERT_CHAIN_FILE]: b64(signer.certPem + root.certPem), [ROOT_CERT_FILE]: b64(root.certPem) },
      });
      const ca = await loadOrCreateMeshCa(new SecretCaStore(core, NS, 'corp-ca'), { logger });
      assert.deepEqual(ca.trustBundle, [root.certPem]);
      assert.equal(api.count({ verb: 'create', resource: 'secrets' }), 0);
    });

    it('uses a cert-manager CA Secret (tls.crt, tls.key, ca.crt)', async () => {
      const root = await makeCert({ subject: 'CN=cert-manager root' });
      const signer = await makeCert({ subject: 'CN=cert-manager issued mesh CA', issuer: root });
      const b64 = (s: string): string => Buffer.from(s).toString('base64');
      api.create({
        apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: DEFAULT_CA_SECRET_NAME, namespace: NS },
        data: { 'tls.crt': b64(signer.certPem), 'tls.key': b64(signer.keyPem), 'ca.crt': b64(root.certPem) },
      });
      const ca = await loadOrCreateMeshCa(new SecretCaStore(core, NS), { logger });
      assert.deepEqual(ca.trustBundle, [root.certPem]);
      assert.deepEqual(ca.material.chainPems, [signer.certPem]);
    });

    it('refuses an incomplete Secret, naming it, and leaves it alone', async () => {
      const root = await makeCert({ subject: 'CN=corp root' });
      api.create({
        apiVersion: 'v1', kind: 'Secret', metadata: { name: DEFAULT_CA_SECRET_NAME, namespace: NS },
        data: { [CA_CERT_FILE]: Buffer.from(root.certPem).toString('base64') },
      });
      await assert.rejects(loadOrCreateMeshCa(new SecretCaStore(core, NS), { logger }),
        /^CaMaterialError: CA material in Secret pilotfish-system\/pilotfish-ca: ca-key\.pem is missing$/);
      assert.equal(api.count({ verb: 'create', resource: 'secrets' }), 0);
    });

    it('surfaces API errors other than 404/409', async () => {
      api.failNext({ verb: 'get', resource: 'secrets' }, { status: 403 });
      await assert.rejects(loadOrCreateMeshCa(new SecretCaStore(core, NS), { logger }), (err: unknown) => (err as { code?: number }).code === 403);
    });
  });
});
