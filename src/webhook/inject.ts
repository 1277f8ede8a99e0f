// The mutation: Pod in, injected Pod out. Pure (the input is never modified; the output shares the
// parts it does not change with the input, and its two added containers, frozen, with other Pods'
// outputs, so neither may be modified afterwards) and deterministic,
// so the offline `pilotfish inject` and the webhook give byte-identical results, and injecting
// an injected Pod gives the same Pod again (the previous injection is stripped first).
import { TLS_MODE_LABEL, TLS_MODE_SIDECAR } from '../model/server-kind.js';
import type { V1Container, V1ObjectMeta, V1Pod, V1PodSpec, V1ResourceRequirements } from '@kubernetes/client-node';
import { agentContainer, agentRunMount, agentVolumes } from './agent.js';
import {
  parseBool, parseCidrList, parseCidrSelection, parsePortList, parsePortSelection, parseQuantity,
  type Parsed,
} from './annotations.js';
import { sidecarBootstrap, sidecarNodeId } from './envoy-bootstrap.js';
import {
  AGENT_CONTAINER_NAME, AGENT_SDS_SOCKET, AGENT_XDS_SOCKET, ANNOTATION_AGENT_CPU, ANNOTATION_AGENT_CPU_LIMIT,
  ANNOTATION_AGENT_MEMORY, ANNOTATION_AGENT_MEMORY_LIMIT, ANNOTATION_PROXY_KIND, DEFAULT_CA_ADDRESS, PROXY_GID,
  PROXY_KIND_GRPC, PROXY_UID, VOLUME_AGENT_RUN, VOLUME_AGENT_TOKEN, VOLUME_CA_ROOT,
  ANNOTATION_EXCLUDE_INBOUND_PORTS, ANNOTATION_EXCLUDE_OUTBOUND_IP_RANGES, ANNOTATION_EXCLUDE_OUTBOUND_PORTS,
  ANNOTATION_HOLD, ANNOTATION_INCLUDE_INBOUND_PORTS, ANNOTATION_INCLUDE_OUTBOUND_IP_RANGES,
  ANNOTATION_PROXY_CPU, ANNOTATION_PROXY_CPU_LIMIT, ANNOTATION_PROXY_IMAGE, ANNOTATION_PROXY_MEMORY,
  ANNOTATION_PROXY_MEMORY_LIMIT, ANNOTATION_REWRITE_PROBES, DEFAULT_CONTAINER_ANNOTATION, DEFAULT_INIT_IMAGE,
  DEFAULT_PROXY_IMAGE, ENV_INSTANCE_IP, ENV_POD_NAME, ENV_POD_NAMESPACE, ENV_SERVICE_ACCOUNT,
  INIT_CONTAINER_NAME, PORT_XDS, PROXY_CONTAINER_NAME, STATUS_ANNOTATION,
} from './injection-names.js';
import { rewriteAppProbes } from './probes.js';
import { DEFAULT_REDIRECT, initContainer, type RedirectConfig } from './redirect.js';
import { InjectionMemo } from './injection-memo.js';
import { bootstrapArgument, proxyContainer } from './sidecar.js';
import { formatStatus, stripInjection, type InjectionStatus } from './status.js';

interface ProxyResources {
  readonly cpu: string;
  readonly memory: string;
  /** Empty string: no limit. */
  readonly cpuLimit: string;
  readonly memoryLimit: string;
}

export interface InjectorConfig {
  readonly proxyImage: string;
  readonly initImage: string;
  /** The pilotfish image, run as `pilotfish agent`. */
  readonly agentImage: string;
  readonly imagePullPolicy?: string;
  /** Only for `pilotfish bootstrap`-style plaintext xDS; injected proxies reach xDS through the agent. */
  readonly xds: { readonly host: string; readonly port: number };
  /** `https://host:port` of the control plane's TLS port, which every agent dials. */
  readonly caAddress: string;
  readonly nativeSidecars: boolean;
  readonly holdApplicationUntilProxyStarts: boolean;
  readonly rewriteAppProbes: boolean;
  readonly resources: ProxyResources;
  readonly agentResources: ProxyResources;
  /** Defaults for the redirect; pod annotations override each part. */
  readonly redirect: RedirectConfig;
  readonly proxyConcurrency: number;
  readonly proxyLogLevel: string;
}

