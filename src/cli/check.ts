// `pilotfish check` (like `linkerd check`). With --pre, before installing: the API server answers
// and is recent enough, the caller may create what the chart creates (asked with
// SelfSubjectAccessReviews, so nothing is created), and which of pilotfish's CRDs are already
// there. Without, after installing: CRDs established, a replica holds the leader Lease, every
// replica serves xDS, the webhook's caBundle is a certificate and the API server can call the
// webhook with it (a server-side dry-run Pod in an injected namespace must come back injected),
// and which namespaces are injected. One line per check, ✔ or ✘ with a hint; exit 1 on any ✘.
import { X509Certificate } from 'node:crypto';
import { crdName, TRAFFIC_POLICY_KIND, TRAFFIC_ROUTE_KIND, TRAFFIC_SCOPE_KIND } from '../api/routing/v1alpha1/crd.js';
import { PEER_AUTHENTICATION_CRD_NAME } from '../api/security/v1alpha1/crd.js';
import { ACCESS_POLICY_CRD_NAME } from '../api/security/v1alpha1/access-policy-crd.js';
import { DESTINATION_RULE_KIND, VIRTUAL_SERVICE_KIND, istioCrdName, type IstioKindInfo } from '../api/istio/networking/v1/kinds.js';
import {
  GATEWAY_API_BUNDLE_VERSION, GATEWAY_BUNDLE_VERSION_ANNOTATION, gatewayCrdName, GRPC_ROUTE_KIND, HTTP_ROUTE_KIND,
} from '../api/gateway/v1/gateway-api.js';
import { errorCode, errorText, KubeRest } from '../kube/rest.js';
import { DEFAULT_CONTROL_PLANE_NAMESPACE } from '../webhook/injection-names.js';
import type { ParsedLine } from './command-line.js';
import type { checkCommand } from './commands.js';
import { CONTROL_PLANE_SELECTOR, serversOf } from './control-planes.js';
import { loadKubeConfig } from './kubeconfig.js';

/** The chart's `kubeVersion` (deploy/helm/pilotfish/Chart.yaml): the oldest release it installs on. */
const MIN_KUBERNETES = { major: 1, minor: 27 };

