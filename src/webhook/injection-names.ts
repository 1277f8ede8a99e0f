// Every name, port and annotation the injector writes or reads, in one place, so the mutation,
// the decision, the offline CLI and the docs cannot drift apart. Values follow DESIGN.md.

import { PORT_XDS } from '../model/ports.js';

export {
  PROXY_UID, PROXY_GID, PORT_ADMIN, PORT_OUTBOUND, PORT_INBOUND, PORT_READINESS, PORT_METRICS, PORT_XDS,
  PORT_WEBHOOK, PROXY_PORTS,
} from '../model/ports.js';

export const INIT_CONTAINER_NAME = 'pilotfish-init';
export const PROXY_CONTAINER_NAME = 'pilotfish-proxy';

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
export const DEFAULT_CONTROL_PLANE_NAMESPACE = 'pilotfish-system';
export const DEFAULT_PROXY_IMAGE = 'envoyproxy/envoy:v1.34.1';
/** The init step needs `sh` and `iptables-restore`; the pilotfish image ships both. */
export const DEFAULT_INIT_IMAGE = 'ghcr.io/pilotfish/pilotfish:0.1.0';
