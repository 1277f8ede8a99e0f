// The control plane's TLS port (15012) assembled from the security pieces: the serving
// certificate from the mesh CA (renewed at half its life), client certificates verified against
// the mesh trust bundle, streams authenticated by certificate or token (PeerAuthenticator), and
// the CSR endpoint on the same port, answered before gRPC dispatch.
import type { Logger } from '../logging.js';
import type { XdsServer, XdsTlsOptions } from '../xds/server/index.js';
import type { GrpcTlsCredentials } from '../xds/server/grpc/server.js';
import type { MeshCa, ServingCertificate } from './ca/mesh-ca.js';
import { CsrService } from './csr/csr-service.js';
import { csrStreamHandler } from './csr/http2-handler.js';
import type { TokenAuthenticator } from './csr/token-authenticator.js';
import { PeerAuthenticator } from './peer-authenticator.js';
import { ServingCertificateRenewer } from './serving-certificate.js';

interface SecureXdsPortOptions {
  /** host:port to listen on. */
  readonly address: string;
  readonly ca: MeshCa;
  readonly trustDomain?: string;
  readonly tokens: TokenAuthenticator;
  /** Names (DNS or IP) the serving certificate carries. */
  readonly hosts: readonly string[];
  readonly logger: Logger;
  /** Lifetime of the serving certificate; default the CA's (24 h). */
  readonly servingTtlMs?: number;
}

export interface SecureXdsPort {
  /** To pass to startXdsServer as `tls`. */
  readonly tls: XdsTlsOptions;
  readonly csr: CsrService;
  readonly authenticator: PeerAuthenticator;
  readonly renewer: ServingCertificateRenewer;
  /** The mesh's trust bundle (PEM, every root the CA trusts), as the CA holds it now. */
  trustBundle(): string;
  /** The server renewed certificates are installed into. */
  attach(server: XdsServer): void;
  stop(): void;
}

function credentials(serving: ServingCertificate, ca: MeshCa): GrpcTlsCredentials {
  return { key: serving.keyPem, cert: serving.certChain.join(''), ca: ca.trustBundle.join('') };
}

export async function secureXdsPort(o: SecureXdsPortOptions): Promise<SecureXdsPort> {
  const logger = o.logger.child({ component: 'xds-tls' });
  let server: XdsServer | undefined;
  const renewer = await ServingCertificateRenewer.start({
    ca: () => o.ca, hosts: o.hosts, logger, ...(o.servingTtlMs ? { ttlMs: o.servingTtlMs } : {}),
    onRenewed: (next) => server?.setTlsCredentials(credentials(next, o.ca)),
  });
  const csr = new CsrService({ ca: o.ca, authenticator: o.tokens, logger, ...(o.trustDomain ? { trustDomain: o.trustDomain } : {}) });
  const authenticator = new PeerAuthenticator({ tokens: o.tokens, logger, ...(o.trustDomain ? { trustDomain: o.trustDomain } : {}) });
  return {
    tls: {
      address: o.address,
      credentials: credentials(renewer.certificate, o.ca),
      authenticate: authenticator.authenticate,
      streamHandlers: [csrStreamHandler(csr, { logger })],
    },
    csr, authenticator, renewer,
    trustBundle: () => o.ca.trustBundle.join(''),
    attach: (s) => { server = s; },
    stop: () => renewer.stop(),
  };
}
