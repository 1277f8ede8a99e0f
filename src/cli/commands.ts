// Every pilotfish command as declared: its arguments, flags and help text. The parser, `--help` and
// the e2e test of the help are all built from these; command-table.ts pairs each with the module
// that runs it. Command modules import their declaration from here (never the table), so the
// imports stay one-way.
import { DEFAULT_SERVER } from '../admin/debug-client.js';
import { OUTBOUND_TRAFFIC_POLICIES } from '../model/outbound-policy.js';
import { DEFAULT_SCOPES } from '../model/traffic-scope.js';
import { DEFAULT_CONTROL_PLANE_NAMESPACE } from '../webhook/injection-names.js';
import { defineCommand, type FlagSpecs } from './command-line.js';
import { logFlags } from './flags.js';
import { injectorFlagOptions, webhookCertHostsFlag, webhookFlagOptions } from './injector-flags.js';
import { AGENT_DEFAULTS as AGENT_FLAG_DEFAULTS } from '../agent/agent-defaults.js';
import { PORT_CONTROL_HTTP } from '../model/ports.js';
import { xdsConnectionFlags } from './xds-connection-flags.js';

const PROXY_KINDS = ['grpc', 'sidecar'] as const;

/** What every command serving xDS takes. */
const servingFlags = {
  'xds-address': {
    type: 'string', arg: 'HOST:PORT', default: '127.0.0.1:15010',
    help: 'the plaintext ADS gRPC server: unauthenticated, every client is who it claims to be, so keep it on loopback (port 0 picks a free port; the bound address is logged)',
  },
  'http-address': { type: 'string', arg: 'HOST:PORT', default: `0.0.0.0:${PORT_CONTROL_HTTP}`, help: 'health, readiness, metrics and debug endpoints' },
  ...xdsConnectionFlags,
  ...logFlags,
  'no-debug-endpoints': { type: 'boolean', help: 'turn off /debug/* on the HTTP address' },
  'outbound-traffic-policy': {
    type: 'string', arg: 'POLICY', choices: OUTBOUND_TRAFFIC_POLICIES, default: 'ALLOW_ANY',
    help: 'what sidecars do with traffic to hosts the mesh does not know (a Namespace annotation overrides it)',
  },
  'trust-domain': { type: 'string', arg: 'DOMAIN', default: 'cluster.local', help: 'trust domain of workload SPIFFE IDs (spiffe://DOMAIN/ns/NS/sa/SA)' },
  'mesh-root-namespace': {
    type: 'string', arg: 'NS',
    help: 'where a PeerAuthentication without selector applies mesh-wide (default: pilotfish-system; controller: its --namespace)',
  },
  'default-scope': {
    type: 'string', arg: 'SCOPE', choices: DEFAULT_SCOPES, default: 'mesh',
    help: 'what a sidecar no TrafficScope covers gets: mesh (every Service) or namespace (its own namespace\'s and --namespace\'s)',
  },
  'discovery-selector': {
    type: 'string', arg: 'SELECTOR',
    help: 'a label selector (k=v,k2!=v,k3 in (a,b),...): namespaces whose labels do not match are ignored entirely (default: none ignored)',
  },
} as const satisfies FlagSpecs;

/** The authenticated TLS xDS port (15012) and the CSR endpoint on it. */
const tlsFlags = {
  'xds-tls-hosts': { type: 'string', arg: 'HOSTS', help: 'more comma-separated names or IPs for the TLS port\'s serving certificate' },
  'trust-domain': { type: 'string', arg: 'DOMAIN', default: 'cluster.local', help: 'the SPIFFE trust domain of workload identities' },
  'workload-cert-ttl': { type: 'string', arg: 'DURATION', default: '24h', help: 'lifetime of the workload certificates the CSR endpoint issues (1s to 168h; agents renew at half of it)' },
} as const satisfies FlagSpecs;

