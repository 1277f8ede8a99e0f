// The rendered chart against the code that will run in it: ports, paths, names, labels and
// selectors all come from the code's own constants and flag parser, never re-typed here.
//  - The container's args are parsed by pilotfish's real flag parser; what it understood (names,
//    namespace, ports) must be what the chart rendered for the Service, the webhook configuration,
//    the Role and the Lease.
//  - The webhook's selectors are evaluated like the API server does and compared with the
//    injector's own decision function: the API server calls pilotfish for exactly the Pods it injects.
//  - With the documented release name, every name is also the binary's built-in default.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createAdminServer } from '../../src/admin/http-server.js';
import { splitHostPort } from '../../src/host-port.js';
import { parseControllerFlags } from '../../src/cli/controller.js';
import {
  injectorConfigFromFlags, serviceHosts, webhookFlagOptions, type WebhookSettings,
} from '../../src/cli/webhook-command.js';
import { TRAFFIC_POLICIES, TRAFFIC_ROUTES } from '../../src/sources/kube/kinds.js';
import { silentLogger } from '../../src/logging.js';
import { decideInjection, SYSTEM_NAMESPACES } from '../../src/webhook/decision.js';
import { DEFAULT_INJECTOR_CONFIG } from '../../src/webhook/inject.js';
import {
  DEFAULT_CONTROL_PLANE_NAMESPACE, DEFAULT_INIT_IMAGE, DEFAULT_PROXY_IMAGE, DEFAULT_XDS_ADDRESS,
  NAMESPACE_INJECT_ENABLED, NAMESPACE_INJECT_LABEL, POD_INJECT_LABEL, PORT_WEBHOOK, PORT_XDS, PROXY_CONTAINER_NAME,
} from '../../src/webhook/injection-names.js';
import { ADMISSION_API_VERSION } from '../../src/webhook/review.js';
import { INJECT_PATH } from '../../src/webhook/server.js';
import { DEFAULT_CA_SECRET_NAME } from '../../src/security/ca/secret-store.js';
import { DEFAULT_RELEASE, one, parseControllerArgs, render, renderNotes, type K8sObject } from './chart.js';

/** The TLS xDS port (Istio's 15012): the controller's constant for it lands with the TLS port change. */
const PORT_XDS_TLS = 15012;

// ---- shapes of the rendered objects this test reads ----
interface Port { name: string; port: number; targetPort: string | number }
interface ContainerPort { name: string; containerPort: number }
interface Probe { httpGet: { path: string; port: string | number } }
interface Container {
  name: string; image: string; args: string[]; ports: ContainerPort[];
  env: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  readinessProbe: Probe; livenessProbe: Probe;
}
type Service = K8sObject & { spec: { selector: Record<string, string>; ports: Port[] } };
type Deployment = K8sObject & {
  spec: { selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; containers: Container[] } } };
};
type Pdb = K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } };
interface Requirement { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }
interface Selector { matchLabels?: Record<string, string>; matchExpressions?: Requirement[] }
interface Webhook {
  name: string; admissionReviewVersions: string[]; sideEffects: string; failurePolicy: string; reinvocationPolicy: string;
  clientConfig: { service: { name: string; namespace: string; path: string; port: number } };
  rules: Array<{ operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[] }>;
  namespaceSelector: Selector; objectSelector: Selector;
}
type Mwc = K8sObject & { webhooks: Webhook[] };
type Crd = K8sObject & { spec: { group: string; names: { kind: string; plural: string }; versions: Array<{ name: string; served: boolean }> } };
interface Rule { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }
type Role = K8sObject & { rules: Rule[] };

