// The Envoy sidecar container. Its bootstrap is passed inline (`--config-yaml`) with the pod's
// identity as Kubernetes `$(VAR)` references to downward-API env vars, so every replica of a
// template gets the same container spec and no per-pod ConfigMap exists.
import type { V1Container, V1EnvVar, V1Probe, V1ResourceRequirements, V1VolumeMount } from '@kubernetes/client-node';
import type { JsonObject } from './envoy-bootstrap.js';
import {
  ENV_INSTANCE_IP, ENV_POD_NAME, ENV_POD_NAMESPACE, ENV_SERVICE_ACCOUNT, PORT_METRICS, PORT_READINESS,
  PROXY_CONTAINER_NAME, PROXY_GID, PROXY_UID, READINESS_PATH,
} from './injection-names.js';

interface ProxyContainerOptions {
  readonly image: string;
  readonly imagePullPolicy?: string;
  /** The `--config-yaml` argument: bootstrapArgument() of the sidecar's bootstrap. */
  readonly bootstrapArgument: string;
  readonly resources: V1ResourceRequirements;
  /** Native sidecar: an init container with restartPolicy Always (Kubernetes >= 1.29). */
  readonly native: boolean;
  /** Regular-container mode only: block the app's start until the proxy is ready. */
  readonly holdUntilReady: boolean;
  readonly concurrency: number;
  readonly logLevel: string;
  /** The pod agent's directory: Envoy dials its xDS and SDS sockets there. */
  readonly volumeMounts?: readonly V1VolumeMount[];
}

function downwardEnv(): V1EnvVar[] {
  const field = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });
  return [
    field(ENV_POD_NAME, 'metadata.name'),
    field(ENV_POD_NAMESPACE, 'metadata.namespace'),
    field(ENV_INSTANCE_IP, 'status.podIP'),
    field(ENV_SERVICE_ACCOUNT, 'spec.serviceAccountName'),
  ];
}

/**
 * Bash (the Envoy image has it) waits until the readiness port answers 200. It avoids `$(`
 * because Kubernetes would try to expand it, and needs no curl in the image.
 */
export function holdScript(port: number = PORT_READINESS, tries = 600): string {
  return [
    'i=0',
    `while [ "$i" -lt ${tries} ]; do`,
    `  if (exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET ${READINESS_PATH} HTTP/1.0\\r\\n\\r\\n' >&3 && read -r line <&3 && [[ "$line" == *" 200 "* ]]) 2>/dev/null; then exit 0; fi`,
    '  sleep 0.5',
    '  ((i+=1))',
    'done',
    `echo "${PROXY_CONTAINER_NAME} did not become ready" >&2`,
    'exit 1',
  ].join('\n');
}

function readinessProbe(periodSeconds: number, failureThreshold: number): V1Probe {
  return {
    httpGet: { path: READINESS_PATH, port: PORT_READINESS, scheme: 'HTTP' },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 3,
  };
}

/**
 * Kubernetes expands `$(VAR)` in args and turns `$$` into `$`; the bootstrap's only intended
 * references are the downward-API vars, so any other `$` is doubled to reach Envoy unchanged.
 */
const KEEP_REFERENCES = new Set([ENV_POD_NAME, ENV_POD_NAMESPACE, ENV_INSTANCE_IP, ENV_SERVICE_ACCOUNT]);

export function escapeExpansion(text: string): string {
  return text.replace(/\$(\(([A-Za-z_][A-Za-z0-9_]*)\))?/g, (m: string, _ref: string | undefined, name: string | undefined) =>
    (name !== undefined && KEEP_REFERENCES.has(name) ? m : `$${m}`));
}

/** The bootstrap as Envoy's `--config-yaml` argument (JSON is YAML), escaped for Kubernetes. */
export function bootstrapArgument(bootstrap: JsonObject): string {
  return escapeExpansion(JSON.stringify(bootstrap));
}

export function proxyContainer(o: ProxyContainerOptions): V1Container {
  const c: V1Container = {
    name: PROXY_CONTAINER_NAME,
    image: o.image,
    command: ['envoy'],
    args: [
      '--config-yaml', o.bootstrapArgument,
      '--log-level', o.logLevel,
      '--concurrency', String(o.concurrency),
      '--disable-hot-restart',
    ],
    env: downwardEnv(),
    ports: [{ name: 'http-envoy-prom', containerPort: PORT_METRICS, protocol: 'TCP' }],
    resources: o.resources,
    readinessProbe: readinessProbe(2, 30),
    // Generous: the proxy is ready only once the control plane sent its first configuration.
    startupProbe: readinessProbe(1, 600),
    securityContext: {
      runAsUser: PROXY_UID,
      runAsGroup: PROXY_GID,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    },
  };
  if (o.imagePullPolicy) c.imagePullPolicy = o.imagePullPolicy;
  if (o.volumeMounts && o.volumeMounts.length > 0) c.volumeMounts = [...o.volumeMounts];
  if (o.native) {
    // A restartable init container starts (and passes its startup probe) before the next init
    // container and the app, and does not keep a Job from completing.
    c.restartPolicy = 'Always';
  } else if (o.holdUntilReady) {
    c.lifecycle = { postStart: { exec: { command: ['bash', '-c', holdScript()] } } };
  }
  return c;
}
