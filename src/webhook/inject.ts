// The mutation: Pod in, injected Pod out. Pure (the input is never modified; the output shares the
// parts it does not change with the input, and its two added containers, frozen, with other Pods'
// outputs, so neither may be modified afterwards) and deterministic,
// so the offline `pilotfish inject` and the webhook give byte-identical results, and injecting
// an injected Pod gives the same Pod again (the previous injection is stripped first).
import { TLS_MODE_LABEL, TLS_MODE_SIDECAR } from '../model/server-kind.js';
import type { V1Container, V1ObjectMeta, V1Pod, V1PodSpec, V1ResourceRequirements } from '@kubernetes/client-node';
import {
  parseBool, parseCidrList, parseCidrSelection, parsePortList, parsePortSelection, parseQuantity,
  type Parsed,
} from './annotations.js';
import { sidecarBootstrap, sidecarNodeId } from './envoy-bootstrap.js';
import {
  ANNOTATION_EXCLUDE_INBOUND_PORTS, ANNOTATION_EXCLUDE_OUTBOUND_IP_RANGES, ANNOTATION_EXCLUDE_OUTBOUND_PORTS,
  ANNOTATION_HOLD, ANNOTATION_INCLUDE_INBOUND_PORTS, ANNOTATION_INCLUDE_OUTBOUND_IP_RANGES,
  ANNOTATION_PROXY_CPU, ANNOTATION_PROXY_CPU_LIMIT, ANNOTATION_PROXY_IMAGE, ANNOTATION_PROXY_MEMORY,
  ANNOTATION_PROXY_MEMORY_LIMIT, ANNOTATION_REWRITE_PROBES, DEFAULT_CONTAINER_ANNOTATION, DEFAULT_INIT_IMAGE,
  DEFAULT_PROXY_IMAGE, ENV_INSTANCE_IP, ENV_POD_NAME, ENV_POD_NAMESPACE, ENV_SERVICE_ACCOUNT,
  INIT_CONTAINER_NAME, PORT_XDS, PROXY_CONTAINER_NAME, STATUS_ANNOTATION,
} from './injection-names.js';
import { rewriteAppProbes } from './probes.js';
import { DEFAULT_REDIRECT, initContainer, type RedirectConfig } from './redirect.js';
import { frozenWithJson } from './frozen-json.js';
import { BoundedMemo } from './memo.js';
import { bootstrapArgument, proxyContainer } from './sidecar.js';
import { formatStatus, stripInjection, type InjectionStatus } from './status.js';

export interface ProxyResources {
  readonly cpu: string;
  readonly memory: string;
  /** Empty string: no limit. */
  readonly cpuLimit: string;
  readonly memoryLimit: string;
}

export interface InjectorConfig {
  readonly proxyImage: string;
  readonly initImage: string;
  readonly imagePullPolicy?: string;
  readonly xds: { readonly host: string; readonly port: number };
  readonly nativeSidecars: boolean;
  readonly holdApplicationUntilProxyStarts: boolean;
  readonly rewriteAppProbes: boolean;
  readonly resources: ProxyResources;
  /** Defaults for the redirect; pod annotations override each part. */
  readonly redirect: RedirectConfig;
  readonly proxyConcurrency: number;
  readonly proxyLogLevel: string;
}

export const DEFAULT_INJECTOR_CONFIG: InjectorConfig = {
  proxyImage: DEFAULT_PROXY_IMAGE,
  initImage: DEFAULT_INIT_IMAGE,
  xds: { host: 'pilotfish.pilotfish-system.svc', port: PORT_XDS },
  nativeSidecars: true,
  holdApplicationUntilProxyStarts: true,
  rewriteAppProbes: true,
  resources: { cpu: '100m', memory: '128Mi', cpuLimit: '2', memoryLimit: '1Gi' },
  redirect: DEFAULT_REDIRECT,
  proxyConcurrency: 2,
  proxyLogLevel: 'warning',
};

export interface InjectionResult {
  readonly pod: V1Pod;
  /** Problems with the Pod's annotations or probes; the injection went ahead with defaults. */
  readonly warnings: readonly string[];
}

// Quantities compared as numbers only to catch request > limit, which the API server rejects.
const SUFFIX_FACTOR: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

export function quantityValue(q: string): number {
  const m = /^(\d+(?:\.\d*)?|\.\d+)(.*)$/.exec(q);
  if (!m) return NaN;
  const suffix = m[2];
  if (/^[eE][+-]?\d+$/.test(suffix)) return Number(m[1]) * 10 ** Number(suffix.slice(1));
  const f = SUFFIX_FACTOR[suffix];
  return f === undefined ? NaN : Number(m[1]) * f;
}