/** What `helm install` of the chart creates, as (group, resource, namespaced). */
const INSTALLS: ReadonlyArray<{ group: string; resource: string; namespaced: boolean }> = [
  { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', namespaced: false },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespaced: false },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', namespaced: false },
  { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', namespaced: false },
  { group: '', resource: 'namespaces', namespaced: false },
  { group: '', resource: 'serviceaccounts', namespaced: true },
  { group: '', resource: 'services', namespaced: true },
  { group: 'apps', resource: 'deployments', namespaced: true },
  { group: 'rbac.authorization.k8s.io', resource: 'roles', namespaced: true },
  { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespaced: true },
  { group: 'policy', resource: 'poddisruptionbudgets', namespaced: true },
];

const CRDS = [crdName(TRAFFIC_ROUTE_KIND), crdName(TRAFFIC_POLICY_KIND), crdName(TRAFFIC_SCOPE_KIND), PEER_AUTHENTICATION_CRD_NAME, ACCESS_POLICY_CRD_NAME];
/** Optional: pilotfish reads HTTPRoutes/GRPCRoutes only when these exist. */
const GATEWAY_CRDS = [gatewayCrdName(HTTP_ROUTE_KIND), gatewayCrdName(GRPC_ROUTE_KIND)];

interface Line {
  readonly ok: boolean;
  readonly text: string;
  readonly hint?: string;
}

interface AccessReview {
  status?: { allowed?: boolean; reason?: string };
}

export async function check({ values }: ParsedLine<typeof checkCommand.flags>, out: NodeJS.WritableStream): Promise<number> {
  const kube = new KubeRest(await loadKubeConfig(values.kubeconfig, process.env), 10_000);
  const namespace = values.namespace ?? DEFAULT_CONTROL_PLANE_NAMESPACE;
  let failed = false;
  const section = (title: string, lines: readonly Line[]): void => {
    out.write(`${title}\n${'-'.repeat(title.length)}\n`);
    for (const l of lines) {
      failed ||= !l.ok;
      out.write(`${l.ok ? '✔' : '✘'} ${l.text}\n`);
      if (!l.ok && l.hint) out.write(`    hint: ${l.hint}\n`);
    }
    out.write('\n');
  };

  const api = await apiChecks(kube);
  section('kubernetes-api', api.lines);
  if (!api.reachable) {
    out.write('Status check results are ✘\n');
    return 1;
  }
  if (values.pre) {
    section('pre-install permissions', await Promise.all(INSTALLS.map((i) => canCreate(kube, i, namespace))));
    section('pilotfish CRDs', await Promise.all(CRDS.map((name) => crdPresence(kube, name))));
    section('Istio config (optional)', await Promise.all(ISTIO_KINDS.map((info) => istioKindPresence(kube, info))));
  } else {
    section('pilotfish CRDs', await Promise.all(CRDS.map((name) => crdEstablished(kube, name))));
    section('Istio config (optional)', await Promise.all(ISTIO_KINDS.map((info) => istioKindPresence(kube, info))));
    section('Gateway API (optional)', await Promise.all(GATEWAY_CRDS.map((name) => gatewayCrd(kube, name))));
    section('control plane', [
      await leaseHeld(kube, namespace, values['lease-name']!),
      ...(values.server !== undefined ? await replicasServing(serversOf(values.server, 'check')) : await podsReady(kube, namespace)),
    ]);
    const injected = await injectedNamespaces(kube, namespace);
    section('sidecar injector webhook', await webhookChecks(kube, values['webhook-config-name']!, injected));
    section('injected namespaces', [injected.length > 0
      ? { ok: true, text: `injection is on in ${injected.length} namespace(s): ${injected.join(', ')}` }
      : { ok: true, text: 'no namespace has injection on yet (kubectl label namespace NS pilotfish.io/inject=enabled)' }]);
  }
  out.write(`Status check results are ${failed ? '✘' : '✔'}\n`);
  return failed ? 1 : 0;
}

async function apiChecks(kube: KubeRest): Promise<{ reachable: boolean; lines: Line[] }> {
  let version: { major?: string; minor?: string; gitVersion?: string };
  try {
    version = await kube.request('GET', '/version');
  } catch (err) {
    return {
      reachable: false,
      lines: [{ ok: false, text: `can reach the Kubernetes API at ${kube.server}`, hint: `${errorText(err)} (check --kubeconfig and the current context)` }],
    };
  }
  const major = Number.parseInt(version.major ?? '', 10);
  const minor = Number.parseInt(version.minor ?? '', 10);
  const supported = major > MIN_KUBERNETES.major || (major === MIN_KUBERNETES.major && minor >= MIN_KUBERNETES.minor);
  return {
    reachable: true,
    lines: [
      { ok: true, text: `can reach the Kubernetes API at ${kube.server}` },
      {
        ok: supported,
        text: `Kubernetes ${version.gitVersion ?? `${major}.${minor}`} is at least v${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor}`,
        hint: `pilotfish's chart needs Kubernetes >= ${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor}; upgrade the cluster`,
      },
    ],
  };
}

async function canCreate(kube: KubeRest, what: (typeof INSTALLS)[number], namespace: string): Promise<Line> {
  const target = what.namespaced ? `${what.resource} in ${namespace}` : what.resource;
  const attributes = { verb: 'create', group: what.group, resource: what.resource, ...(what.namespaced ? { namespace } : {}) };
  try {
    const review = await kube.request<AccessReview>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attributes } },
    });
    const allowed = review.status?.allowed === true;
    return {
      ok: allowed,
      text: `can create ${target}`,
      hint: `the kubeconfig's user may not create ${target}${review.status?.reason ? ` (${review.status.reason})` : ''}; install as a cluster admin`,
    };
  } catch (err) {
    return { ok: false, text: `can create ${target}`, hint: `the access review failed: ${errorText(err)}` };
  }
}

async function crdPresence(kube: KubeRest, name: string): Promise<Line> {
  try {
    await kube.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    return { ok: true, text: `${name} is installed (helm upgrade keeps it; helm install will not overwrite it)` };
  } catch (err) {
    if (errorCode(err) === 404) return { ok: true, text: `${name} is not installed yet (the chart installs it)` };
    return { ok: false, text: `can read CRD ${name}`, hint: errorText(err) };
  }
}

interface Condition { type?: string; status?: string; reason?: string; message?: string }

const ISTIO_KINDS: readonly IstioKindInfo[] = [VIRTUAL_SERVICE_KIND, DESTINATION_RULE_KIND];

