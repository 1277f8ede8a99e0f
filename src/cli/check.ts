// `pilotfish check --pre` (like `linkerd check --pre`): before installing, whether the cluster
// can take pilotfish — the API server answers and is recent enough, the caller may create what
// the chart creates (asked with SelfSubjectAccessReviews, so nothing is created), and which of
// pilotfish's CRDs are already there. One line per check, ✔ or ✘ with a hint; exit 1 on any ✘.
// Post-install checks are not built yet.
import { crdName, TRAFFIC_POLICY_KIND, TRAFFIC_ROUTE_KIND } from '../api/routing/v1alpha1/crd.js';
import { PEER_AUTHENTICATION_CRD_NAME } from '../api/security/v1alpha1/crd.js';
import { errorCode, errorText, KubeRest } from '../kube/rest.js';
import { DEFAULT_CONTROL_PLANE_NAMESPACE } from '../webhook/injection-names.js';
import type { ParsedLine } from './command-line.js';
import type { checkCommand } from './commands.js';
import { UsageError } from './flags.js';
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

const CRDS = [crdName(TRAFFIC_ROUTE_KIND), crdName(TRAFFIC_POLICY_KIND), PEER_AUTHENTICATION_CRD_NAME];

interface Line {
  readonly ok: boolean;
  readonly text: string;
  readonly hint?: string;
}

interface AccessReview {
  status?: { allowed?: boolean; reason?: string };
}

export async function check({ values }: ParsedLine<typeof checkCommand.flags>, out: NodeJS.WritableStream): Promise<number> {
  if (!values.pre) {
    throw new UsageError('pilotfish check: only the pre-install checks are built (pilotfish check --pre); post-install checks are not yet');
  }
  const kube = new KubeRest(loadKubeConfig(values.kubeconfig, process.env), 10_000);
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
  section('pre-install permissions', await Promise.all(INSTALLS.map((i) => canCreate(kube, i, namespace))));
  section('pilotfish CRDs', await Promise.all(CRDS.map((name) => crdPresence(kube, name))));
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