class AnnotationReader {
  readonly warnings: string[] = [];
  constructor(private readonly annotations: Readonly<Record<string, string>>) {}

  /** The parsed annotation, or the fallback with a warning naming the annotation and the reason. */
  read<T>(name: string, parse: (text: string) => Parsed<T>, fallback: T): T {
    const text = this.annotations[name];
    if (text === undefined) return fallback;
    const parsed = parse(text);
    if (parsed.ok) return parsed.value;
    this.warnings.push(`annotation ${name} ignored: ${parsed.error}`);
    return fallback;
  }
}

function redirectFor(r: AnnotationReader, d: RedirectConfig): RedirectConfig {
  return {
    ...d,
    includeOutboundIPRanges: r.read(ANNOTATION_INCLUDE_OUTBOUND_IP_RANGES, parseCidrSelection, d.includeOutboundIPRanges),
    excludeOutboundIPRanges: r.read(ANNOTATION_EXCLUDE_OUTBOUND_IP_RANGES, parseCidrList, d.excludeOutboundIPRanges),
    excludeOutboundPorts: r.read(ANNOTATION_EXCLUDE_OUTBOUND_PORTS, parsePortList, d.excludeOutboundPorts),
    includeInboundPorts: r.read(ANNOTATION_INCLUDE_INBOUND_PORTS, parsePortSelection, d.includeInboundPorts),
    excludeInboundPorts: r.read(ANNOTATION_EXCLUDE_INBOUND_PORTS, parsePortList, d.excludeInboundPorts),
  };
}

function resourcesFor(r: AnnotationReader, d: ProxyResources): V1ResourceRequirements {
  const quantity = (name: string, fallback: string): string => r.read(name, parseQuantity, fallback);
  // An empty limit annotation removes the limit.
  const limit = (name: string, fallback: string): string =>
    r.read(name, (t) => (t.trim() === '' ? { ok: true, value: '' } : parseQuantity(t)), fallback);
  const cpu = quantity(ANNOTATION_PROXY_CPU, d.cpu);
  const memory = quantity(ANNOTATION_PROXY_MEMORY, d.memory);
  let cpuLimit = limit(ANNOTATION_PROXY_CPU_LIMIT, d.cpuLimit);
  let memoryLimit = limit(ANNOTATION_PROXY_MEMORY_LIMIT, d.memoryLimit);
  if (cpuLimit !== '' && quantityValue(cpu) > quantityValue(cpuLimit)) {
    r.warnings.push(`proxy cpu request ${cpu} exceeds its limit ${cpuLimit}; limit raised to ${cpu}`);
    cpuLimit = cpu;
  }
  if (memoryLimit !== '' && quantityValue(memory) > quantityValue(memoryLimit)) {
    r.warnings.push(`proxy memory request ${memory} exceeds its limit ${memoryLimit}; limit raised to ${memory}`);
    memoryLimit = memory;
  }
  const out: V1ResourceRequirements = { requests: { cpu, memory } };
  const limits: Record<string, string> = {};
  if (cpuLimit !== '') limits.cpu = cpuLimit;
  if (memoryLimit !== '') limits.memory = memoryLimit;
  if (Object.keys(limits).length > 0) out.limits = limits;
  return out;
}

const ref = (name: string): string => `$(${name})`;

/** `--config-yaml` arguments by what the bootstrap is made of (xDS address, pod labels, probe routes). */
const BOOTSTRAP_ARGUMENTS = new BoundedMemo<string>(256);
/** The containers, frozen (see frozen-json.ts), by everything they are made of. */
const INIT_CONTAINERS = new BoundedMemo<V1Container>(256);
const PROXY_CONTAINERS = new BoundedMemo<V1Container>(256);

/**
 * Injects the sidecar. The caller has decided that the Pod is to be injected (decision.ts);
 * a Pod that was injected before is stripped first. Throws only if an existing status
 * annotation cannot be read.
 */
