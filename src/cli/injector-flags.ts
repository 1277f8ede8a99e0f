// The flags of the sidecar injector, declared once for the three commands that run it —
// `pilotfish webhook`, `pilotfish inject` (offline) and `pilotfish controller` (in-process) — and
// the injector configuration they make. Light on purpose: help for any command, and `inject`,
// load this module, never the injector's server or the Kubernetes client.
import { parseHostPort, parseQuantity } from '../webhook/annotations.js';
import { DEFAULT_INJECTOR_CONFIG, type InjectorConfig } from '../webhook/inject.js';
import {
  DEFAULT_CONTROL_PLANE_NAMESPACE, DEFAULT_INIT_IMAGE, DEFAULT_PROXY_IMAGE, DEFAULT_XDS_ADDRESS, PORT_CONTROL_TLS, PORT_WEBHOOK,
} from '../webhook/injection-names.js';
import type { FlagSpecs } from './command-line.js';
import { logFlags, UsageError } from './flags.js';

const TRUE_FALSE = ['true', 'false'] as const;

/** Flags that shape the injected Pod. */
export const injectorFlagOptions = {
  'xds-address': { type: 'string', arg: 'HOST:PORT', default: DEFAULT_XDS_ADDRESS, help: 'the xDS server injected proxies dial' },
  'ca-address': {
    type: 'string', arg: 'URL', help: 'the control plane\'s TLS port that injected agents dial for certificates and xDS (default: https://<host of --xds-address>:15012)',
  },
  'agent-image': { type: 'string', arg: 'IMAGE', help: 'the pilotfish image the pod agent runs from (default: --init-image)' },
  'agent-cpu': { type: 'string', arg: 'QUANTITY', default: DEFAULT_INJECTOR_CONFIG.agentResources.cpu, help: 'CPU request of the pod agent' },
  'agent-memory': { type: 'string', arg: 'QUANTITY', default: DEFAULT_INJECTOR_CONFIG.agentResources.memory, help: 'memory request of the pod agent' },
  'agent-memory-limit': { type: 'string', arg: 'QUANTITY', default: DEFAULT_INJECTOR_CONFIG.agentResources.memoryLimit, help: 'memory limit of the pod agent ("" for none)' },
  'proxy-image': { type: 'string', arg: 'IMAGE', default: DEFAULT_PROXY_IMAGE, help: 'the Envoy image of the sidecar' },
  'init-image': { type: 'string', arg: 'IMAGE', default: DEFAULT_INIT_IMAGE, help: 'the image of the init step that installs the iptables redirect' },
  'image-pull-policy': {
    type: 'string', arg: 'POLICY', choices: ['Always', 'IfNotPresent', 'Never'], help: 'imagePullPolicy of the injected containers (default: the cluster\'s)',
  },
  'native-sidecars': { type: 'string', arg: 'BOOL', choices: TRUE_FALSE, help: 'inject the proxy as a native sidecar (an init container with restartPolicy Always)' },
  'hold-application-until-proxy-starts': {
    type: 'string', arg: 'BOOL', choices: TRUE_FALSE, default: 'true', help: 'start the app\'s containers only once the proxy is ready',
  },
  'rewrite-app-probes': {
    type: 'string', arg: 'BOOL', choices: TRUE_FALSE, default: 'true', help: 'send the app\'s HTTP probes through the sidecar\'s port 15021',
  },
  'proxy-cpu': { type: 'string', arg: 'QUANTITY', default: DEFAULT_INJECTOR_CONFIG.resources.cpu, help: 'CPU request of the proxy' },
  'proxy-memory': { type: 'string', arg: 'QUANTITY', default: DEFAULT_INJECTOR_CONFIG.resources.memory, help: 'memory request of the proxy' },
  'proxy-cpu-limit': { type: 'string', arg: 'QUANTITY', default: DEFAULT_INJECTOR_CONFIG.resources.cpuLimit, help: 'CPU limit of the proxy ("" for none)' },
  'proxy-memory-limit': { type: 'string', arg: 'QUANTITY', default: DEFAULT_INJECTOR_CONFIG.resources.memoryLimit, help: 'memory limit of the proxy ("" for none)' },
  'proxy-log-level': { type: 'string', arg: 'LEVEL', default: DEFAULT_INJECTOR_CONFIG.proxyLogLevel, help: 'Envoy\'s log level' },
  'proxy-concurrency': { type: 'string', arg: 'N', default: String(DEFAULT_INJECTOR_CONFIG.proxyConcurrency), help: 'Envoy worker threads' },
} as const satisfies FlagSpecs;

export type InjectorFlagValues = { -readonly [K in keyof typeof injectorFlagOptions]?: string };

export function boolFlag(value: string | undefined, name: string, command: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`pilotfish ${command}: --${name} must be true or false (got "${value}")`);
}

