// A sidecar's bootstrap reaching the controller's TLS xDS port the way an injected pod does, with
// the real API server doing every check: the Pod is injected by the chart's webhook, the test
// plays the kubelet (the projected token from the TokenRequest API with the audience and binding
// the injected volume asks for, the root ConfigMap pilotfish published, the env the containers
// read), the pod agent's xDS proxy (src/agent/xds-proxy.ts) forwards over TLS with that token,
// and the client speaks what the injected Envoy bootstrap says (Delta ADS, its node, its socket).
// The controller authenticates the token with a TokenReview against the real API server; without
// a token, and with a token for another audience, the stream is refused.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { XdsProxy } from '../../src/agent/xds-proxy.js';
import type { NodeInfo } from '../../src/xds/node-info.js';
import { CLUSTER } from '../../src/xds/types.js';
import type { Cluster } from '../cluster/cluster.js';
import type { KubeObject } from '../cluster/kube-rest.js';
import { DeltaAdsClient, type StreamEnd } from '../support/ads-client.js';
import type { PilotfishProcess } from '../support/pilotfish-process.js';
import { bounded, createNamespace, sharedCluster, uniqueName } from './fixture.js';
import { installPilotfish, startController, webhookCaBundlePatched } from './pilotfish-install.js';

interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
interface VolumeMount { name: string; mountPath: string }
interface Container { name: string; image?: string; args?: string[]; env?: EnvVar[]; volumeMounts?: VolumeMount[] }
interface ProjectedToken { serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string } }
interface Volume { name: string; projected?: { sources: ProjectedToken[] }; configMap?: { name: string; items?: Array<{ key: string; path: string }> } }
interface Pod extends KubeObject {
  spec: { serviceAccountName?: string; nodeName?: string; containers: Container[]; initContainers?: Container[]; volumes?: Volume[] };
  status?: { podIP?: string };
}

const AGENT = 'pilotfish-agent';
const PROXY = 'pilotfish-proxy';
const POD_IP = '10.1.0.21';

/** The env a kubelet gives a container: literal values and the Pod's fields it asks for. */
function kubeletEnv(c: Container, pod: Pod): Map<string, string> {
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name, 'metadata.namespace': pod.metadata?.namespace,
    'spec.serviceAccountName': pod.spec.serviceAccountName, 'status.podIP': pod.status?.podIP,
  };
  const env = new Map<string, string>();
  for (const e of c.env ?? []) {
    const value = e.value ?? (e.valueFrom?.fieldRef ? fields[e.valueFrom.fieldRef.fieldPath] : undefined);
    assert.ok(value !== undefined, `${c.name}: env ${e.name} is neither a value nor a Pod field the test knows`);
    env.set(e.name, value);
  }
  return env;
}

/** The args as the kubelet hands them over: `$(VAR)` replaced from the container's env. */
function kubeletArgs(c: Container, pod: Pod): string[] {
  const env = kubeletEnv(c, pod);
  return (c.args ?? []).map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name: string) => env.get(name) ?? all));
}

function flag(args: readonly string[], name: string): string {
  const i = args.indexOf(`--${name}`);
  assert.ok(i >= 0 && args[i + 1] !== undefined, `no --${name} in ${args.join(' ')}`);
  return args[i + 1]!;
}

function containerOf(pod: Pod, name: string): Container {
  const c = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((x) => x.name === name);
  assert.ok(c, `the injected Pod has no ${name} container`);
  return c;
}

/** Where a path inside a container lives in the test's stand-in for the Pod's volumes. */
function onHost(podDir: string, c: Container, file: string): string {
  const mount = (c.volumeMounts ?? []).find((m) => file.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `${file} is on no volume of ${c.name}`);
  return path.join(podDir, mount.name, file.slice(mount.mountPath.length + 1));
}

