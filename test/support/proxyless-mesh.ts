// What the proxyless end-to-end tests (mTLS, AccessPolicy) share: a mesh CA with its CSR server
// authenticating by TokenReview against the fake API server, one CertificateAgent per service
// account of namespace `shop` (each writing its workload's certificates, as in a pod), and the
// config-dir mesh of one proxyless echo server Pod behind the Service echo.shop:50051.
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import { CertificateAgent } from '../../src/agent/certificate-agent.js';
import { silentLogger } from '../../src/logging.js';
import { validateCaFiles } from '../../src/security/ca/ca-material.js';
import { MeshCa } from '../../src/security/ca/mesh-ca.js';
import { generateRootCaFiles } from '../../src/security/ca/self-signed-root.js';
import { CsrService } from '../../src/security/csr/csr-service.js';
import { createCsrServer } from '../../src/security/csr/http2-handler.js';
import { KubeTokenReviewAuthenticator } from '../../src/security/csr/token-review.js';
import { startFakeKubeApi, type FakeKubeApi } from './fake-kube-api.js';

const CA_NAME = 'pilotfish.pilotfish-system.svc';

/** What gRPC clients dial to reach the echo server. */
export const ECHO_TARGET = 'xds:///echo.shop.svc.cluster.local:50051';

export interface WorkloadCertificates {
  /** The certificate directory of each account, as `pilotfish bootstrap --cert-dir` takes it. */
  readonly certDirs: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/** The CA, its CSR server and an agent per account of `shop`, writing under `dir`; resolves once every agent has its certificate. */
export async function startWorkloadCertificates(dir: string, accounts: readonly string[]): Promise<WorkloadCertificates> {
  const api: FakeKubeApi = await startFakeKubeApi();
  const ca = await MeshCa.create(validateCaFiles(await generateRootCaFiles(), 'test'));
  const csr = new CsrService({
    ca, authenticator: new KubeTokenReviewAuthenticator(api.kubeConfig().makeApiClient(AuthenticationV1Api)), logger: silentLogger(),
  });
  const serving = await ca.issueServingCertificate({ dnsNames: [CA_NAME] });
  const csrServer: Http2SecureServer = createCsrServer(csr, { key: serving.keyPem, cert: serving.certChain });
  csrServer.listen(0, '127.0.0.1');
  await once(csrServer, 'listening');
  const caAddress = `https://127.0.0.1:${(csrServer.address() as AddressInfo).port}`;
  const certDirs: Record<string, string> = {};
  const agents: CertificateAgent[] = [];
  for (const account of accounts) {
    const tokenFile = path.join(dir, `${account}-token`);
    await writeFile(tokenFile, `token-${account}`);
    api.registerToken(`token-${account}`, { namespace: 'shop', serviceAccount: account, audiences: ['pilotfish'] });
    certDirs[account] = path.join(dir, `${account}-certs`);
    const agent = new CertificateAgent({
      namespace: 'shop', serviceAccount: account, caAddress, caServerName: CA_NAME,
      caRootCertPem: ca.trustBundle.join(''), tokenFile, outputDir: certDirs[account]!,
    }, { logger: silentLogger() });
    agents.push(agent);
    await agent.start();
  }
  return {
    certDirs,
    close: async () => {
      for (const a of agents) a.stop();
      csrServer.close();
      await api.close();
    },
  };
}
