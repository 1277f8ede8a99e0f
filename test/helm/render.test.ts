// The chart through the real helm binary: lint, render with the default and with a customised
// HA values file, and validate every rendered object against the Kubernetes schemas.
import assert from 'node:assert/strict';
import { PilotfishMetrics } from '../../src/admin/metrics.js';
import { helm } from '../support/k8s-tools.js';
import { CHART_DIR, HA_VALUES, one, render, renderText, renderedFlag, templateArgs, type K8sObject } from './chart.js';
import { schemaProblems } from './k8s-schema.js';

interface PodSpecLike {
  affinity?: { podAntiAffinity?: Record<string, unknown> };
  containers: Array<{ lifecycle?: { preStop?: { sleep?: { seconds: number } } }; image: string; args: string[] }>;
}
type DeploymentLike = K8sObject & { spec: { replicas: number; template: { spec: PodSpecLike } } };

const EXPECTED_KINDS = [
  'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition',
  'CustomResourceDefinition', 'CustomResourceDefinition', 'Deployment',
  'MutatingWebhookConfiguration', 'NetworkPolicy', 'PodDisruptionBudget', 'Role', 'Role', 'RoleBinding', 'Service', 'ServiceAccount',
];

function assertValid(objects: readonly K8sObject[]): void {
  const problems = objects.flatMap(schemaProblems);
  assert.deepEqual(problems, [], `rendered objects that the API server would reject:\n${problems.join('\n')}`);
}