export const DEFAULT_INJECTOR_CONFIG: InjectorConfig = {
  proxyImage: DEFAULT_PROXY_IMAGE,
  initImage: DEFAULT_INIT_IMAGE,
  agentImage: DEFAULT_INIT_IMAGE,
  xds: { host: 'pilotfish.pilotfish-system.svc', port: PORT_XDS },
  caAddress: DEFAULT_CA_ADDRESS,
  nativeSidecars: true,
  holdApplicationUntilProxyStarts: true,
  rewriteAppProbes: true,
  resources: { cpu: '100m', memory: '128Mi', cpuLimit: '2', memoryLimit: '1Gi' },
  // No CPU limit: throttling would delay a renewal, not save anything. The memory limit leaves
  // little above Node's own footprint (about 45 MiB RSS with http2 and tls loaded); the bench's
  // agent RSS is what to check before lowering it.
  agentResources: { cpu: '10m', memory: '96Mi', cpuLimit: '', memoryLimit: '160Mi' },
  redirect: DEFAULT_REDIRECT,
  proxyConcurrency: 2,
  proxyLogLevel: 'warning',
};

interface InjectionResult {
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

/** The redirect with the Pod's annotations applied; `d` itself when none changes it. */
function redirectFor(r: AnnotationReader, d: RedirectConfig): RedirectConfig {
  const includeOutboundIPRanges = r.read(ANNOTATION_INCLUDE_OUTBOUND_IP_RANGES, parseCidrSelection, d.includeOutboundIPRanges);
  const excludeOutboundIPRanges = r.read(ANNOTATION_EXCLUDE_OUTBOUND_IP_RANGES, parseCidrList, d.excludeOutboundIPRanges);
  const excludeOutboundPorts = r.read(ANNOTATION_EXCLUDE_OUTBOUND_PORTS, parsePortList, d.excludeOutboundPorts);
  const includeInboundPorts = r.read(ANNOTATION_INCLUDE_INBOUND_PORTS, parsePortSelection, d.includeInboundPorts);
  const excludeInboundPorts = r.read(ANNOTATION_EXCLUDE_INBOUND_PORTS, parsePortList, d.excludeInboundPorts);
  if (includeOutboundIPRanges === d.includeOutboundIPRanges && excludeOutboundIPRanges === d.excludeOutboundIPRanges
    && excludeOutboundPorts === d.excludeOutboundPorts && includeInboundPorts === d.includeInboundPorts
    && excludeInboundPorts === d.excludeInboundPorts) return d;
  return { ...d, includeOutboundIPRanges, excludeOutboundIPRanges, excludeOutboundPorts, includeInboundPorts, excludeInboundPorts };
}

interface ResourceAnnotations {
  readonly what: string;
  readonly cpu: string;
  readonly memory: string;
  readonly cpuLimit: string;
  readonly memoryLimit: string;
}

const PROXY_RESOURCE_ANNOTATIONS: ResourceAnnotations = {
  what: 'proxy', cpu: ANNOTATION_PROXY_CPU, memory: ANNOTATION_PROXY_MEMORY,
  cpuLimit: ANNOTATION_PROXY_CPU_LIMIT, memoryLimit: ANNOTATION_PROXY_MEMORY_LIMIT,
};
const AGENT_RESOURCE_ANNOTATIONS: ResourceAnnotations = {
  what: 'agent', cpu: ANNOTATION_AGENT_CPU, memory: ANNOTATION_AGENT_MEMORY,
  cpuLimit: ANNOTATION_AGENT_CPU_LIMIT, memoryLimit: ANNOTATION_AGENT_MEMORY_LIMIT,
};

function resourcesFor(r: AnnotationReader, d: ProxyResources, a: ResourceAnnotations): V1ResourceRequirements {
  const quantity = (name: string, fallback: string): string => r.read(name, parseQuantity, fallback);
  // An empty limit annotation removes the limit.
  const limit = (name: string, fallback: string): string =>
    r.read(name, (t) => (t.trim() === '' ? { ok: true, value: '' } : parseQuantity(t)), fallback);
  const cpu = quantity(a.cpu, d.cpu);
  const memory = quantity(a.memory, d.memory);
  let cpuLimit = limit(a.cpuLimit, d.cpuLimit);
  let memoryLimit = limit(a.memoryLimit, d.memoryLimit);
  if (cpuLimit !== '' && quantityValue(cpu) > quantityValue(cpuLimit)) {
    r.warnings.push(`${a.what} cpu request ${cpu} exceeds its limit ${cpuLimit}; limit raised to ${cpu}`);
    cpuLimit = cpu;
  }
  if (memoryLimit !== '' && quantityValue(memory) > quantityValue(memoryLimit)) {
    r.warnings.push(`${a.what} memory request ${memory} exceeds its limit ${memoryLimit}; limit raised to ${memory}`);
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

/**
 * Resources as a memo key part: their four quantities, each JSON-quoted (so no two differ only in
 * where one ends). Much cheaper than serialising the object.
 */
function resourcesKey(r: V1ResourceRequirements): string {
  return `${JSON.stringify(r.requests?.cpu ?? '')}${JSON.stringify(r.requests?.memory ?? '')}${JSON.stringify(r.limits?.cpu ?? '')}${JSON.stringify(r.limits?.memory ?? '')}`;
}

const AGENT_VOLUME_NAMES: readonly string[] = [VOLUME_AGENT_RUN, VOLUME_AGENT_TOKEN, VOLUME_CA_ROOT];

/** A proxyless gRPC Pod: the agent only; its app containers talk to the agent themselves. */
export function isProxyless(metadata: V1ObjectMeta | undefined): boolean {
  return metadata?.annotations?.[ANNOTATION_PROXY_KIND]?.trim() === PROXY_KIND_GRPC;
}

interface AgentUser { readonly uid: number; readonly gid: number }

/**
 * Who the agent runs as. Its sockets and key.pem are 0600, so only its own UID (and root with
 * CAP_DAC_OVERRIDE) can use them: Envoy's 1337 for sidecars; for proxyless pods the app's
 * runAsUser (its first container's, else the pod's). Without one the app runs as its image's
 * user, which the injector cannot know: the agent stays 1337 and the Pod gets a warning.
 */
function agentUser(spec: V1PodSpec, proxyless: boolean, warnings: string[]): AgentUser {
  if (!proxyless) return { uid: PROXY_UID, gid: PROXY_GID };
  const app = spec.containers[0]?.securityContext;
  const pod = spec.securityContext;
  const uid = app?.runAsUser ?? pod?.runAsUser;
  const gid = app?.runAsGroup ?? pod?.runAsGroup;
  const user = uid === undefined || uid === 0 ? { uid: PROXY_UID, gid: PROXY_GID } : { uid, gid: gid ?? uid };
  if (uid === undefined) {
    warnings.push(`proxyless pod sets no runAsUser: the agent runs as ${PROXY_UID}, and the app can use its sockets and key only as UID ${PROXY_UID} (or root)`);
  }
  for (const c of spec.containers.slice(1)) {
    const other = c.securityContext?.runAsUser ?? pod?.runAsUser;
    if (other !== undefined && other !== 0 && other !== user.uid) {
      warnings.push(`container ${String(c.name).slice(0, 63)} runs as UID ${other}, not the agent's ${user.uid}: it cannot use the agent's sockets and key`);
    }
  }
  return user;
}

/** The app container with the agent's directory mounted (read-write: gRPC dials the socket). */
function withAgentMount(c: V1Container): V1Container {
  return { ...c, volumeMounts: [...(c.volumeMounts ?? []), agentRunMount()] };
}

/**
 * Injects the sidecar. The caller has decided that the Pod is to be injected (decision.ts);
 * a Pod that was injected before is stripped first. Throws only if an existing status
 * annotation cannot be read.
 */
/**
 * Injects the sidecar (or, for proxyless Pods, the agent). `memo` is the webhook instance's: parts
 * shared by the replicas of a workload are built once per workload; without one nothing is kept.
 */
export function injectPod(input: V1Pod, config: InjectorConfig, memo: InjectionMemo = new InjectionMemo()): InjectionResult {
  // The memo's parts are for these settings only: the keys below name what comes from the Pod.
  const parts = memo.forSettings(config);
  const frozen = parts.frozen;
  const pod = stripInjection(input);
  // Shallow copies: only these two objects and what is assigned to them below are new; every part
  // of the Pod that the injection does not change is shared with the input (cloning the whole Pod
  // was most of an admission's CPU, and shared parts let the patch skip them by identity).
  const metadata: V1ObjectMeta = { ...(pod.metadata ?? {}) };
  const spec: V1PodSpec = { ...(pod.spec ?? { containers: [] }) };
  const reader = new AnnotationReader(metadata.annotations ?? {});
  const proxyless = isProxyless(metadata);

  const agentResources = resourcesFor(reader, config.agentResources, AGENT_RESOURCE_ANNOTATIONS);
  const user = agentUser(spec, proxyless, reader.warnings);
  // The user comes from the Pod as sent (any JSON): quoted as JSON, the parts cannot run together.
  const agentKey = `${proxyless ? 'grpc' : 'sidecar'}|${JSON.stringify(user.uid)}|${JSON.stringify(user.gid)}|${resourcesKey(agentResources)}`;
  const agent = parts.agentContainers.get(agentKey, () => frozen.freeze(agentContainer({
    image: config.agentImage,
    imagePullPolicy: config.imagePullPolicy,
    caAddress: config.caAddress,
    resources: agentResources,
    native: config.nativeSidecars,
    sds: !proxyless,
    runAsUser: user.uid,
    runAsGroup: user.gid,
  })));
  const added: string[] = [];
  const userInit = spec.initContainers ?? [];
  let initContainers: V1Container[];
  let containers: V1Container[];
  let status: InjectionStatus;

  if (proxyless) {
    // No Envoy and no redirect: the app's gRPC library is the data plane. Every app container
    // mounts the agent's directory (xds.sock, certs/); init containers run before the agent in
    // regular mode, so they are left alone.
    const apps = spec.containers.map(withAgentMount);
    if (config.nativeSidecars) {
      initContainers = [agent, ...userInit];
      containers = apps;
    } else {
      initContainers = userInit;
      containers = [agent, ...apps];
      added.push(...defaultContainer(metadata, apps[0].name));
    }
    status = {
      version: 1,
      initContainers: config.nativeSidecars ? [AGENT_CONTAINER_NAME] : [],
      containers: config.nativeSidecars ? [] : [AGENT_CONTAINER_NAME],
      annotations: added,
      volumes: AGENT_VOLUME_NAMES,
      probes: {},
    };
  } else {
    const redirect = redirectFor(reader, config.redirect);
    const resources = resourcesFor(reader, config.resources, PROXY_RESOURCE_ANNOTATIONS);
    const hold = reader.read(ANNOTATION_HOLD, parseBool, config.holdApplicationUntilProxyStarts);
    const rewrite = reader.read(ANNOTATION_REWRITE_PROBES, parseBool, config.rewriteAppProbes);
    const image = metadata.annotations?.[ANNOTATION_PROXY_IMAGE]?.trim() || config.proxyImage;

    const probes = rewrite
      ? rewriteAppProbes(spec.containers)
      : { containers: spec.containers, routes: [], originals: {}, warnings: [] };
    reader.warnings.push(...probes.warnings);
    const labels = metadata.labels ?? {};
    const app = labels['app'] ?? labels['app.kubernetes.io/name'] ?? ref(ENV_SERVICE_ACCOUNT);
    // The bootstrap depends on nothing else, and serialising it was the largest part of an injection.
    const bootstrapKey = JSON.stringify([labels, probes.routes]);
    const bootstrap = parts.bootstrapArguments.get(bootstrapKey, () => bootstrapArgument(sidecarBootstrap({
      nodeId: sidecarNodeId(ref(ENV_INSTANCE_IP), ref(ENV_POD_NAME), ref(ENV_POD_NAMESPACE)),
      cluster: `${app}.${ref(ENV_POD_NAMESPACE)}`,
      namespace: ref(ENV_POD_NAMESPACE),
      podName: ref(ENV_POD_NAME),
      instanceIp: ref(ENV_INSTANCE_IP),
      serviceAccount: ref(ENV_SERVICE_ACCOUNT),
      labels,
      xds: { socket: AGENT_XDS_SOCKET },
      sdsSocket: AGENT_SDS_SOCKET,
      appAddress: ref(ENV_INSTANCE_IP),
      appProbes: probes.routes,
    })));

    // The containers are the same for every replica of a workload: built once, frozen, and shared.
    const initKey = redirect === config.redirect ? '' : JSON.stringify(redirect);
    const init = parts.initContainers.get(initKey, () => frozen.freeze(initContainer({ image: config.initImage, imagePullPolicy: config.imagePullPolicy, redirect })));
    // JSON has no raw newline: the two parts cannot run into each other.
    const proxyKey = `${JSON.stringify(image)}${resourcesKey(resources)}${hold ? 'hold' : 'nohold'}\n${bootstrapKey}`;
    const proxy = parts.proxyContainers.get(proxyKey, () => frozen.freeze(proxyContainer({
      image,
      imagePullPolicy: config.imagePullPolicy,
      bootstrapArgument: bootstrap,
      resources,
      native: config.nativeSidecars,
      holdUntilReady: hold,
      concurrency: config.proxyConcurrency,
      logLevel: config.proxyLogLevel,
      volumeMounts: [agentRunMount()],
    })));

    if (config.nativeSidecars) {
      // The agent, then the proxy, run before the user's init containers, so they are in the mesh too.
      initContainers = [init, agent, proxy, ...userInit];
      containers = probes.containers;
    } else {
      // Without native sidecars nothing would serve the redirect while the user's init containers
      // run, so the redirect is installed after them; the agent and the proxy are the first app
      // containers, started in that order (the proxy's hold keeps the app waiting for both).
      initContainers = [...userInit, init];
      containers = [agent, proxy, ...probes.containers];
      added.push(...defaultContainer(metadata, probes.containers[0].name));
    }
    status = {
      version: 1,
      initContainers: config.nativeSidecars ? [INIT_CONTAINER_NAME, AGENT_CONTAINER_NAME, PROXY_CONTAINER_NAME] : [INIT_CONTAINER_NAME],
      containers: config.nativeSidecars ? [] : [AGENT_CONTAINER_NAME, PROXY_CONTAINER_NAME],
      annotations: added,
      volumes: AGENT_VOLUME_NAMES,
      probes: probes.originals,
    };
  }

  metadata.annotations = { ...(metadata.annotations ?? {}), [STATUS_ANNOTATION]: formatStatus(status) };
  // The controller keeps only labels of Pods: this is how it learns that the Pod's endpoints
  // terminate mTLS in a sidecar (model/server-kind.ts). Proxyless pods have no sidecar: they mark
  // themselves as xDS servers. Set after the bootstrap, which describes the app's labels.
  if (!proxyless) metadata.labels = { ...(metadata.labels ?? {}), [TLS_MODE_LABEL]: TLS_MODE_SIDECAR };
  if (initContainers.length > 0) spec.initContainers = initContainers;
  else delete spec.initContainers;
  spec.containers = containers;
  // Always the same, so shared like the containers.
  const volumes = parts.agentVolumes.get('', () => agentVolumes().map((v) => frozen.freeze(v)));
  spec.volumes = [...(spec.volumes ?? []), ...volumes];

  const out: V1Pod = { ...pod, metadata, spec };
  return { pod: out, warnings: reader.warnings };
}

/** kubectl's default container: the app, unless the Pod already names one. Returns what it added. */
function defaultContainer(metadata: V1ObjectMeta, name: string): string[] {
  const annotations = metadata.annotations ?? {};
  if (annotations[DEFAULT_CONTAINER_ANNOTATION] !== undefined) return [];
  metadata.annotations = { ...annotations, [DEFAULT_CONTAINER_ANNOTATION]: name };
  return [DEFAULT_CONTAINER_ANNOTATION];
}