export function injectPod(input: V1Pod, config: InjectorConfig): InjectionResult {
  const pod = stripInjection(input);
  // Shallow copies: only these two objects and what is assigned to them below are new; every part
  // of the Pod that the injection does not change is shared with the input (cloning the whole Pod
  // was most of an admission's CPU, and shared parts let the patch skip them by identity).
  const metadata: V1ObjectMeta = { ...(pod.metadata ?? {}) };
  const spec: V1PodSpec = { ...(pod.spec ?? { containers: [] }) };
  const reader = new AnnotationReader(metadata.annotations ?? {});

  const redirect = redirectFor(reader, config.redirect);
  const resources = resourcesFor(reader, config.resources);
  const hold = reader.read(ANNOTATION_HOLD, parseBool, config.holdApplicationUntilProxyStarts);
  const rewrite = reader.read(ANNOTATION_REWRITE_PROBES, parseBool, config.rewriteAppProbes);
  const image = metadata.annotations?.[ANNOTATION_PROXY_IMAGE]?.trim() || config.proxyImage;

  const probes = rewrite
    ? rewriteAppProbes(spec.containers)
    : { containers: spec.containers, routes: [], originals: {}, warnings: [] };
  const labels = metadata.labels ?? {};
  const app = labels['app'] ?? labels['app.kubernetes.io/name'] ?? ref(ENV_SERVICE_ACCOUNT);
  // The bootstrap depends on nothing else, and serialising it was the largest part of an injection.
  const bootstrapKey = JSON.stringify([config.xds.host, config.xds.port, labels, probes.routes]);
  const bootstrap = BOOTSTRAP_ARGUMENTS.get(bootstrapKey, () => bootstrapArgument(sidecarBootstrap({
    nodeId: sidecarNodeId(ref(ENV_INSTANCE_IP), ref(ENV_POD_NAME), ref(ENV_POD_NAMESPACE)),
    cluster: `${app}.${ref(ENV_POD_NAMESPACE)}`,
    namespace: ref(ENV_POD_NAMESPACE),
    podName: ref(ENV_POD_NAME),
    instanceIp: ref(ENV_INSTANCE_IP),
    serviceAccount: ref(ENV_SERVICE_ACCOUNT),
    labels,
    xds: config.xds,
    appAddress: ref(ENV_INSTANCE_IP),
    appProbes: probes.routes,
  })));

  // Both containers are the same for every replica of a workload: built once, frozen, and shared.
  const initKey = JSON.stringify([config.initImage, config.imagePullPolicy, redirect]);
  const init = INIT_CONTAINERS.get(initKey, () => frozenWithJson(initContainer({ image: config.initImage, imagePullPolicy: config.imagePullPolicy, redirect })));
  const proxyKey = JSON.stringify([image, config.imagePullPolicy, bootstrapKey, resources, config.nativeSidecars, hold, config.proxyConcurrency, config.proxyLogLevel]);
  const proxy = PROXY_CONTAINERS.get(proxyKey, () => frozenWithJson(proxyContainer({
    image,
    imagePullPolicy: config.imagePullPolicy,
    bootstrapArgument: bootstrap,
    resources,
    native: config.nativeSidecars,
    holdUntilReady: hold,
    concurrency: config.proxyConcurrency,
    logLevel: config.proxyLogLevel,
  })));

  const userInit = spec.initContainers ?? [];
  const added: string[] = [];
  let initContainers: V1Container[];
  let containers: V1Container[];
  if (config.nativeSidecars) {
    // The proxy runs before the user's init containers, so they are in the mesh too.
    initContainers = [init, proxy, ...userInit];
    containers = probes.containers;
  } else {
    // Without native sidecars nothing would serve the redirect while the user's init containers
    // run, so the redirect is installed after them, and the proxy is the first app container.
    initContainers = [...userInit, init];
    containers = [proxy, ...probes.containers];
    const annotations = metadata.annotations ?? {};
    if (annotations[DEFAULT_CONTAINER_ANNOTATION] === undefined) {
      metadata.annotations = { ...annotations, [DEFAULT_CONTAINER_ANNOTATION]: probes.containers[0].name };
      added.push(DEFAULT_CONTAINER_ANNOTATION);
    }
  }

  const status: InjectionStatus = {
    version: 1,
    initContainers: config.nativeSidecars ? [INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME] : [INIT_CONTAINER_NAME],
    containers: config.nativeSidecars ? [] : [PROXY_CONTAINER_NAME],
    annotations: added,
    probes: probes.originals,
  };
  metadata.annotations = { ...(metadata.annotations ?? {}), [STATUS_ANNOTATION]: formatStatus(status) };
  // The controller keeps only labels of Pods: this is how it learns that the Pod's endpoints
  // terminate mTLS (model/server-kind.ts). Set after the bootstrap, which describes the app's labels.
  metadata.labels = { ...(metadata.labels ?? {}), [TLS_MODE_LABEL]: TLS_MODE_SIDECAR };
  spec.initContainers = initContainers;
  spec.containers = containers;

  const out: V1Pod = { ...pod, metadata, spec };
  return { pod: out, warnings: [...reader.warnings, ...probes.warnings] };
}
