// The agent's SDS server on a Unix socket, spoken to by a raw xDS client as Envoy speaks to it:
// `default` and `ROOTCA` decode with the real protos and pass their validate rules, a renewal
// pushes a new version, and the socket admits only its owner.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSdsServer, type SdsServer } from '../../src/agent/sds-server.js';
import type { SecretMaterial } from '../../src/agent/sds-secrets.js';
import { ROOT_CA_SECRET as ROOT_SECRET, WORKLOAD_SECRET as DEFAULT_SECRET } from '../../src/xds/generate/tls.js';
import { prepareSocketPath } from '../../src/agent/unix-socket.js';
import { newWorkloadKey } from '../../src/agent/workload-key.js';
import { silentLogger } from '../../src/logging.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { MeshCa } from '../../src/security/ca/mesh-ca.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { messageName, SECRET } from '../../src/xds/types.js';
import { AdsClient, DeltaAdsClient, type SotwResponse } from '../support/ads-client.js';
import { checkEncoded, formatViolations } from '../support/validate-rules.js';

const ID = 'spiffe://cluster.local/ns/shop/sa/frontend';
const NODE = { id: 'sidecar~10.0.0.9~web-1.shop~shop.svc.cluster.local', metadata: { NAMESPACE: 'shop' } };

async function material(ca: MeshCa): Promise<SecretMaterial> {
  const key = await newWorkloadKey(ID);
  const issued = await ca.sign(key.csrPem, { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'frontend' });
  return { certChainPem: issued.certChain, privateKeyPem: key.privateKeyPem, trustBundlePem: issued.trustBundle };
}

function text(value: unknown): string {
  assert.equal(typeof value, 'string', 'inline_string is set');
  return value as string;
}

function byName(res: SotwResponse): Map<string, Record<string, unknown>> {
  return new Map(res.resources.map((r) => [r.name, r.value]));
}

describe('agent/sds-server', function () {
  this.timeout(30_000);
  let dir: string;
  let ca: MeshCa;
  let sds: SdsServer;
  let address: string;
  const clients: { close(): void }[] = [];

  before(async () => {
    ca = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'test'));
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pf-sds-'));
    sds = await startSdsServer({ socketPath: join(dir, 'sds.sock'), logger: silentLogger() });
    address = `unix://${join(dir, 'sds.sock')}`;
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await sds.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function sotw(service: 'sds' | 'ads'): Promise<AdsClient> {
    const c = await AdsClient.connect(address, NODE, { service });
    clients.push(c);
    return c;
  }

  it('serves default (chain + key) and ROOTCA (bundle) as Envoy Secrets that pass the validate rules', async () => {
    const m = await material(ca);
    sds.update(m);
    const c = await sotw('sds');
    const res = await c.fetch(SECRET, [DEFAULT_SECRET, ROOT_SECRET]);
    assert.deepEqual(res.names, [ROOT_SECRET, DEFAULT_SECRET].sort());
    for (const any of res.anys) {
      assert.equal(any.type_url, SECRET);
      const problems = checkEncoded(messageName(SECRET), any.value);
      assert.deepEqual(problems, [], formatViolations(problems));
    }
    const secrets = byName(res);
    const tls = secrets.get(DEFAULT_SECRET)!.tls_certificate as { certificate_chain: { inline_string: unknown }; private_key: { inline_string: unknown } };
    assert.equal(text(tls.certificate_chain.inline_string), m.certChainPem.join(''));
    assert.equal(text(tls.private_key.inline_string), m.privateKeyPem);
    assert.equal(new X509Certificate(m.certChainPem[0]).subjectAltName, `URI:${ID}`);
    const roots = secrets.get(ROOT_SECRET)!.validation_context as { trusted_ca: { inline_string: unknown } };
    assert.equal(text(roots.trusted_ca.inline_string), m.trustBundlePem.join(''));
    assert.equal(secrets.get(ROOT_SECRET)!.tls_certificate, undefined, 'ROOTCA carries no key');
  });

  it('answers before the first certificate with nothing, then pushes both secrets when it arrives', async () => {
    const c = await sotw('ads');
    c.request(SECRET, [DEFAULT_SECRET, ROOT_SECRET]);
    const empty = await c.next(SECRET);
    assert.equal(empty.anys.length, 0);
    c.ack(empty);
    assert.equal(sds.update(await material(ca)), true);
    const pushed = await c.next(SECRET);
    assert.deepEqual(pushed.names, [ROOT_SECRET, DEFAULT_SECRET].sort());
    assert.notEqual(pushed.versionInfo, empty.versionInfo);
  });

  it('a renewal pushes a new version of default; the same material again changes nothing', async () => {
    const first = await material(ca);
    sds.update(first);
    const before = sds.versions();
    assert.equal(sds.update(first), false, 'identical material is not a change');
    assert.deepEqual(sds.versions(), before);

    const c = await sotw('sds');
    const initial = await c.fetch(SECRET, [DEFAULT_SECRET]);
    const renewed = await material(ca);
    assert.equal(sds.update(renewed), true);
    const after = sds.versions();
    assert.notEqual(after[DEFAULT_SECRET], before[DEFAULT_SECRET]);
    // Same CA, same bundle: ROOTCA keeps its content hash.
    assert.equal(after[ROOT_SECRET], before[ROOT_SECRET]);

    const push = await c.next(SECRET);
    assert.notEqual(push.versionInfo, initial.versionInfo);
    const tls = byName(push).get(DEFAULT_SECRET)!.tls_certificate as { certificate_chain: { inline_string: unknown } };
    assert.equal(text(tls.certificate_chain.inline_string), renewed.certChainPem.join(''));
  });

  it('Delta SDS carries each secret with its content-hash version', async () => {
    sds.update(await material(ca));
    const c = await DeltaAdsClient.connect(address, NODE, { service: 'sds' });
    clients.push(c);
    c.request(SECRET, { subscribe: [DEFAULT_SECRET, ROOT_SECRET] });
    const res = await c.next(SECRET);
    assert.deepEqual(Object.fromEntries(res.versions), sds.versions());
  });

  it('the socket is mode 0600 (connecting needs write permission: only the agent\'s user)', async () => {
    const s = await stat(join(dir, 'sds.sock'));
    assert.ok(s.isSocket());
    assert.equal(s.mode & 0o777, 0o600);
  });

  it('refuses to replace a file that is not a socket, and replaces a stale socket', async () => {
    const plain = join(dir, 'not-a-socket');
    await writeFile(plain, 'data');
    await assert.rejects(prepareSocketPath(plain), /exists and is not a socket; refusing to replace it/);
    assert.equal((await stat(plain)).isFile(), true);
    await assert.rejects(prepareSocketPath(join(dir, 'x'.repeat(120))), /longer than 107 bytes/);
    // A socket a killed agent left behind (here one still bound: the path is all that counts) is replaced.
    const stale = join(dir, 'stale.sock');
    const holder = net.createServer().listen(stale);
    await once(holder, 'listening');
    await prepareSocketPath(stale);
    await assert.rejects(stat(stale), /ENOENT/);
    holder.close();
  });
});