/** The injector configuration from flags; `native` is resolved by the caller (it may need the API server). */
export function injectorConfigFromFlags(v: InjectorFlagValues, native: boolean, command: string): InjectorConfig {
  const xds = parseHostPort(v['xds-address'] ?? DEFAULT_XDS_ADDRESS);
  if (!xds.ok) throw new UsageError(`pilotfish ${command}: --xds-address: ${xds.error}`);
  const quantity = (name: keyof InjectorFlagValues, allowEmpty: boolean): string => {
    const text = v[name] ?? '';
    if (allowEmpty && text === '') return '';
    const q = parseQuantity(text);
    if (!q.ok) throw new UsageError(`pilotfish ${command}: --${name}: ${q.error}`);
    return q.value;
  };
  const concurrency = Number(v['proxy-concurrency']);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new UsageError(`pilotfish ${command}: --proxy-concurrency must be a positive integer`);
  }
  const pull = v['image-pull-policy'];
  if (pull !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(pull)) {
    throw new UsageError(`pilotfish ${command}: --image-pull-policy must be Always, IfNotPresent or Never`);
  }
  const caAddress = v['ca-address'] ?? `https://${xds.value.host}:${PORT_CONTROL_TLS}`;
  if (!/^https:\/\/[A-Za-z0-9.-]+:\d{1,5}$/.test(caAddress)) {
    throw new UsageError(`pilotfish ${command}: --ca-address must be https://HOST:PORT (got "${caAddress}")`);
  }
  const initImage = v['init-image'] ?? DEFAULT_INIT_IMAGE;
  return {
    ...DEFAULT_INJECTOR_CONFIG,
    proxyImage: v['proxy-image'] ?? DEFAULT_PROXY_IMAGE,
    initImage,
    agentImage: v['agent-image'] ?? initImage,
    caAddress,
    agentResources: {
      cpu: quantity('agent-cpu', false),
      memory: quantity('agent-memory', false),
      cpuLimit: '',
      memoryLimit: quantity('agent-memory-limit', true),
    },
    imagePullPolicy: pull,
    xds: xds.value,
    nativeSidecars: native,
    holdApplicationUntilProxyStarts: boolFlag(v['hold-application-until-proxy-starts'], 'hold-application-until-proxy-starts', command),
    rewriteAppProbes: boolFlag(v['rewrite-app-probes'], 'rewrite-app-probes', command),
    resources: {
      cpu: quantity('proxy-cpu', false),
      memory: quantity('proxy-memory', false),
      cpuLimit: quantity('proxy-cpu-limit', true),
      memoryLimit: quantity('proxy-memory-limit', true),
    },
    proxyConcurrency: concurrency,
    proxyLogLevel: v['proxy-log-level'] ?? DEFAULT_INJECTOR_CONFIG.proxyLogLevel,
  };
}

/** The injector's server: its address, certificate and the Kubernetes objects it manages. */
export const webhookFlagOptions = {
  ...injectorFlagOptions,
  'webhook-address': { type: 'string', arg: 'HOST:PORT', default: `0.0.0.0:${PORT_WEBHOOK}`, help: 'where the HTTPS AdmissionReview server listens (POST /inject)' },
  'tls-cert-file': { type: 'string', arg: 'FILE', help: 'serving certificate (PEM; reloaded when it changes); without it pilotfish manages its own in a Secret' },
  'tls-key-file': { type: 'string', arg: 'FILE', help: 'its private key (PEM); goes with --tls-cert-file' },
  namespace: { type: 'string', arg: 'NS', default: DEFAULT_CONTROL_PLANE_NAMESPACE, help: 'the control plane\'s namespace (never injected; holds the certificate Secret)' },
  'native-sidecars': {
    type: 'string', arg: 'MODE', choices: ['auto', 'true', 'false'], default: 'auto',
    help: 'native sidecars; auto: when the API server is Kubernetes 1.29 or newer',
  },
  'on-error': { type: 'string', arg: 'ACTION', choices: ['allow', 'deny'], default: 'allow', help: 'what an internal error of the injector does to the Pod' },
  ...logFlags,
  kubernetes: { type: 'string', arg: 'ON|OFF', choices: ['on', 'off'], default: 'on', help: 'use the Kubernetes API (namespace labels, version, certificate Secret)' },
  kubeconfig: { type: 'string', arg: 'FILE', help: 'kubeconfig (default: in-cluster, else $KUBECONFIG, else ~/.kube/config)' },
  'webhook-config-name': { type: 'string', arg: 'NAME', default: 'pilotfish-sidecar-injector', help: 'the MutatingWebhookConfiguration whose caBundle pilotfish keeps current' },
  'tls-secret-name': { type: 'string', arg: 'NAME', default: 'pilotfish-webhook-tls', help: 'the Secret holding the self-managed CA and certificate' },
  'service-name': { type: 'string', arg: 'NAME', default: 'pilotfish', help: 'the Service the API server calls (names in the certificate)' },
  'cert-check-interval-seconds': { type: 'string', arg: 'SECONDS', default: '3600', help: 'how often the self-managed certificate is checked for renewal' },
} as const satisfies FlagSpecs;

/** Extra names or IPs for the self-managed certificate (e.g. 127.0.0.1 when the API server calls a URL). */
export const webhookCertHostsFlag = {
  'webhook-cert-hosts': { type: 'string', arg: 'HOSTS', help: 'more comma-separated names or IPs for the self-managed certificate' },
} as const satisfies FlagSpecs;