const debugWhen = (v: { 'log-level'?: string }): boolean => v['log-level'] === 'debug';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'serve xDS from Kubernetes YAML files in a directory (watched) and the REST registry',
  description: 'No cluster needed. Logs go to stderr; the line "serving" says xDS is ready.',
  flags: {
    'config-dir': { type: 'string', arg: 'DIR', help: 'Kubernetes YAML files (*.yaml, *.yml, recursive, multi-document), watched for changes' },
    ...servingFlags,
    // Loopback by default: the REST registry on this port changes what proxies get.
    'http-address': { type: 'string', arg: 'HOST:PORT', default: `127.0.0.1:${PORT_CONTROL_HTTP}`, help: 'health, readiness, the REST registry, metrics and debug endpoints' },
    'max-config-file-bytes': { type: 'string', arg: 'BYTES', default: '4194304', help: 'a config file larger than this is refused (not read)' },
    'registry-token-file': { type: 'string', arg: 'FILE', help: 'bearer token the REST registry requires (without it, only loopback clients may use the registry)' },
    'registry-allow-defined-services': { type: 'boolean', help: 'let the registry add endpoints to Services the config files define' },
    'registry-service-grace-seconds': { type: 'string', arg: 'SECONDS', default: '30', help: 'how long a registered Service outlives its last endpoint' },
    'registry-state-file': { type: 'string', arg: 'FILE', help: 'keep registrations across restarts in this file (written atomically)' },
    'ca-dir': { type: 'string', arg: 'DIR', help: 'the mesh CA\'s files (created on first start); needed for --xds-tls-address' },
    'xds-tls-address': {
      type: 'string', arg: 'HOST:PORT',
      help: 'also serve authenticated xDS over TLS (certificate from --ca-dir\'s CA, or a token checked with a TokenReview through --kubeconfig) and the CSR endpoint',
    },
    kubeconfig: { type: 'string', arg: 'FILE', help: 'where TokenReviews for the TLS port go (default: $KUBECONFIG, else ~/.kube/config); without it only certificates authenticate' },
    'service-name': { type: 'string', arg: 'NAME', default: 'pilotfish', help: 'the Service name the TLS port\'s certificate carries (<name>.<namespace>.svc)' },
    namespace: { type: 'string', arg: 'NS', default: DEFAULT_CONTROL_PLANE_NAMESPACE, help: 'the namespace the TLS port\'s certificate names' },
    ...tlsFlags,
  },
  examples: ['pilotfish serve --config-dir examples/demo --xds-address 127.0.0.1:15010 --http-address 127.0.0.1:15014 --log-format text'],
  debug: debugWhen,
});

/**
 * Injector flags `controller` accepts on top of its own. Its `--xds-address` is where xDS listens,
 * so the address injected proxies dial is `--proxy-xds-address` here (default: the Service's DNS
 * name in --namespace).
 */
const controllerWebhookFlags = (() => {
  const { 'xds-address': _proxyXds, namespace: _ns, 'log-level': _level, 'log-format': _format, kubeconfig: _kc, kubernetes: _k8s, ...rest } = webhookFlagOptions;
  return {
    ...rest,
    'proxy-xds-address': { type: 'string', arg: 'HOST:PORT', help: 'the xDS address injected proxies dial (default: the Service in --namespace)' },
    ...webhookCertHostsFlag,
  } as const satisfies FlagSpecs;
})();

export const controllerCommand = defineCommand({
  name: 'controller',
  summary: 'watch the Kubernetes API and serve xDS from it (and run the sidecar injector)',
  description: 'In-cluster, or with --kubeconfig / $KUBECONFIG / ~/.kube/config. Every replica serves xDS; the one holding '
    + 'the Lease writes TrafficRoute/TrafficPolicy status.',
  flags: {
    kubeconfig: { type: 'string', arg: 'FILE', help: 'kubeconfig (default: in-cluster in a Pod, else $KUBECONFIG, else ~/.kube/config)' },
    ...servingFlags,
    // Off here: in a cluster every proxy comes through its pod agent to the TLS port.
    'xds-address': {
      type: 'string', arg: 'HOST:PORT',
      help: 'also serve plaintext, unauthenticated xDS here (default: off; only for loopback and tests, never on the pod network)',
    },
    'xds-tls-address': {
      type: 'string', arg: 'HOST:PORT', default: '0.0.0.0:15012',
      help: 'authenticated xDS over TLS (workload certificate or projected token, audience pilotfish) and the CSR endpoint; the CA lives in the Secret pilotfish-ca of --namespace',
    },
    ...tlsFlags,
    namespace: { type: 'string', arg: 'NS', help: `the control plane's namespace (default: $POD_NAMESPACE, else ${DEFAULT_CONTROL_PLANE_NAMESPACE})` },
    identity: { type: 'string', arg: 'NAME', help: 'this replica\'s name in the Lease (default: $POD_NAME, else the host name)' },
    'lease-name': { type: 'string', arg: 'NAME', default: 'pilotfish-leader', help: 'the Lease replicas elect a status writer with' },
    'lease-duration': { type: 'string', arg: 'DURATION', default: '15s', help: 'how long a Lease lasts unrenewed (at least 1s)' },
    'no-webhook': { type: 'boolean', help: 'do not run the sidecar injector in this process' },
    ...controllerWebhookFlags,
  },
  debug: debugWhen,
});