/** Istio's kinds are read when their CRDs exist; absent is fine (pilotfish never installs them). */
async function istioKindPresence(kube: KubeRest, info: IstioKindInfo): Promise<Line> {
  const name = istioCrdName(info);
  try {
    await kube.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    return { ok: true, text: `Istio's ${info.kind} kind is present (${name}): pilotfish applies ${info.kind}s` };
  } catch (err) {
    if (errorCode(err) === 404) {
      return { ok: true, text: `Istio's ${info.kind} kind is absent (${name} is not installed): pilotfish reads no ${info.kind}s and does not install Istio's CRDs` };
    }
    return { ok: false, text: `can read CRD ${name}`, hint: errorText(err) };
  }
}

async function crdEstablished(kube: KubeRest, name: string): Promise<Line> {
  const hint = 'install the chart (helm install), or kubectl apply -f crds/';
  try {
    const crd = await kube.request<{ status?: { conditions?: Condition[] } }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    const established = crd.status?.conditions?.find((c) => c.type === 'Established');
    return established?.status === 'True'
      ? { ok: true, text: `${name} is established` }
      : { ok: false, text: `${name} is established`, hint: `not yet: ${established?.message ?? 'no Established condition'}` };
  } catch (err) {
    return { ok: false, text: `${name} is established`, hint: errorCode(err) === 404 ? `it is not installed; ${hint}` : errorText(err) };
  }
}

/** Never a failure: without the CRD pilotfish simply does not read that kind. */
async function gatewayCrd(kube: KubeRest, name: string): Promise<Line> {
  try {
    const crd = await kube.request<{ metadata?: { annotations?: Record<string, string> } }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    const version = crd.metadata?.annotations?.[GATEWAY_BUNDLE_VERSION_ANNOTATION] ?? 'unknown version';
    return { ok: true, text: `${name} is installed (${version}); pilotfish reads these routes (the chart ships ${GATEWAY_API_BUNDLE_VERSION})` };
  } catch (err) {
    if (errorCode(err) === 404) {
      return { ok: true, text: `${name} is not installed: pilotfish does not read these routes (helm --set gatewayAPI.installCRDs=true installs them)` };
    }
    return { ok: false, text: `can read CRD ${name}`, hint: errorText(err) };
  }
}

async function leaseHeld(kube: KubeRest, namespace: string, name: string): Promise<Line> {
  const text = `a replica holds the leader Lease ${namespace}/${name}`;
  try {
    const lease = await kube.request<{ spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number } }>(
      'GET', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`);
    const holder = lease.spec?.holderIdentity ?? '';
    const age = Date.now() - Date.parse(lease.spec?.renewTime ?? '');
    const limit = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (holder !== '' && age <= limit) return { ok: true, text: `${text} (${holder}, renewed ${Math.max(0, Math.round(age / 1000))}s ago)` };
    return { ok: false, text, hint: `${holder === '' ? 'nobody holds it' : `${holder} last renewed it ${Math.round(age / 1000)}s ago`}: is pilotfish running in ${namespace}?` };
  } catch (err) {
    return { ok: false, text, hint: errorCode(err) === 404 ? `no such Lease: pilotfish has not run in ${namespace} (check --namespace)` : errorText(err) };
  }
}

/** Each replica's /readyz: pilotfish is ready once it serves xDS from a complete snapshot. */
async function replicasServing(servers: readonly string[]): Promise<Line[]> {
  return Promise.all(servers.map(async (server): Promise<Line> => {
    const text = `replica ${server} serves xDS`;
    try {
      const res = await fetch(new URL('/readyz', server), { signal: AbortSignal.timeout(5_000) });
      await res.body?.cancel();
      return res.ok ? { ok: true, text } : { ok: false, text, hint: `/readyz answered ${res.status}: it has not synced from the API server yet` };
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : errorText(err);
      return { ok: false, text, hint: `cannot reach it: ${cause}` };
    }
  }));
}

/** Without --server: the chart's Pods, whose readiness probe is pilotfish's /readyz (serving xDS). */
async function podsReady(kube: KubeRest, namespace: string): Promise<Line[]> {
  const selector = CONTROL_PLANE_SELECTOR;
  let pods: { items?: Array<{ metadata?: { name?: string }; status?: { conditions?: Condition[] } }> };
  try {
    pods = await kube.request('GET', `/api/v1/namespaces/${namespace}/pods`, { query: { labelSelector: selector } });
  } catch (err) {
    return [{ ok: false, text: `can list the control plane's Pods in ${namespace}`, hint: errorText(err) }];
  }
  const items = pods.items ?? [];
  if (items.length === 0) return [{ ok: false, text: `control-plane Pods run in ${namespace}`, hint: `no Pod matches ${selector}: is the chart installed in this namespace?` }];
  return items.map((p) => {
    const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
    const text = `replica ${p.metadata?.name ?? '?'} serves xDS (Pod Ready)`;
    return ready?.status === 'True' ? { ok: true, text } : { ok: false, text, hint: `not ready${ready?.message ? `: ${ready.message}` : ''} (kubectl -n ${namespace} describe pod ${p.metadata?.name ?? ''})` };
  });
}