describe('cluster: a sidecar bootstrap over the TLS xDS port with a projected token', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let pf: PilotfishProcess | undefined;
  let podDir: string;
  let ns: string;
  let pod: Pod;
  const proxies: XdsProxy[] = [];
  const clients: DeltaAdsClient[] = [];

  before(async () => {
    cluster = await sharedCluster();
    const inst = await installPilotfish(cluster);
    ns = uniqueName('sidecar-token');
    await createNamespace(cluster, ns, { 'pilotfish.io/inject': 'enabled' });
    pf = await startController(cluster, inst);
    await webhookCaBundlePatched(cluster, inst.webhookConfigName);
    podDir = await mkdtemp(path.join(tmpdir(), 'pf-pod-'));
    // Playing the kubelet, which needs a Node to run the Pod on.
    const node = uniqueName('node');
    await cluster.admin.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: node } });
    await cluster.admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'frontend', namespace: ns } });
    await cluster.admin.create({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: ns },
      spec: { ports: [{ name: 'grpc', port: 50051, targetPort: 8080, appProtocol: 'grpc' }] },
    });
    // Created through the API server, so the chart's webhook injects it.
    pod = await cluster.admin.create<Pod>({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: ns, labels: { app: 'web' } },
      spec: { serviceAccountName: 'frontend', nodeName: node, containers: [{ name: 'app', image: 'example.invalid/web:1' }] },
    });
    // The Pod runs and has an IP.
    pod = await cluster.admin.patch<Pod>(`/api/v1/namespaces/${ns}/pods/web-1/status`,
      { status: { phase: 'Running', podIP: POD_IP, podIPs: [{ ip: POD_IP }] } }, 'merge');
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const p of proxies) await p.close();
    await pf?.stop();
    if (podDir) await rm(podDir, { recursive: true, force: true });
  });

  /** The projected token the injected volume asks for, from the TokenRequest API as the kubelet gets it. */
  async function projectedToken(audiences?: readonly string[]): Promise<string> {
    // The volume the agent's --token-file is on (the API server adds its own token volume too).
    const agent = containerOf(pod, AGENT);
    const tokenFile = flag(kubeletArgs(agent, pod), 'token-file');
    const mount = (agent.volumeMounts ?? []).find((m) => tokenFile.startsWith(`${m.mountPath}/`));
    const volume = (pod.spec.volumes ?? []).find((v) => v.name === mount?.name);
    const projection = volume?.projected?.sources.find((s) => s.serviceAccountToken)?.serviceAccountToken;
    assert.ok(projection, `the agent's token file ${tokenFile} is on no projected service account token`);
    assert.equal(`${mount!.mountPath}/${projection.path}`, tokenFile);
    assert.equal(projection.audience, 'pilotfish');
    const request = await cluster.admin.call<KubeObject & { status: { token: string } }>(
      'POST', `/api/v1/namespaces/${ns}/serviceaccounts/${pod.spec.serviceAccountName}/token`, {
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
        spec: {
          audiences: audiences ?? [projection.audience], expirationSeconds: projection.expirationSeconds ?? 3600,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid },
        },
      });
    return request.status.token;
  }

  /** The roots in the ConfigMap the injected Pod mounts, once pilotfish has published it into the namespace. */
  async function rootBundle(): Promise<string> {
    const volume = (pod.spec.volumes ?? []).find((v) => v.configMap?.name === 'pilotfish-ca-root-cert');
    assert.ok(volume?.configMap, 'the injected Pod mounts no pilotfish-ca-root-cert ConfigMap');
    const item = volume.configMap.items?.[0];
    assert.ok(item, `the injected Pod mounts no key of ${volume.configMap.name}`);
    const cm = await cluster.admin.waitFor<KubeObject & { data?: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/configmaps?fieldSelector=metadata.name%3D${volume.configMap.name}`,
      (c) => (c.data?.[item.key] ?? '') !== '', `pilotfish to publish ${volume.configMap.name} into ${ns}`);
    return cm.data![item.key]!;
  }

  /**
   * The agent's xDS proxy as the injected agent container runs it (its flags, its files), with the
   * token in its token file; `token` undefined: no token file at all. Only the control plane's
   * address differs: the controller listens on a loopback port, under the name the flags give.
   */
  async function startAgentProxy(dir: string, token: string | undefined): Promise<{ socket: string; sessions: string[] }> {
    const agent = containerOf(pod, AGENT);
    const args = kubeletArgs(agent, pod);
    const tokenFile = onHost(dir, agent, flag(args, 'token-file'));
    const rootFile = onHost(dir, agent, flag(args, 'root-cert-file'));
    const socket = onHost(dir, agent, flag(args, 'xds-socket'));
    for (const f of [tokenFile, rootFile, socket]) await mkdir(path.dirname(f), { recursive: true });
    if (token !== undefined) await writeFile(tokenFile, token, { mode: 0o600 });
    await writeFile(rootFile, await rootBundle());

    // The xDS proxy forwards to --xds-address, which defaults to --ca-address.
    const upstream = new URL(flag(args, args.includes('--xds-address') ? 'xds-address' : 'ca-address'));
    const tls = (await pf!.serving()).xdsTlsAddress;
    assert.ok(tls, 'the controller serves no TLS xDS port');
    const proxy = new XdsProxy({
      socketPath: socket, upstreamAddress: `https://${tls}`, serverName: upstream.hostname,
      upstreamRoots: () => readFile(rootFile, 'utf8'),
      ...(token !== undefined ? { token: () => readFile(tokenFile, 'utf8') } : {}),
      backoff: { initialMs: 50, maxMs: 200 },
      // How long a local stream waits for a session before UNAVAILABLE (10 s in a pod).
      limits: { upstreamWaitMs: 3_000 },
    });
    const sessions: string[] = [];
    proxy.onSession((s) => sessions.push(s.auth));
    proxies.push(proxy);
    await proxy.start();
    return { socket, sessions };
  }

  /** What the injected Envoy's bootstrap says: its node, the ADS flavour, the socket of its xds-grpc cluster. */
  function sidecarBootstrap(dir: string): { node: NodeInfo; socket: string } {
    const envoy = containerOf(pod, PROXY);
    const config = JSON.parse(flag(kubeletArgs(envoy, pod), 'config-yaml')) as {
      node: NodeInfo;
      dynamic_resources: { ads_config: { api_type: string; grpc_services: Array<{ envoy_grpc: { cluster_name: string } }> } };
      static_resources: { clusters: Array<{ name: string; load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { pipe?: { path: string } } } }> }> } }> };
    };
    const ads = config.dynamic_resources.ads_config;
    assert.equal(ads.api_type, 'DELTA_GRPC');
    const xdsCluster = config.static_resources.clusters.find((c) => c.name === ads.grpc_services[0]?.envoy_grpc.cluster_name);
    const pipe = xdsCluster?.load_assignment.endpoints[0]?.lb_endpoints[0]?.endpoint.address.pipe?.path;
    assert.ok(pipe, 'the bootstrap\'s xDS cluster is not a Unix socket');
    return { node: config.node, socket: onHost(dir, envoy, pipe) };
  }

  /** Envoy's first Delta ADS request (clusters, wildcard) on the bootstrap's socket; the stream's end. */
  async function subscribeClusters(dir: string): Promise<{ client: DeltaAdsClient; first: Promise<string[]> }> {
    const { node, socket } = sidecarBootstrap(dir);
    const client = await DeltaAdsClient.connect(`unix:${socket}`, node);
    clients.push(client);
    client.request(CLUSTER);
    return { client, first: client.next(CLUSTER).then((r) => r.names) };
  }

  it('gets its configuration through the agent, authenticated by its projected token (TokenReview by the API server)', async () => {
    const dir = path.join(podDir, 'with-token');
    const { sessions } = await startAgentProxy(dir, await projectedToken());
    const { first } = await subscribeClusters(dir);
    const names = await bounded(first, 60_000, 'the clusters of the sidecar', pf);
    assert.ok(names.includes(`outbound|50051||echo.${ns}.svc.cluster.local`), `clusters: ${names.join(', ')}`);
    assert.deepEqual(sessions, ['token'], 'the agent authenticated its session with the token, not a certificate');
    assert.ok(pf!.logs.some((l) => l.message === 'xDS stream opened'), 'the controller logged the stream');
  });

  it('is refused on the same TLS port without a token', async () => {
    const { node } = sidecarBootstrap(path.join(podDir, 'anonymous'));
    const tls = (await pf!.serving()).xdsTlsAddress!;
    const upstream = new URL(flag(kubeletArgs(containerOf(pod, AGENT), pod), 'ca-address'));
    // What the agent's session is without its authorization header: TLS, the same roots and name.
    const client = await DeltaAdsClient.connect(tls, node, {
      credentials: grpc.credentials.createSsl(Buffer.from(await rootBundle())),
      channelOptions: { 'grpc.ssl_target_name_override': upstream.hostname },
    });
    clients.push(client);
    client.request(CLUSTER);
    const end = await bounded(client.closed, 60_000, 'the anonymous stream to end', pf);
    assert.equal(end.code, grpc.status.UNAUTHENTICATED, end.details);
  });

  it('is refused through the agent with a token for another audience (the API server says it is not for pilotfish)', async () => {
    const dir = path.join(podDir, 'other-audience');
    // A real token of the same ServiceAccount and Pod, minted for the API server's own audience.
    await startAgentProxy(dir, await projectedToken(['https://kubernetes.default.svc.cluster.local']));
    const { client, first } = await subscribeClusters(dir);
    first.catch(() => undefined);
    const end: StreamEnd = await bounded(client.closed, 60_000, 'the stream with the wrong token to end', pf);
    assert.equal(end.code, grpc.status.UNAUTHENTICATED, end.details);
    assert.match(end.details, /audience pilotfish/);
    assert.ok(pf!.logs.some((l) => l.message === 'refused an unauthenticated xDS stream' && String(l.reason).includes('audience')),
      'the controller logged the refusal and its reason');
  });

  it('is refused through the agent with no token file: the agent has nothing to authenticate with', async () => {
    const dir = path.join(podDir, 'no-token');
    await startAgentProxy(dir, undefined);
    const { client, first } = await subscribeClusters(dir);
    first.catch(() => undefined);
    const end = await bounded(client.closed, 60_000, 'the stream without a token to end', pf);
    assert.equal(end.code, grpc.status.UNAVAILABLE, end.details);
  });
});
