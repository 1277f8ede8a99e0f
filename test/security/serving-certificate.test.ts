// The TLS port's serving certificate: the Service's names, and renewal at half its life (a short
// TTL here, so the renewal is awaited, not slept for).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { silentLogger } from '../../src/logging.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { MeshCa, type ServingCertificate } from '../../src/security/ca/mesh-ca.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { servingDnsNames, ServingCertificateRenewer } from '../../src/security/serving-certificate.js';

describe('security/serving-certificate', () => {
  it('names the Service in both DNS forms plus the extra hosts, once each', () => {
    assert.deepEqual(servingDnsNames('pilotfish', 'mesh', ['pilotfish.mesh.svc', 'xds.example.com', '']),
      ['pilotfish.mesh.svc', 'pilotfish.mesh.svc.cluster.local', 'xds.example.com']);
  });

  it('issues for DNS names and IPs, and renews at half its life, handing the new one over', async () => {
    const ca = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'test'));
    let renewed!: (c: ServingCertificate) => void;
    const next = new Promise<ServingCertificate>((resolve) => { renewed = resolve; });
    const renewer = await ServingCertificateRenewer.start({
      ca: () => ca, hosts: ['pilotfish.mesh.svc', '127.0.0.1'], logger: silentLogger(), ttlMs: 4000, onRenewed: (c) => renewed(c),
    });
    try {
      const first = renewer.certificate;
      const x = new X509Certificate(first.certChain[0]);
      assert.equal(x.subjectAltName, 'DNS:pilotfish.mesh.svc, IP Address:127.0.0.1');
      assert.equal(x.checkIssued(new X509Certificate(ca.trustBundle[0])), true);
      const second = await next;
      assert.notEqual(second.serialNumber, first.serialNumber);
      assert.equal(renewer.certificate, second);
      assert.ok(second.notAfter.getTime() > first.notAfter.getTime(), 'the new one outlives the first');
    } finally {
      renewer.stop();
    }
  });
});
