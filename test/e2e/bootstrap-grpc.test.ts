// `pilotfish bootstrap --kind grpc --cert-dir DIR [--xds-server]`, run as a user would: the
// certificate provider generated TLS contexts name (gRFC A29) and the server Listener template
// (gRFC A36); without the flags neither is there, and a sidecar refuses them.
import assert from 'node:assert/strict';
import path from 'node:path';
import { GRPC_CERTIFICATE_PROVIDER, GRPC_SERVER_LISTENER_TEMPLATE } from '../../src/xds/generate/tls.js';
import { CERT_CHAIN_FILE, KEY_FILE, ROOT_CERT_FILE, type GrpcBootstrap } from '../../src/xds/bootstrap/grpc-bootstrap.js';
import { runPilotfish } from '../support/pilotfish-process.js';

describe('e2e: pilotfish bootstrap --kind grpc with certificates', function () {
  this.timeout(30_000);

  it('--cert-dir adds the file_watcher provider on the agent\'s files, --xds-server the Listener template', async () => {
    const out = await runPilotfish(['bootstrap', '--node-id', 'server-1', '--namespace', 'demo', '--cert-dir', 'certs', '--xds-server']);
    assert.equal(out.code, 0, out.stderr);
    const b = JSON.parse(out.stdout) as GrpcBootstrap;
    const provider = b.certificate_providers?.[GRPC_CERTIFICATE_PROVIDER];
    assert.equal(provider?.plugin_name, 'file_watcher');
    const dir = path.resolve('certs');
    assert.deepEqual([provider?.config.certificate_file, provider?.config.private_key_file, provider?.config.ca_certificate_file],
      [path.join(dir, CERT_CHAIN_FILE), path.join(dir, KEY_FILE), path.join(dir, ROOT_CERT_FILE)], 'a relative directory is made absolute');
    assert.equal(b.server_listener_resource_name_template, GRPC_SERVER_LISTENER_TEMPLATE);
  });

  it('without the flags: no provider, no template; for a sidecar the flags are usage errors', async () => {
    const plain = await runPilotfish(['bootstrap', '--node-id', 'client-1']);
    assert.equal(plain.code, 0, plain.stderr);
    const b = JSON.parse(plain.stdout) as GrpcBootstrap;
    assert.equal(b.certificate_providers, undefined);
    assert.equal(b.server_listener_resource_name_template, undefined);
    const sidecar = await runPilotfish(['bootstrap', '--kind', 'sidecar', '--node-id', 'x', '--cert-dir', '/tmp']);
    assert.equal(sidecar.code, 2);
    assert.match(sidecar.stderr, /--cert-dir is for --kind grpc/);
  });
});
