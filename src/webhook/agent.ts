// The pod agent's container and the volumes it shares (src/agent/README.md, "Wiring"): the one
// process of a pod that talks to the control plane. It makes the workload's key, gets it signed
// with the pod's projected token, serves SDS and proxies xDS on Unix sockets, and writes the
// certificate files proxyless gRPC reads. Pure builders: the same inputs give the same objects.
import type { V1Container, V1Probe, V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import {
  AGENT_CERTS_DIR, AGENT_CONTAINER_NAME, AGENT_RUN_DIR, AGENT_SDS_SOCKET, AGENT_TOKEN_AUDIENCE, AGENT_TOKEN_DIR,
  AGENT_TOKEN_PATH, AGENT_TOKEN_SECONDS, AGENT_XDS_SOCKET, CA_ROOT_DIR, ENV_POD_NAMESPACE, ENV_SERVICE_ACCOUNT,
  PORT_AGENT_STATUS, READINESS_PATH, ROOT_CERT_CONFIGMAP, ROOT_CERT_KEY, VOLUME_AGENT_RUN, VOLUME_AGENT_TOKEN,
  VOLUME_CA_ROOT,
} from './injection-names.js';

interface AgentContainerOptions {
  readonly image: string;
  readonly imagePullPolicy?: string;
  /** `https://host:port` of the control plane's TLS port (xDS and CSRs). */
  readonly caAddress: string;
  readonly resources: V1ResourceRequirements;
  /** Native sidecar: an init container with restartPolicy Always, started before the proxy. */
  readonly native: boolean;
  /** Proxyless pods have no Envoy: no SDS socket is served. */
  readonly sds: boolean;
  /** The UID (and GID) the agent runs as: its sockets and key.pem are 0600, readable by that user only. */
  readonly runAsUser: number;
  readonly runAsGroup: number;
}

/** Every volume of an injected pod: the shared directory, the token and the mesh's roots. */
export function agentVolumes(): V1Volume[] {
  return [
    // Memory: key.pem is written here and must never reach the node's disk.
    { name: VOLUME_AGENT_RUN, emptyDir: { medium: 'Memory' } },
    {
      name: VOLUME_AGENT_TOKEN,
      projected: {
        sources: [{
          serviceAccountToken: { audience: AGENT_TOKEN_AUDIENCE, expirationSeconds: AGENT_TOKEN_SECONDS, path: AGENT_TOKEN_PATH },
        }],
      },
    },
    { name: VOLUME_CA_ROOT, configMap: { name: ROOT_CERT_CONFIGMAP, items: [{ key: ROOT_CERT_KEY, path: ROOT_CERT_KEY }] } },
  ];
}

/** What Envoy (or a proxyless app container) mounts to reach the agent's sockets and files. */
export function agentRunMount(): V1VolumeMount {
  return { name: VOLUME_AGENT_RUN, mountPath: AGENT_RUN_DIR };
}

function statusProbe(periodSeconds: number, failureThreshold: number): V1Probe {
  return {
    httpGet: { path: READINESS_PATH, port: PORT_AGENT_STATUS, scheme: 'HTTP' },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 3,
  };
}

const ref = (name: string): string => `$(${name})`;

export function agentContainer(o: AgentContainerOptions): V1Container {
  const field = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });
  const c: V1Container = {
    name: AGENT_CONTAINER_NAME,
    image: o.image,
    command: ['pilotfish'],
    args: [
      'agent',
      '--ca-address', o.caAddress,
      '--namespace', ref(ENV_POD_NAMESPACE),
      '--service-account', ref(ENV_SERVICE_ACCOUNT),
      '--token-file', `${AGENT_TOKEN_DIR}/${AGENT_TOKEN_PATH}`,
      '--root-cert-file', `${CA_ROOT_DIR}/${ROOT_CERT_KEY}`,
      '--output-dir', AGENT_CERTS_DIR,
      '--xds-socket', AGENT_XDS_SOCKET,
      '--sds-socket', o.sds ? AGENT_SDS_SOCKET : '',
      // The kubelet probes the pod IP, not loopback. What the endpoint shows (identity, serial,
      // expiry) any peer sees in a handshake anyway; no key material.
      '--status-address', `0.0.0.0:${PORT_AGENT_STATUS}`,
    ],
    env: [field(ENV_POD_NAMESPACE, 'metadata.namespace'), field(ENV_SERVICE_ACCOUNT, 'spec.serviceAccountName')],
    ports: [{ name: 'agent-status', containerPort: PORT_AGENT_STATUS, protocol: 'TCP' }],
    resources: o.resources,
    readinessProbe: statusProbe(5, 3),
    // Ready means "holds a valid certificate": the first one needs the control plane, hence generous.
    startupProbe: statusProbe(1, 600),
    volumeMounts: [
      agentRunMount(),
      { name: VOLUME_AGENT_TOKEN, mountPath: AGENT_TOKEN_DIR, readOnly: true },
      { name: VOLUME_CA_ROOT, mountPath: CA_ROOT_DIR, readOnly: true },
    ],
    securityContext: {
      runAsUser: o.runAsUser,
      runAsGroup: o.runAsGroup,
      runAsNonRoot: o.runAsUser !== 0,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    },
  };
  if (o.imagePullPolicy) c.imagePullPolicy = o.imagePullPolicy;
  // A restartable init container is started, and passes its startup probe, before the next one
  // (the proxy) starts: Envoy finds the sockets there and a certificate behind them.
  if (o.native) c.restartPolicy = 'Always';
  return c;
}