export const webhookCommand = defineCommand({
  name: 'webhook',
  summary: 'run only the sidecar injector (HTTPS AdmissionReview v1 on POST /inject)',
  flags: { ...webhookFlagOptions, ...webhookCertHostsFlag },
  debug: debugWhen,
});

export const injectCommand = defineCommand({
  name: 'inject',
  summary: 'inject the sidecar offline into Pods and workloads\' pod templates (YAML in, YAML out)',
  description: 'Pods and the pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, '
    + 'ReplicationControllers, Jobs and CronJobs; other documents pass through unchanged. What was done to each '
    + 'object goes to stderr; a document that cannot be read is named by its number (1-based).',
  flags: {
    filename: { type: 'string', short: 'f', arg: 'FILE|-', help: 'multi-document YAML to inject (- for stdin)' },
    ...injectorFlagOptions,
    // Offline there is no API server to ask, and native sidecars are the default since 1.29.
    'native-sidecars': { ...injectorFlagOptions['native-sidecars'], default: 'true' },
    namespace: { type: 'string', arg: 'NS', default: DEFAULT_CONTROL_PLANE_NAMESPACE, help: 'the control plane\'s namespace (its Pods are never injected)' },
  },
  examples: ['pilotfish inject -f examples/inject/workloads.yaml', 'kubectl get deploy web -o yaml | pilotfish inject -f - | kubectl apply -f -'],
});

export const bootstrapCommand = defineCommand({
  name: 'bootstrap',
  summary: 'print the xDS bootstrap of a proxy: JSON for proxyless gRPC, Envoy YAML (Delta ADS) for a sidecar',
  flags: {
    'node-id': { type: 'string', arg: 'ID', help: 'the node id the proxy presents (required; a sidecar id like sidecar~IP~POD.NS~NS.svc.cluster.local fills the rest)' },
    'xds-address': { type: 'string', arg: 'HOST:PORT', default: '127.0.0.1:15010', help: 'the xDS server' },
    namespace: { type: 'string', arg: 'NS', help: 'the proxy\'s namespace (default: from the node id, else default)' },
    zone: { type: 'string', arg: 'ZONE', help: 'locality zone (proxyless gRPC)' },
    kind: { type: 'string', arg: 'KIND', choices: PROXY_KINDS, default: 'grpc', help: 'the kind of proxy' },
    'pod-name': { type: 'string', arg: 'POD', help: 'the sidecar\'s Pod' },
    ip: { type: 'string', arg: 'IP', help: 'the sidecar\'s Pod IP' },
    labels: { type: 'string', arg: 'k=v,...', help: 'the sidecar\'s Pod labels' },
    'service-account': { type: 'string', arg: 'SA', help: 'the sidecar\'s service account (default: default)' },
    cluster: { type: 'string', arg: 'NAME', help: 'the sidecar\'s service cluster (default: app.namespace)' },
    'cert-dir': {
      type: 'string', arg: 'DIR',
      help: 'proxyless gRPC: the directory the pod agent writes cert-chain.pem, key.pem and root-cert.pem to (enables xDS mTLS, gRFC A29)',
    },
    'xds-server': { type: 'boolean', help: 'proxyless gRPC: the app runs an xDS-enabled server (XdsServer, gRFC A36)' },
  },
  examples: [
    'pilotfish bootstrap --node-id my-client --xds-address 127.0.0.1:15010 --namespace demo > bootstrap.json',
    'pilotfish bootstrap --node-id my-server --namespace demo --cert-dir /var/run/pilotfish/certs --xds-server > bootstrap.json',
    'pilotfish bootstrap --kind sidecar --node-id \'sidecar~10.0.0.5~web-1.shop~shop.svc.cluster.local\' > envoy.yaml',
  ],
});

/** What `config-dump` and `analyze` read: files, and how they would be served. */
const configOutputFormats = ['json', 'yaml'] as const;

