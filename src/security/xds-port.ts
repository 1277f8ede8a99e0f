// The control plane's TLS port (15012) assembled from the security pieces: the serving
// certificate from the mesh CA (renewed at half its life), client certificates verified against
// the mesh trust bundle, streams authenticated by certificate or token (PeerAuthenticator), and
// the CSR endpoint on the same port, answered before gRPC dispatch. When the CA is reloaded (a root
// rotation step) the port follows without dropping a connection: the CSR service signs with the new
// CA, client certificates are verified against the new bundle, and a new signer re-issues the
// serving certificate at once, so step 3 never finds it still under the old root.
import type { Logger } from '../logging.js';
import type { XdsServer, XdsTlsOptions } from '../xds/server/index.js';
import type { GrpcTlsCredentials } from '../xds/server/grpc/server.js';
import { fixedCa, type CurrentCa } from './ca/ca-reloader.js';
import { MeshCa, type ServingCertificate } from './ca/mesh-ca.js';
import { CsrService } from './csr/csr-service.js';
import { csrStreamHandler } from './csr/http2-handler.js';
import type { TokenAuthenticator } from './csr/token-authenticator.js';
import { PeerAuthenticator } from './peer-authenticator.js';
import { ServingCertificateRenewer } from './serving-certificate.js';

interface SecureXdsPortOptions {
  /** host:port to listen on. */
  readonly address: string;
  /** The CA, fixed or followed (MeshCaReloader). */
  readonly ca: MeshCa | CurrentCa;
  readonly trustDomain?: string;
  readonly tokens: TokenAuthenticator;
  /** Names (DNS or IP) the serving certificate carries. */
  readonly hosts: readonly string[];
  readonly logger: Logger;
  /** Lifetime of the serving certificate; default the CA's (24 h). */
  readonly servingTtlMs?: number;
  /** Lifetime of workload certificates; default 24 h. */
  readonly workloadTtlMs?: number;
}

export interface SecureXdsPort {
  /** To pass to startXdsServer as `tls`. */
  readonly tls: XdsTlsOptions;
  readonly csr: CsrService;
  readonly authenticator: PeerAuthenticator;
  readonly renewer: ServingCertificateRenewer;
  readonly ca: CurrentCa;
  /** The server renewed certificates are installed into. */
  attach(server: XdsServer): void;
  stop(): void;
}

function credentials(serving: ServingCertificate, ca: MeshCa): GrpcTlsCredentials {
  return { key: serving.keyPem, cert: serving.certChain.join(''), ca: ca.trustBundle.join('') };
}

export async function secureXdsPort(o: SecureXdsPortOptions): Promise<SecureXdsPort> {
  const logger = o.logger.child({ component: 'xds-tls' });
  const ca = o.ca instanceof MeshCa ? fixedCa(o.ca) : o.ca;
  let server: XdsServer | undefined;
  const renewer = await ServingCertificateRenewer.start({
    ca: () => ca.current(), hosts: o.hosts, logger, ...(o.servingTtlMs ? { ttlMs: o.servingTtlMs } : {}),
    onRenewed: (next) => server?.setTlsCredentials(credentials(next, ca.current())),
  });
  const csr = new CsrService({
    ca: ca.current(), authenticator: o.tokens, logger,
    ...(o.trustDomain ? { trustDomain: o.trustDomain } : {}), ...(o.workloadTtlMs ? { ttlMs: o.workloadTtlMs } : {}),
  });
  const unsubscribe = ca.onChange((next, previous) => {
    csr.setCa(next);
    // The bundle first: new handshakes accept client certificates of every root it holds now.
    server?.setTlsCredentials(credentials(renewer.certificate, next));
    if (next.material.signingCertPem !== previous.material.signingCertPem) void renewer.renewNow();
  });
  const authenticator = new PeerAuthenticator({ tokens: o.tokens, logger, ...(o.trustDomain ? { trustDomain: o.trustDomain } : {}) });
  return {
    tls: {
      address: o.address,
      credentials: credentials(renewer.certificate, ca.current()),
      authenticate: authenticator.authenticate,
      streamHandlers: [csrStreamHandler(csr, { logger })],
    },
    csr, authenticator, renewer, ca,
    attach: (s) => { server = s; },
    stop: () => {
      unsubscribe();
      renewer.stop();
    },
  };
}
