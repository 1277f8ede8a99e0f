// `pilotfish serve --ca-dir DIR --xds-tls-address`: the binary makes its CA in DIR, serves the
// authenticated TLS port next to plaintext on loopback, and takes a workload certificate from that
// CA; without one (and with no --kubeconfig to check tokens) a stream is refused. `pilotfish agent`'s
// flags map one to one onto RunAgentConfig.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { agentConfig } from '../../src/cli/agent-command.js';
import { parseCommandLine } from '../../src/cli/command-line.js';
import { agentCommand } from '../../src/cli/commands.js';
import { CA_FILE_NAMES, type CaFiles } from '../../src/security/ca/ca-files.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { MeshCa } from '../../src/security/ca/mesh-ca.js';
import { toPem } from '../../src/security/pem.js';
import { LISTENER } from '../../src/xds/types.js';
import { AdsClient } from '../support/ads-client.js';
import { PilotfishProcess, REPO_ROOT } from '../support/pilotfish-process.js';
import { makeCsr } from '../security/pki.js';

describe('e2e: serve with the TLS xDS port, and the agent command line', function () {
  this.timeout(60_000);
  let dir: string;
  let pf: PilotfishProcess | undefined;

  before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'pf-serve-tls-')); });
  after(async () => {
    await pf?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves authenticated xDS with a CA it made in --ca-dir; refuses an anonymous stream and a token it cannot check', async () => {
    const caDir = path.join(dir, 'ca');
    pf = PilotfishProcess.start(['serve', '--config-dir', path.join(REPO_ROOT, 'examples/shop'), '--xds-address', '127.0.0.1:0',
      '--http-address', '127.0.0.1:0', '--ca-dir', caDir, '--xds-tls-address', '127.0.0.1:0']);
    const addrs = await pf.serving();
    assert.ok(addrs.xdsTlsAddress, 'the serving line names the TLS address');
    const files: Record<string, string> = {};
    for (const name of CA_FILE_NAMES) files[name] = await readFile(path.join(caDir, name), 'utf8');
    const ca = await MeshCa.create(validateCaFiles(files as CaFiles, caDir));
    const roots = Buffer.from(ca.trustBundle.join(''));

    const { csrPem, keys } = await makeCsr('spiffe://cluster.local/ns/shop/sa/frontend');
    const issued = await ca.sign(csrPem, { trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'frontend' });
    const key = toPem('PRIVATE KEY', new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
    const node = { id: 'e2e-tls', metadata: { PILOTFISH_KIND: 'grpc', NAMESPACE: 'shop' } };
    const withCert = await AdsClient.connect(addrs.xdsTlsAddress, node, {
      credentials: grpc.credentials.createSsl(roots, Buffer.from(key), Buffer.from(issued.certChain.join(''))),
      channelOptions: { 'grpc.ssl_target_name_override': 'localhost' },
    });
    try {
      assert.ok((await withCert.fetch(LISTENER)).names.length > 0);
    } finally {
      withCert.close();
    }

    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer some-token');
    for (const opts of [{}, { metadata: md }]) {
      const c = await AdsClient.connect(addrs.xdsTlsAddress, node, {
        credentials: grpc.credentials.createSsl(roots), channelOptions: { 'grpc.ssl_target_name_override': 'localhost' }, ...opts,
      });
      c.request(LISTENER, []);
      const end = await c.closed;
      c.close();
      assert.equal(end.code, grpc.status.UNAUTHENTICATED, end.details);
    }
  });

  it('agent: every flag lands in its RunAgentConfig field; namespace and service account may come from the environment', () => {
    const line = parseCommandLine(agentCommand, ['--ca-address', 'https://pilotfish.pilotfish-system.svc:15012',
      '--xds-address', 'https://x:15012', '--ca-server-name', 'pilotfish.pilotfish-system.svc', '--trust-domain', 'example.org',
      '--token-file', '/t', '--root-cert-file', '/r', '--output-dir', '/o', '--xds-socket', '/x.sock', '--sds-socket', '',
      '--status-address', '127.0.0.1:0']);
    assert.deepEqual(agentConfig(line, { POD_NAMESPACE: 'shop', SERVICE_ACCOUNT: 'frontend' }), {
      caAddress: 'https://pilotfish.pilotfish-system.svc:15012', namespace: 'shop', serviceAccount: 'frontend',
      xdsAddress: 'https://x:15012', caServerName: 'pilotfish.pilotfish-system.svc', trustDomain: 'example.org',
      tokenFile: '/t', rootCertFile: '/r', outputDir: '/o', xdsSocket: '/x.sock', sdsSocket: '', statusAddress: '127.0.0.1:0',
    });
    assert.throws(() => agentConfig(parseCommandLine(agentCommand, []), {}), /--ca-address is required/);
  });
});