export const configDumpCommand = defineCommand({
  name: 'config-dump',
  summary: 'print the resources a proxy would receive from a config directory, and every problem in it',
  description: 'The dump also holds the files\' errors and the status of every routing object; stderr has one line per '
    + 'error or warning (as `pilotfish analyze` prints them). Exits 3 when a file has errors or a routing object is not '
    + 'applied, so it can gate CI.',
  flags: {
    'config-dir': { type: 'string', arg: 'DIR', help: 'the config directory, as `serve` reads it (required)' },
    'node-id': { type: 'string', arg: 'ID', help: 'the proxy\'s node id (required)' },
    namespace: { type: 'string', arg: 'NS', help: 'the proxy\'s namespace' },
    kind: { type: 'string', arg: 'KIND', choices: PROXY_KINDS, help: 'the kind of proxy (default: from the node id)' },
    labels: { type: 'string', arg: 'k=v,...', help: 'the proxy\'s Pod labels' },
    'pod-name': { type: 'string', arg: 'POD', help: 'the proxy\'s Pod' },
    'outbound-traffic-policy': servingFlags['outbound-traffic-policy'],
    'default-scope': servingFlags['default-scope'],
    output: { type: 'string', short: 'o', arg: 'FORMAT', choices: configOutputFormats, default: 'json', help: 'output format' },
  },
  examples: ['pilotfish config-dump --config-dir examples/shop --node-id x --namespace shop --kind sidecar --labels app=frontend -o yaml'],
});

export const analyzeCommand = defineCommand({
  name: 'analyze',
  summary: 'check config files as `serve` would load them: one line per error, rejected routing object and warning',
  description: 'Each line: severity and code, object, file and document (1-based), field when known, and the reason. '
    + 'Exit code: 0 nothing wrong (info lines allowed), 3 errors or warnings found, 1 the files could not be read.',
  flags: {
    filename: { type: 'string', short: 'f', arg: 'FILE|DIR', help: 'a YAML file, or a directory read as `serve --config-dir` reads it (required)' },
    kind: {
      type: 'string', arg: 'KIND', choices: PROXY_KINDS,
      help: 'the clients: grpc makes fields proxyless gRPC ignores warnings, sidecar leaves them out (default: info lines)',
    },
  },
  examples: ['pilotfish analyze -f examples/shop', 'pilotfish analyze -f routing.yaml --kind grpc'],
});

export const proxyStatusCommand = defineCommand({
  name: 'proxy-status',
  summary: 'per connected proxy, whether CDS/LDS/RDS/EDS are SYNCED, STALE, NOT SENT or NACKED',
  description: 'Asks a running control plane\'s HTTP address.',
  args: [{ name: 'PROXY_ID', help: 'only this proxy: its node id or its Pod as name.namespace' }],
  flags: {
    server: { type: 'string', arg: 'URL[,URL...]', help: `the HTTP address of every control-plane replica, each asked and the answers merged (default ${DEFAULT_SERVER})` },
    kubeconfig: { type: 'string', arg: 'FILE', help: 'ask the chart\'s Pods in the cluster instead, through the API server\'s pod proxy (default kubeconfig: $KUBECONFIG, else ~/.kube/config)' },
    namespace: { type: 'string', arg: 'NS', help: `the control plane's namespace in the cluster (implies asking the cluster; default ${DEFAULT_CONTROL_PLANE_NAMESPACE})` },
    output: { type: 'string', short: 'o', arg: 'FORMAT', choices: ['table', 'json'], default: 'table', help: 'output format' },
  },
});

export const proxyConfigCommand = defineCommand({
  name: 'proxy-config',
  summary: 'what a connected proxy was sent, as the running control plane\'s streams last sent it',
  args: [
    { name: 'TYPE', required: true, help: 'cluster, listener, route, endpoint, all (every type) or bootstrap (the node the proxy presented)' },
    { name: 'PROXY_ID', help: 'the proxy: its node id or its Pod as name.namespace (or --proxy)' },
  ],
  flags: {
    proxy: { type: 'string', arg: 'ID', help: 'the proxy\'s node id (see proxy-status)' },
    server: { type: 'string', arg: 'URL[,URL...]', help: `the HTTP address of every control-plane replica, each asked and the answers merged (default ${DEFAULT_SERVER})` },
    kubeconfig: { type: 'string', arg: 'FILE', help: 'ask the chart\'s Pods in the cluster instead, through the API server\'s pod proxy (default kubeconfig: $KUBECONFIG, else ~/.kube/config)' },
    namespace: { type: 'string', arg: 'NS', help: `the control plane's namespace in the cluster (implies asking the cluster; default ${DEFAULT_CONTROL_PLANE_NAMESPACE})` },
    output: { type: 'string', short: 'o', arg: 'FORMAT', choices: ['table', 'json', 'yaml'], default: 'table', help: 'output format' },
  },
  examples: ['pilotfish proxy-config cluster --proxy my-client', 'pilotfish proxy-config route my-client', 'pilotfish proxy-config all my-client -o yaml'],
});