async function injectedNamespaces(kube: KubeRest, controlPlane: string): Promise<string[]> {
  try {
    const list = await kube.request<{ items?: Array<{ metadata?: { name?: string } }> }>('GET', '/api/v1/namespaces', { query: { labelSelector: 'pilotfish.io/inject=enabled' } });
    return (list.items ?? []).map((n) => n.metadata?.name ?? '').filter((n) => n !== '' && n !== controlPlane && n !== 'kube-system').sort();
  } catch {
    return [];
  }
}

interface WebhookConfig { webhooks?: Array<{ name?: string; failurePolicy?: string; clientConfig?: { caBundle?: string } }> }

async function webhookChecks(kube: KubeRest, name: string, injected: readonly string[]): Promise<Line[]> {
  let config: WebhookConfig;
  try {
    config = await kube.request<WebhookConfig>('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`);
  } catch (err) {
    return [{ ok: false, text: `MutatingWebhookConfiguration ${name} exists`, hint: errorCode(err) === 404 ? 'install the chart, or pass --webhook-config-name' : errorText(err) }];
  }
  const lines: Line[] = [{ ok: true, text: `MutatingWebhookConfiguration ${name} exists` }];
  for (const w of config.webhooks ?? []) lines.push(caBundleLine(w.name ?? '?', w.clientConfig?.caBundle ?? ''));
  lines.push(await dryRunInjection(kube, injected[0]));
  return lines;
}

/** The caBundle holds at least one certificate, none expired. (Whether it is the right CA, the dry run shows.) */
function caBundleLine(webhook: string, caBundle: string): Line {
  const text = `webhook ${webhook} has a valid caBundle`;
  if (caBundle === '') return { ok: false, text, hint: 'it is empty: pilotfish patches it at start; is the control plane running?' };
  const pem = Buffer.from(caBundle, 'base64').toString('utf8');
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return { ok: false, text, hint: 'it holds no PEM certificate' };
  try {
    for (const b of blocks) {
      const cert = new X509Certificate(b);
      if (Date.parse(cert.validTo) < Date.now()) return { ok: false, text, hint: `a certificate in it expired ${cert.validTo}` };
    }
  } catch (err) {
    return { ok: false, text, hint: `it does not parse: ${errorText(err)}` };
  }
  return { ok: true, text };
}

/**
 * The API server calls the webhook for a server-side dry-run Pod in an injected namespace: the
 * call only succeeds when the webhook is reachable and its certificate chains to the caBundle,
 * and the Pod comes back with pilotfish's containers. Nothing is created.
 */
async function dryRunInjection(kube: KubeRest, namespace: string | undefined): Promise<Line> {
  const text = 'the API server can call the webhook (dry-run Pod injected)';
  if (namespace === undefined) return { ok: true, text: 'webhook call not tried: no namespace has injection on' };
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'pilotfish-check-', namespace }, spec: { containers: [{ name: 'check', image: 'pilotfish-check' }] } };
  try {
    const result = await kube.request<{ spec?: { containers?: unknown[]; initContainers?: unknown[] } }>(
      'POST', `/api/v1/namespaces/${namespace}/pods`, { query: { dryRun: 'All' }, body: pod });
    const count = (result.spec?.containers?.length ?? 0) + (result.spec?.initContainers?.length ?? 0);
    if (count > 1) return { ok: true, text: `${text} in ${namespace}` };
    return { ok: false, text: `${text} in ${namespace}`, hint: 'the Pod came back uninjected: with failurePolicy Ignore a failing webhook call is silent; check the caBundle and that a replica serves the webhook' };
  } catch (err) {
    return { ok: false, text: `${text} in ${namespace}`, hint: `${errorText(err)} (a wrong caBundle shows as "x509: certificate signed by unknown authority")` };
  }
}