/** The API server's label selector semantics (k8s.io/apimachinery/pkg/labels). */
function matches(sel: Selector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const inValues = has && (r.values ?? []).includes(labels[r.key]);
    if (r.operator === 'In' && !inValues) return false;
    if (r.operator === 'NotIn' && inValues) return false;
    if (r.operator === 'Exists' && !has) return false;
    if (r.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  const hit = args.find((a) => a.startsWith(`--${flag}=`));
  return hit?.slice(flag.length + 3);
}

interface Rendered {
  objects: K8sObject[];
  service: Service;
  deployment: Deployment;
  container: Container;
  mwc: Mwc;
  role: Role;
}

async function rendered(release: { name: string; namespace: string }): Promise<Rendered> {
  const objects = await render({ release });
  const deployment = one<Deployment>(objects, 'Deployment');
  const container = deployment.spec.template.spec.containers[0];
  return {
    objects, deployment, container,
    service: one<Service>(objects, 'Service'),
    mwc: one<Mwc>(objects, 'MutatingWebhookConfiguration'),
    role: one<Role>(objects, 'Role', one<K8sObject & { roleRef: { name: string } }>(objects, 'RoleBinding').roleRef.name),
  };
}

/** What pilotfish's own parser makes of the rendered command line. */
function parsedArgs(c: Container): WebhookSettings {
  return parseControllerArgs(c.args).webhook;
}

function containerPort(c: Container, target: string | number): number {
  if (typeof target === 'number') return target;
  const p = c.ports.find((x) => x.name === target);
  assert.ok(p, `no container port named ${target}`);
  return p.containerPort;
}

const RELEASES = [DEFAULT_RELEASE, { name: 'mesh', namespace: 'mesh-control' }];

describe('helm chart: agrees with the injector and controller code', () => {
  for (const release of RELEASES) {
    describe(`release ${release.name} in ${release.namespace}`, () => {
      let r: Rendered;
      before(async () => {
        r = await rendered(release);
      });

      it('the container command line parses, and names the objects the chart renders', () => {
        const s = parsedArgs(r.container);
        const c = parseControllerArgs(r.container.args).controller;
        assert.equal(s.namespace, release.namespace);
        assert.equal(c.namespace, release.namespace);
        assert.equal(splitHostPort(c.webhookAddress).port, s.port, 'controller and injector agree on the webhook address');
        assert.equal(s.serviceName, r.service.metadata.name);
        assert.equal(s.webhookConfigName, r.mwc.metadata.name);
        assert.equal(s.port, PORT_WEBHOOK);
        const secretNames = r.role.rules.filter((x) => x.resources.includes('secrets')).flatMap((x) => x.resourceNames ?? []);
        assert.deepEqual(secretNames.sort(), [DEFAULT_CA_SECRET_NAME, s.tlsSecretName].sort(), 'the Role pins the Secrets the injector and the mesh CA manage');
        const leaseNames = r.role.rules.filter((x) => x.resources.includes('leases')).flatMap((x) => x.resourceNames ?? []);
        assert.deepEqual(leaseNames, [c.leaseName], 'the Role pins the Lease leader election uses');
        const injector = injectorConfigFromFlags(s.injectorFlags, false, 'controller');
        assert.deepEqual(injector.xds, { host: `${r.service.metadata.name}.${release.namespace}.svc`, port: PORT_XDS_TLS },
          'injected pods dial the Service on the TLS xDS port');
      });

      it('the Service maps TLS xDS, webhook (443) and monitoring ports to the ports the process listens on', () => {
        const s = parsedArgs(r.container);
        const c = parseControllerArgs(r.container.args).controller;
        const byName = new Map(r.service.spec.ports.map((p) => [p.name, p]));
        assert.equal(byName.get('grpc-xds'), undefined, 'no plaintext xDS by default');
        const xds = byName.get('grpc-xds-tls');
        assert.ok(xds);
        assert.equal(xds.port, PORT_XDS_TLS);
        const tlsAddress = flagValue(r.container.args, 'xds-tls-address');
        assert.ok(tlsAddress, 'the controller is told where to serve TLS xDS');
        assert.equal(containerPort(r.container, xds.targetPort), splitHostPort(tlsAddress).port);
        const hook = r.service.spec.ports.find((p) => p.port === r.mwc.webhooks[0].clientConfig.service.port);
        assert.ok(hook, 'a Service port for the webhook clientConfig port');
        assert.equal(hook.port, 443);
        assert.equal(containerPort(r.container, hook.targetPort), s.port);
        const monitoring = byName.get('http-monitoring');
        assert.ok(monitoring);
        assert.equal(containerPort(r.container, monitoring.targetPort), splitHostPort(c.httpAddress).port);
        for (const probe of [r.container.readinessProbe, r.container.livenessProbe]) {
          assert.equal(containerPort(r.container, probe.httpGet.port), splitHostPort(c.httpAddress).port, 'probes ask the HTTP port');
        }
      });

      it('selectors of the Service, Deployment and PDB select the Pod template', () => {
        const podLabels = r.deployment.spec.template.metadata.labels;
        assert.ok(matches({ matchLabels: r.service.spec.selector }, podLabels));
        assert.ok(matches(r.deployment.spec.selector, podLabels));
        assert.ok(matches(one<Pdb>(r.objects, 'PodDisruptionBudget').spec.selector, podLabels));
      });

      it('the webhook calls the injector\'s path on its Service, with the API and options it implements', () => {
        for (const w of r.mwc.webhooks) {
          assert.deepEqual(w.clientConfig.service, { name: r.service.metadata.name, namespace: release.namespace, path: INJECT_PATH, port: 443 });
          assert.ok(serviceHosts(r.service.metadata.name, release.namespace).includes(`${w.clientConfig.service.name}.${w.clientConfig.service.namespace}.svc`),
            'the self-managed serving certificate covers the name the API server dials');
          assert.deepEqual(w.admissionReviewVersions, [ADMISSION_API_VERSION.split('/')[1]]);
          assert.equal(w.sideEffects, 'None');
          assert.equal(w.reinvocationPolicy, 'IfNeeded');
          assert.deepEqual(w.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
          assert.equal(w.failurePolicy, 'Fail');
        }
      });

      it('the webhook selectors send the API server\'s calls for exactly the Pods the injector injects', () => {
        const namespaces: Array<{ name: string; labels: Record<string, string> }> = [
          { name: 'shop', labels: { [NAMESPACE_INJECT_LABEL]: NAMESPACE_INJECT_ENABLED } },
          { name: 'plain', labels: {} },
          { name: 'other-value', labels: { [NAMESPACE_INJECT_LABEL]: 'disabled' } },
          ...[release.namespace, ...SYSTEM_NAMESPACES].map((name) => ({ name, labels: { [NAMESPACE_INJECT_LABEL]: NAMESPACE_INJECT_ENABLED } })),
        ];
        const podLabels: Array<Record<string, string>> = [{}, { [POD_INJECT_LABEL]: 'true' }, { [POD_INJECT_LABEL]: 'false' }, { app: 'web' }];
        const policy = { controlPlaneNamespace: parsedArgs(r.container).namespace };
        for (const ns of namespaces) {
          // The API server sets this label on every namespace; selectors may rely on it.
          const nsLabels = { ...ns.labels, 'kubernetes.io/metadata.name': ns.name };
          for (const labels of podLabels) {
            const called = r.mwc.webhooks.filter((w) => matches(w.namespaceSelector, nsLabels) && matches(w.objectSelector, labels));
            const pod = { metadata: { name: 'p', namespace: ns.name, labels }, spec: { containers: [{ name: 'app', image: 'app' }] } };
            const decision = decideInjection({ pod, namespace: ns.name, namespaceLabels: ns.labels }, policy);
            const what = `pod ${JSON.stringify(labels)} in ${ns.name} ${JSON.stringify(ns.labels)}`;
            assert.ok(called.length <= 1, `${what}: called by ${called.map((w) => w.name).join(' and ')}; the webhooks must not overlap`);
            assert.equal(called.length === 1, decision.inject, `${what}: webhook called=${called.length === 1}, injector decides ${decision.reason}`);
          }
        }
      });

      it('the routing CRDs are the kinds, group and plurals the controller lists and watches', () => {
        const crds = r.objects.filter((o): o is Crd => o.kind === 'CustomResourceDefinition');
        for (const kind of [TRAFFIC_ROUTES, TRAFFIC_POLICIES]) {
          const crd = crds.find((c) => c.spec.names.kind === kind.kind);
          assert.ok(crd, `a CRD for ${kind.kind}`);
          const [group, version] = kind.apiVersion.split('/');
          assert.equal(crd.spec.group, group);
          assert.ok(crd.spec.versions.some((v) => v.name === version && v.served), `${kind.kind} ${version} is served`);
          assert.equal(kind.path, `/apis/${group}/${version}/${crd.spec.names.plural}`);
        }
      });

      it('runs as the ServiceAccount the bindings name, with the Pod\'s name and namespace from the downward API', () => {
        const sa = one(r.objects, 'ServiceAccount');
        assert.equal(r.deployment.spec.template.spec.serviceAccountName, sa.metadata.name);
        for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
          const b = one<K8sObject & { subjects: Array<{ kind: string; name: string; namespace: string }> }>(r.objects, kind);
          assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: release.namespace }]);
        }
        const env = new Map(r.container.env.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
        assert.equal(env.get('POD_NAME'), 'metadata.name');
        assert.equal(env.get('POD_NAMESPACE'), 'metadata.namespace');
      });
    });
  }

  it('with the documented release, every name and default is the binary\'s own default', async () => {
    const r = await rendered(DEFAULT_RELEASE);
    const args = r.container.args;
    assert.equal(DEFAULT_RELEASE.namespace, DEFAULT_CONTROL_PLANE_NAMESPACE);
    assert.equal(flagValue(args, 'namespace'), webhookFlagOptions.namespace.default);
    assert.equal(flagValue(args, 'service-name'), webhookFlagOptions['service-name'].default);
    assert.equal(flagValue(args, 'webhook-config-name'), webhookFlagOptions['webhook-config-name'].default);
    assert.equal(flagValue(args, 'tls-secret-name'), webhookFlagOptions['tls-secret-name'].default);
    // The injector's built-in default still names the plaintext port until the agent wiring lands.
    assert.equal(flagValue(args, 'proxy-xds-address'), DEFAULT_XDS_ADDRESS.replace(`:${PORT_XDS}`, `:${PORT_XDS_TLS}`));
    const c = parseControllerArgs(args).controller;
    const builtIn = parseControllerFlags([], {});
    // Plaintext xDS (--xds-address) has no default in the binary: the chart passes it explicitly while it still serves it.
    assert.deepEqual([c.xdsTls.address, c.httpAddress, c.webhookAddress, c.leaseName, c.outboundTrafficPolicy, c.scope.defaultScope],
      [builtIn.xdsTls.address, builtIn.httpAddress, builtIn.webhookAddress, builtIn.leaseName, builtIn.outboundTrafficPolicy, builtIn.scope.defaultScope]);
    assert.equal(flagValue(args, 'proxy-image'), DEFAULT_PROXY_IMAGE);
    assert.equal(flagValue(args, 'init-image'), DEFAULT_INIT_IMAGE);
    assert.equal(r.container.image, DEFAULT_INIT_IMAGE, 'the chart\'s default image is the one the injector names as init image');
    const res = DEFAULT_INJECTOR_CONFIG.resources;
    assert.deepEqual(
      ['proxy-cpu', 'proxy-memory', 'proxy-cpu-limit', 'proxy-memory-limit'].map((f) => flagValue(args, f)),
      [res.cpu, res.memory, res.cpuLimit, res.memoryLimit]);
    assert.equal(flagValue(args, 'proxy-concurrency'), String(DEFAULT_INJECTOR_CONFIG.proxyConcurrency));
    assert.equal(flagValue(args, 'proxy-log-level'), DEFAULT_INJECTOR_CONFIG.proxyLogLevel);
    assert.equal(flagValue(args, 'hold-application-until-proxy-starts'), String(DEFAULT_INJECTOR_CONFIG.holdApplicationUntilProxyStarts));
    assert.equal(flagValue(args, 'rewrite-app-probes'), String(DEFAULT_INJECTOR_CONFIG.rewriteAppProbes));
    assert.equal(flagValue(args, 'native-sidecars'), webhookFlagOptions['native-sidecars'].default);
    assert.equal(flagValue(args, 'on-error'), webhookFlagOptions['on-error'].default);
  });

  it('NOTES.txt tells how to enable injection and check it, with the names the code uses', async () => {
    const release = { name: 'mesh', namespace: 'mesh-control' };
    const [notes, r] = await Promise.all([renderNotes(release), rendered(release)]);
    assert.ok(notes.includes(`kubectl label namespace NAMESPACE ${NAMESPACE_INJECT_LABEL}=${NAMESPACE_INJECT_ENABLED}`), notes);
    assert.ok(notes.includes(`${POD_INJECT_LABEL}=true|false`), notes);
    assert.ok(notes.includes(PROXY_CONTAINER_NAME), notes);
    assert.ok(notes.includes(`mutatingwebhookconfiguration ${r.mwc.metadata.name}`), notes);
    assert.ok(notes.includes(`deployment/${r.deployment.metadata.name}`), notes);
    assert.ok(notes.includes(`${r.service.metadata.name}.${release.namespace}.svc:${PORT_XDS_TLS}`), notes);
  });

  it('the probes\' paths are served by the control plane\'s HTTP server (readiness waits for the sync)', async () => {
    const r = await rendered(DEFAULT_RELEASE);
    let ready = false;
    const app = createAdminServer({ logger: silentLogger(), ready: () => ready });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      assert.equal((await fetch(base + r.container.livenessProbe.httpGet.path)).status, 200);
      assert.equal((await fetch(base + r.container.readinessProbe.httpGet.path)).status, 503);
      ready = true;
      assert.equal((await fetch(base + r.container.readinessProbe.httpGet.path)).status, 200);
    } finally {
      await app.close();
    }
  });
});