export const checkCommand = defineCommand({
  name: 'check',
  summary: 'check a cluster: before installing pilotfish (--pre: API version, permissions, CRDs) or after (control plane, webhook, CRDs, injection)',
  description: 'Each check prints one line, ✔ or ✘ with a hint; exit 1 when any fails.',
  flags: {
    pre: { type: 'boolean', help: 'the pre-install checks (API version, permission to create what the chart creates, CRDs present or not)' },
    kubeconfig: { type: 'string', arg: 'FILE', help: 'kubeconfig (default: in-cluster in a Pod, else $KUBECONFIG, else ~/.kube/config)' },
    namespace: { type: 'string', arg: 'NS', help: `the control plane's namespace (default ${DEFAULT_CONTROL_PLANE_NAMESPACE})` },
    server: { type: 'string', arg: 'URL[,URL...]', help: 'the HTTP address of every replica, asked for /readyz (default: the readiness of the chart\'s Pods)' },
    'webhook-config-name': { type: 'string', arg: 'NAME', default: 'pilotfish-sidecar-injector', help: 'the chart\'s MutatingWebhookConfiguration' },
    'lease-name': { type: 'string', arg: 'NAME', default: 'pilotfish-leader', help: 'the Lease the replicas elect a leader with' },
  },
  examples: ['pilotfish check --pre', 'pilotfish check'],
});

export const agentCommand = defineCommand({
  name: 'agent',
  summary: 'the per-pod agent: workload certificate (CSR with the projected token), SDS for Envoy, the xDS proxy to the TLS port',
  description: 'Runs in every injected pod. An empty value turns a socket or the status endpoint off. Stops on SIGTERM.',
  flags: {
    'ca-address': { type: 'string', arg: 'URL', help: 'https://host:port of pilotfish\'s TLS port, where the CSR endpoint is (required)' },
    'xds-address': { type: 'string', arg: 'URL', help: 'https://host:port the xDS proxy forwards to (default: --ca-address)' },
    'ca-server-name': { type: 'string', arg: 'NAME', help: 'the name pilotfish\'s serving certificate carries, when not the host of the addresses' },
    namespace: { type: 'string', arg: 'NS', help: 'the pod\'s namespace (default: $POD_NAMESPACE)' },
    'service-account': { type: 'string', arg: 'SA', help: 'the pod\'s service account (default: $SERVICE_ACCOUNT)' },
    'trust-domain': tlsFlags['trust-domain'],
    'token-file': { type: 'string', arg: 'FILE', default: AGENT_FLAG_DEFAULTS.tokenFile, help: 'the projected service account token (audience pilotfish)' },
    'root-cert-file': { type: 'string', arg: 'FILE', default: AGENT_FLAG_DEFAULTS.rootCertFile, help: 'the roots that sign pilotfish\'s serving certificate' },
    'output-dir': { type: 'string', arg: 'DIR', default: AGENT_FLAG_DEFAULTS.outputDir, help: 'where cert-chain.pem, key.pem and root-cert.pem are written' },
    'xds-socket': { type: 'string', arg: 'PATH', default: AGENT_FLAG_DEFAULTS.xdsSocket, help: 'the Unix socket the xDS proxy listens on' },
    'sds-socket': { type: 'string', arg: 'PATH', default: AGENT_FLAG_DEFAULTS.sdsSocket, help: 'the Unix socket the SDS server listens on (Envoy sidecars)' },
    'status-address': { type: 'string', arg: 'HOST:PORT', default: AGENT_FLAG_DEFAULTS.statusAddress, help: 'the status endpoint (/healthz/ready)' },
    ...logFlags,
  },
  debug: debugWhen,
});

export const versionCommand = defineCommand({
  name: 'version',
  summary: 'print pilotfish\'s version',
  flags: {},
});