describe('helm chart: lint and render (real helm)', () => {
  it('passes `helm lint --strict` with the default values and with the HA values', async () => {
    for (const args of [['lint', '--strict', CHART_DIR], ['lint', '--strict', CHART_DIR, '--values', HA_VALUES]]) {
      const r = await helm(args);
      assert.equal(r.code, 0, `helm ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders the default values into valid objects: 2 replicas, a PDB, soft anti-affinity, preStop sleep', async () => {
    const objects = await render();
    assert.deepEqual(objects.map((o) => o.kind).sort(), EXPECTED_KINDS);
    assertValid(objects);
    const deployment = one<DeploymentLike>(objects, 'Deployment');
    assert.equal(deployment.spec.replicas, 2);
    const pod = deployment.spec.template.spec;
    assert.ok(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, 'soft anti-affinity by default');
    assert.equal(pod.containers[0].lifecycle?.preStop?.sleep?.seconds, 5);
  });

  it('renders the HA values (3 replicas, hard anti-affinity, ServiceMonitor, digests) into valid objects', async () => {
    const objects = await render({ valuesFiles: [HA_VALUES] });
    assert.deepEqual(objects.map((o) => o.kind).sort(), [...EXPECTED_KINDS, 'ServiceMonitor'].sort());
    assertValid(objects);
    const deployment = one<DeploymentLike>(objects, 'Deployment');
    assert.equal(deployment.spec.replicas, 3);
    assert.ok(deployment.spec.template.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
    assert.match(deployment.spec.template.spec.containers[0].image, /@sha256:[0-9a-f]{64}$/);
  });

  it('renders no HorizontalPodAutoscaler by default; the Deployment passes the connection age and drain window', async () => {
    const objects = await render();
    assert.equal(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').length, 0);
    const args = one<DeploymentLike>(objects, 'Deployment').spec.template.spec.containers[0].args;
    assert.equal(renderedFlag(args, 'xds-max-connection-age'), '30m');
    assert.equal(renderedFlag(args, 'xds-drain-window'), '10s');
  });

  it('renders a valid HorizontalPodAutoscaler on CPU and connected proxies when asked; the Deployment leaves replicas to it', async () => {
    type Hpa = K8sObject & { spec: { minReplicas: number; maxReplicas: number; scaleTargetRef: { kind: string; name: string }; metrics: unknown[]; behavior?: unknown } };
    const objects = await render({
      set: ['autoscaling.enabled=true', 'autoscaling.minReplicas=3', 'autoscaling.maxReplicas=8', 'autoscaling.targetConnectedProxies=1000',
        'autoscaling.behavior.scaleDown.stabilizationWindowSeconds=600', 'xds.maxConnectionAge=10m', 'xds.drainWindow=0'],
    });
    assertValid(objects);
    const hpa = one<Hpa>(objects, 'HorizontalPodAutoscaler');
    const deployment = one<DeploymentLike>(objects, 'Deployment');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    assert.equal(hpa.spec.minReplicas, 3);
    assert.equal(hpa.spec.maxReplicas, 8);
    assert.deepEqual(hpa.spec.metrics, [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
      { type: 'Pods', pods: { metric: { name: 'pilotfish_xds_connected_proxies' }, target: { type: 'AverageValue', averageValue: '1000' } } },
    ]);
    assert.deepEqual(hpa.spec.behavior, { scaleDown: { stabilizationWindowSeconds: 600 } });
    const exported = (await new PilotfishMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    assert.ok(exported.includes('pilotfish_xds_connected_proxies'), 'the HPA\'s metric is one pilotfish exports');
    assert.equal(deployment.spec.replicas, undefined, 'a fixed count would fight the autoscaler on every upgrade');
    const args = deployment.spec.template.spec.containers[0].args;
    assert.equal(renderedFlag(args, 'xds-max-connection-age'), '10m');
    assert.equal(renderedFlag(args, 'xds-drain-window'), '0');
    assert.equal(objects.filter((o) => o.kind === 'PodDisruptionBudget').length, 1, 'minReplicas 3: the PDB stays');

    const cpuOnly = one<Hpa>(await render({ set: ['autoscaling.enabled=true', 'autoscaling.minReplicas=1'] }), 'HorizontalPodAutoscaler');
    assert.deepEqual(cpuOnly.spec.metrics.map((m) => (m as { type: string }).type), ['Resource']);
  });

  it('refuses an autoscaler with no target, or with minReplicas above maxReplicas, naming the values', async () => {
    for (const [set, message] of [
      [['autoscaling.enabled=true', 'autoscaling.targetCPUUtilizationPercentage=0'], /autoscaling.enabled needs a target/],
      [['autoscaling.enabled=true', 'autoscaling.minReplicas=6'], /autoscaling.minReplicas \(6\) is above autoscaling.maxReplicas \(5\)/],
    ] as const) {
      const r = await helm(templateArgs({ set }));
      assert.notEqual(r.code, 0, `helm accepted --set ${set.join(' ')}`);
      assert.match(r.stderr, message);
    }
  });

  it('leaves out the PDB for a single replica (it would block every node drain)', async () => {
    const objects = await render({ set: ['replicas=1'] });
    assertValid(objects);
    assert.equal(objects.filter((o) => o.kind === 'PodDisruptionBudget').length, 0);
  });

  it('leaves out the preStop sleep on clusters older than 1.30, which do not know the action', async () => {
    const objects = await render({ kubeVersion: 'v1.29.4' });
    assertValid(objects);
    const pod = one<DeploymentLike>(objects, 'Deployment').spec.template.spec;
    assert.equal(pod.containers[0].lifecycle, undefined);
  });

  it('renders without anti-affinity when asked, and a given affinity replaces the default', async () => {
    const none = one<DeploymentLike>(await render({ set: ['podAntiAffinity=none'] }), 'Deployment');
    assert.equal(none.spec.template.spec.affinity, undefined);
    const objects = await render({ set: ['affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool',
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists'] });
    assertValid(objects);
    const given = one<DeploymentLike>(objects, 'Deployment').spec.template.spec.affinity as Record<string, unknown>;
    assert.deepEqual(Object.keys(given), ['nodeAffinity']);
  });

  it('renders a NetworkPolicy by default that admits only the xDS, webhook and monitoring ports', async () => {
    type Rule = { from?: Array<{ namespaceSelector?: Record<string, unknown> }>; ports: Array<{ port: string; protocol: string }> };
    const objects = await render({ set: ['networkPolicy.metricsNamespaceSelector.matchLabels.team=observability'] });
    assertValid(objects);
    const policy = one<K8sObject & { spec: { policyTypes: string[]; podSelector: { matchLabels: Record<string, string> }; ingress: Rule[] } }>(objects, 'NetworkPolicy');
    assert.deepEqual(policy.spec.policyTypes, ['Ingress']);
    const deployment = one<K8sObject & { spec: { template: { metadata: { labels: Record<string, string> } } } }>(objects, 'Deployment');
    for (const [k, v] of Object.entries(policy.spec.podSelector.matchLabels)) assert.equal(deployment.spec.template.metadata.labels[k], v, 'selects pilotfish\'s Pods');
    assert.deepEqual(policy.spec.ingress.map((r) => r.ports.map((p) => p.port)), [['grpc-xds-tls'], ['https-webhook'], ['http-monitoring']]);
    assert.deepEqual(policy.spec.ingress[0].from, [{ namespaceSelector: {} }], 'TLS xDS from Pods in any namespace');
    assert.equal(policy.spec.ingress[1].from, undefined, 'the webhook from anywhere: the API server is not a Pod');
    assert.deepEqual(policy.spec.ingress[2].from, [{ namespaceSelector: { matchLabels: { team: 'observability' } } }]);
    const named = new Set(JSON.stringify(deployment).match(/"name":"(grpc-xds-tls|https-webhook|http-monitoring)"/g));
    assert.equal(named.size, 3, 'every port the policy names is a named container port');
    const off = await render({ set: ['networkPolicy.enabled=false'] });
    assert.equal(off.filter((o) => o.kind === 'NetworkPolicy').length, 0);
  });

  describe('xDS: TLS on 15012 only by default; plaintext 15010 only when asked (tests)', () => {
    type Ports = Array<{ name: string; port?: number; containerPort?: number; targetPort?: string }>;
    type Svc = K8sObject & { spec: { ports: Ports } };
    type Dep = K8sObject & { spec: { template: { spec: { containers: Array<{ args: string[]; ports: Ports }> } } } };
    type Policy = K8sObject & { spec: { ingress: Array<{ ports: Array<{ port: string }> }> } };
    const view = (objects: K8sObject[]): { svc: Svc; container: Dep['spec']['template']['spec']['containers'][0]; policyPorts: string[] } => ({
      svc: one<Svc>(objects, 'Service'),
      container: one<Dep>(objects, 'Deployment').spec.template.spec.containers[0],
      policyPorts: one<Policy>(objects, 'NetworkPolicy').spec.ingress.flatMap((r) => r.ports.map((p) => p.port)),
    });

    it('default: no 15010 anywhere; the Service and the container expose grpc-xds-tls 15012, the controller listens there', async () => {
      const text = await renderText({ includeCrds: false });
      assert.doesNotMatch(text, /15010/, 'no plaintext xDS port in any rendered object');
      assert.doesNotMatch(text, /grpc-xds"?\s*$/m, 'no plaintext port name');
      const objects = await render();
      assertValid(objects);
      const { svc, container, policyPorts } = view(objects);
      assert.deepEqual(svc.spec.ports.filter((p) => p.name.startsWith('grpc-xds')), [
        { name: 'grpc-xds-tls', port: 15012, targetPort: 'grpc-xds-tls', protocol: 'TCP', appProtocol: 'grpc' }]);
      assert.deepEqual(container.ports.filter((p) => p.name.startsWith('grpc-xds')), [{ name: 'grpc-xds-tls', containerPort: 15012, protocol: 'TCP' }]);
      assert.equal(renderedFlag(container.args, 'xds-tls-address'), '0.0.0.0:15012');
      assert.equal(renderedFlag(container.args, 'xds-address'), undefined, 'no plaintext listener asked for');
      assert.equal(renderedFlag(container.args, 'proxy-xds-address'), 'pilotfish.pilotfish-system.svc:15012', 'injected pods dial the TLS port');
      assert.ok(policyPorts.includes('grpc-xds-tls') && !policyPorts.includes('grpc-xds'));
    });

    it('xds.plaintext.enabled=true: 15010 on the Service, the container, the NetworkPolicy and the command line as well', async () => {
      const objects = await render({ set: ['xds.plaintext.enabled=true'] });
      assertValid(objects);
      const { svc, container, policyPorts } = view(objects);
      assert.deepEqual(svc.spec.ports.filter((p) => p.name.startsWith('grpc-xds')).map((p) => [p.name, p.port]), [['grpc-xds-tls', 15012], ['grpc-xds', 15010]]);
      assert.deepEqual(container.ports.filter((p) => p.name.startsWith('grpc-xds')).map((p) => [p.name, p.containerPort]), [['grpc-xds-tls', 15012], ['grpc-xds', 15010]]);
      assert.equal(renderedFlag(container.args, 'xds-address'), '0.0.0.0:15010');
      assert.equal(renderedFlag(container.args, 'xds-tls-address'), '0.0.0.0:15012');
      assert.deepEqual(policyPorts.filter((p) => p.startsWith('grpc-xds')), ['grpc-xds-tls', 'grpc-xds']);
    });
  });

  it('the schema check itself catches a misplaced field and a wrong type', () => {
    const bad: K8sObject = {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' },
      spec: { ports: [{ port: 'http', targetPort: 80 }], selectr: { a: 'b' } },
    };
    const problems = schemaProblems(bad);
    assert.ok(problems.some((p) => p.includes('spec.selectr: not a field of V1ServiceSpec')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('/spec/ports/0/port must be integer')), problems.join('\n'));
  });
});
