// Every name, port and annotation the injector writes or reads, in one place, so the mutation,
// the decision, the offline CLI and the docs cannot drift apart. Values follow DESIGN.md.

import { PORT_XDS } from '../model/ports.js';

export {
  PROXY_UID, PROXY_GID, PORT_ADMIN, PORT_OUTBOUND, PORT_INBOUND, PORT_READINESS, PORT_METRICS, PORT_XDS,
  PORT_WEBHOOK, PROXY_PORTS,
} from '../model/ports.js';

export const INIT_CONTAINER_NAME = 'pilotfish-init';
export const PROXY_CONTAINER_NAME = 'pilotfish-proxy';
/** The pod agent (`pilotfish agent`): certificates, SDS and the xDS connection of the pod. */
export const AGENT_CONTAINER_NAME = 'pilotfish-agent';

/** The agent's status endpoint (readiness probe); never captured by the inbound redirect. */
export const PORT_AGENT_STATUS = 15020;
/** The control plane's TLS port: xDS and the CSR service for agents (mutual TLS or a token). */
export const PORT_CONTROL_TLS = 15012;

/** Volumes the injector adds, and where they are mounted. */
export const VOLUME_AGENT_RUN = 'pilotfish-run';
export const VOLUME_AGENT_TOKEN = 'pilotfish-token';
export const VOLUME_CA_ROOT = 'pilotfish-ca-root';
/** Shared by the agent and its clients: xds.sock, sds.sock and certs/ (in memory: a private key lives there). */
export const AGENT_RUN_DIR = '/var/run/pilotfish';
export const AGENT_XDS_SOCKET = `${AGENT_RUN_DIR}/xds.sock`;
export const AGENT_SDS_SOCKET = `${AGENT_RUN_DIR}/sds.sock`;
export const AGENT_CERTS_DIR = `${AGENT_RUN_DIR}/certs`;
export const AGENT_TOKEN_DIR = '/var/run/secrets/tokens';
export const AGENT_TOKEN_PATH = 'pilotfish-token';
/** The audience the CSR service's TokenReview asks for: a token for the API server is refused. */
export const AGENT_TOKEN_AUDIENCE = 'pilotfish';
export const AGENT_TOKEN_SECONDS = 3600;
export const CA_ROOT_DIR = '/var/run/secrets/pilotfish';
/** The ConfigMap the lease holder publishes into every injected namespace (Istio: istio-ca-root-cert). */
export const ROOT_CERT_CONFIGMAP = 'pilotfish-ca-root-cert';
export const ROOT_CERT_KEY = 'root-cert.pem';

/**
 * `grpc`: a proxyless gRPC pod. It gets the agent only (no Envoy, no redirect); its app
 * containers mount the agent's directory to dial xds.sock and read the certificate files.
 */
export const ANNOTATION_PROXY_KIND = 'proxy.pilotfish.io/kind';
export const PROXY_KIND_GRPC = 'grpc';

export const NAMESPACE_INJECT_LABEL = 'pilotfish.io/inject';
export const NAMESPACE_INJECT_ENABLED = 'enabled';
export const POD_INJECT_LABEL = 'sidecar.pilotfish.io/inject';

/** Records what the injector added, so a second invocation can strip it and inject afresh. */
export const STATUS_ANNOTATION = 'sidecar.pilotfish.io/status';

export const ANNOTATION_PROXY_CPU = 'sidecar.pilotfish.io/proxyCPU';
export const ANNOTATION_PROXY_MEMORY = 'sidecar.pilotfish.io/proxyMemory';
export const ANNOTATION_PROXY_CPU_LIMIT = 'sidecar.pilotfish.io/proxyCPULimit';
export const ANNOTATION_PROXY_MEMORY_LIMIT = 'sidecar.pilotfish.io/proxyMemoryLimit';
export const ANNOTATION_PROXY_IMAGE = 'sidecar.pilotfish.io/proxyImage';
export const ANNOTATION_AGENT_CPU = 'sidecar.pilotfish.io/agentCPU';
export const ANNOTATION_AGENT_MEMORY = 'sidecar.pilotfish.io/agentMemory';
export const ANNOTATION_AGENT_CPU_LIMIT = 'sidecar.pilotfish.io/agentCPULimit';
export const ANNOTATION_AGENT_MEMORY_LIMIT = 'sidecar.pilotfish.io/agentMemoryLimit';
export const ANNOTATION_HOLD = 'sidecar.pilotfish.io/holdApplicationUntilProxyStarts';
export const ANNOTATION_REWRITE_PROBES = 'sidecar.pilotfish.io/rewriteAppHTTPProbers';

export const ANNOTATION_INCLUDE_OUTBOUND_IP_RANGES = 'traffic.sidecar.pilotfish.io/includeOutboundIPRanges';
export const ANNOTATION_EXCLUDE_OUTBOUND_IP_RANGES = 'traffic.sidecar.pilotfish.io/excludeOutboundIPRanges';
export const ANNOTATION_EXCLUDE_OUTBOUND_PORTS = 'traffic.sidecar.pilotfish.io/excludeOutboundPorts';
export const ANNOTATION_INCLUDE_INBOUND_PORTS = 'traffic.sidecar.pilotfish.io/includeInboundPorts';
export const ANNOTATION_EXCLUDE_INBOUND_PORTS = 'traffic.sidecar.pilotfish.io/excludeInboundPorts';

/** kubectl picks this container for logs/exec; the app, not the proxy, is what users mean. */
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

/** Path prefix on the readiness port under which the app's HTTP probes are proxied. */
export const APP_HEALTH_PREFIX = '/app-health';
export const READINESS_PATH = '/healthz/ready';

/** Names of the downward-API env vars of the proxy container, used through Kubernetes `$(VAR)` expansion. */
export const ENV_POD_NAME = 'POD_NAME';
export const ENV_POD_NAMESPACE = 'POD_NAMESPACE';
export const ENV_INSTANCE_IP = 'INSTANCE_IP';
export const ENV_SERVICE_ACCOUNT = 'SERVICE_ACCOUNT';

export const DEFAULT_XDS_ADDRESS = `pilotfish.pilotfish-system.svc:${PORT_XDS}`;
export const DEFAULT_CA_ADDRESS = `https://pilotfish.pilotfish-system.svc:${PORT_CONTROL_TLS}`;
export const DEFAULT_CONTROL_PLANE_NAMESPACE = 'pilotfish-system';
export const DEFAULT_PROXY_IMAGE = 'envoyproxy/envoy:v1.34.1';
/** The init step needs `sh` and `iptables-restore`; the pilotfish image ships both (and the agent). */
export const DEFAULT_INIT_IMAGE = 'ghcr.io/pilotfish/pilotfish:0.1.0';
