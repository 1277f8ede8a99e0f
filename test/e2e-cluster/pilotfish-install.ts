// Installs pilotfish into the real control plane the way `helm install` would, except that the
// controller runs here as a local process instead of in a Pod (there is no kubelet): the chart is
// rendered with the real helm binary and applied as is, apart from the webhook configuration,
// whose clientConfig points at the local controller by URL instead of at the in-cluster Service.
// The controller then authenticates as the chart's ServiceAccount, so the chart's RBAC is exactly
// what it gets.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePorts, type Cluster } from '../cluster/cluster.js';
import type { KubeObject } from '../cluster/kube-rest.js';
import { helm } from '../support/k8s-tools.js';
import { PilotfishProcess, REPO_ROOT } from '../support/pilotfish-process.js';
import { bounded, installCrds, parseManifests } from './fixture.js';

export const CHART_DIR = path.join(REPO_ROOT, 'deploy', 'helm', 'pilotfish');
export const RELEASE = 'pilotfish';
export const CONTROL_PLANE_NAMESPACE = 'pilotfish-system';

export interface WebhookClientConfig {
  url?: string;
  service?: { name: string; namespace: string; path?: string; port?: number };
  caBundle?: string;
}

export interface Webhook {
  name: string;
  failurePolicy?: 'Fail' | 'Ignore';
  clientConfig: WebhookClientConfig;
  [key: string]: unknown;
}

export interface MutatingWebhookConfiguration extends KubeObject {
  webhooks: Webhook[];
}

export interface Installation {
  /** Everything `helm template` rendered, as rendered. */
  readonly rendered: readonly KubeObject[];
  /** The ServiceAccount the chart runs pilotfish as. */
  readonly serviceAccount: string;
  readonly webhookConfigName: string;
  /** The failurePolicy the chart configured (the same for every webhook of the configuration). */
  readonly failurePolicy: 'Fail' | 'Ignore';
  /** The local port the webhook configuration sends AdmissionReviews to. */
  readonly webhookPort: number;
  /** The args of the chart's pilotfish container (`controller --namespace=...`). */
  readonly controllerArgs: readonly string[];
}

/** `helm template` of the chart with its default values, CRDs included. */
export async function renderChart(args: readonly string[] = []): Promise<KubeObject[]> {
  if (!existsSync(path.join(CHART_DIR, 'Chart.yaml'))) {
    throw new Error(`no Helm chart at ${CHART_DIR} (Chart.yaml missing): the cluster suite installs pilotfish from it`);
  }
  const out = await helm(['template', RELEASE, CHART_DIR, '--namespace', CONTROL_PLANE_NAMESPACE, '--include-crds', ...args]);
  if (out.code !== 0) throw new Error(`helm template ${CHART_DIR} failed (exit ${out.code}):\n${out.stderr}`);
  return parseManifests(out.stdout, `helm template ${CHART_DIR}`);
}

/** A webhook configuration that reaches a process on 127.0.0.1:port instead of the chart's Service. */
export function pointAtLocalPort(config: MutatingWebhookConfiguration, port: number): MutatingWebhookConfiguration {
  return {
    ...config,
    webhooks: config.webhooks.map((w) => {
      const { service, ...rest } = w.clientConfig;
      return { ...w, clientConfig: { ...rest, url: `https://127.0.0.1:${port}${service?.path ?? '/'}` } };
    }),
  };
}

let installed: Promise<Installation> | undefined;

/** Installs the chart once per cluster run; later calls return the same installation. */
export function installPilotfish(cluster: Cluster): Promise<Installation> {
  installed ??= install(cluster);
  return installed;
}

async function install(cluster: Cluster): Promise<Installation> {
  const rendered = await renderChart();
  const ofKind = (kind: string): KubeObject[] => rendered.filter((o) => o.kind === kind);

  const crds = ofKind('CustomResourceDefinition');
  assert.ok(crds.length > 0, 'the chart renders no CustomResourceDefinition (helm template --include-crds)');
  await installCrds(cluster, crds);

  const namespaced = rendered.filter((o) => o.kind !== 'CustomResourceDefinition' && o.kind !== 'Namespace');
  if (!ofKind('Namespace').some((n) => n.metadata?.name === CONTROL_PLANE_NAMESPACE)) {
    await cluster.admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: CONTROL_PLANE_NAMESPACE } });
  }
  for (const ns of ofKind('Namespace')) await cluster.admin.apply(ns);

  const configs = ofKind('MutatingWebhookConfiguration') as MutatingWebhookConfiguration[];
  assert.equal(configs.length, 1, `the chart should render one MutatingWebhookConfiguration, rendered ${configs.length}`);
  const config = configs[0]!;
  const policies = new Set(config.webhooks.map((w) => w.failurePolicy ?? 'Fail'));
  assert.equal(policies.size, 1, `webhooks of ${config.metadata?.name} disagree on failurePolicy: ${[...policies].join(', ')}`);

  const [webhookPort] = await freePorts(1) as [number];
  for (const obj of namespaced) {
    // Applied as rendered, Deployment and Service included: without a kubelet the Deployment
    // never runs a Pod, but a rendering the API server refuses fails here.
    await cluster.admin.apply(obj.kind === 'MutatingWebhookConfiguration' ? pointAtLocalPort(config, webhookPort) : obj, CONTROL_PLANE_NAMESPACE);
  }

  const serviceAccounts = ofKind('ServiceAccount');
  assert.equal(serviceAccounts.length, 1, `the chart should render one ServiceAccount, rendered ${serviceAccounts.length}`);
  const deployments = ofKind('Deployment');
  assert.equal(deployments.length, 1, `the chart should render one Deployment, rendered ${deployments.length}`);
  const podSpec = (deployments[0] as { spec: { template: { spec: { containers: Array<{ args?: string[] }> } } } }).spec.template.spec;
  return {
    rendered,
    serviceAccount: serviceAccounts[0]!.metadata!.name!,
    webhookConfigName: config.metadata!.name!,
    failurePolicy: [...policies][0]!,
    webhookPort,
    controllerArgs: podSpec.containers[0]?.args ?? [],
  };
}

/** Rendered args without the flags the local run sets itself. */
function withoutFlags(args: readonly string[], names: readonly string[]): string[] {
  return args.filter((a) => !names.some((n) => a === `--${n}` || a.startsWith(`--${n}=`)));
}

/**
 * Starts `pilotfish controller` as the chart's ServiceAccount, listening on 127.0.0.1 (the webhook
 * on the port the webhook configuration calls), and waits until it serves xDS and the webhook.
 * `args`: 'chart' runs it with the chart's own container args (injector settings included),
 * overriding only what must differ outside a Pod; 'minimal' passes only those overrides.
 * `overrides` replace any of those flags (an http address the API server can reach, say).
 */
export async function startController(
  cluster: Cluster, inst: Installation, args: 'chart' | 'minimal' = 'chart', overrides: Readonly<Record<string, string>> = {},
): Promise<PilotfishProcess> {
  const kubeconfig = await cluster.serviceAccountKubeconfig(CONTROL_PLANE_NAMESPACE, inst.serviceAccount);
  const local: Record<string, string> = {
    kubeconfig,
    namespace: CONTROL_PLANE_NAMESPACE,
    'webhook-address': `127.0.0.1:${inst.webhookPort}`,
    'xds-address': '127.0.0.1:0',
    // The controller always serves the TLS xDS port; outside a Pod, on a free loopback port.
    'xds-tls-address': '127.0.0.1:0',
    'http-address': '127.0.0.1:0',
    'log-level': 'debug',
    ...overrides,
  };
  if (args === 'chart') {
    // The API server calls https://127.0.0.1:PORT, so the self-managed certificate must name it.
    local['webhook-cert-hosts'] = '127.0.0.1';
  }
  const base = args === 'chart' ? withoutFlags(inst.controllerArgs, Object.keys(local)) : ['controller', '--no-webhook'];
  const argv = [...base, ...Object.entries(local).map(([k, v]) => `--${k}=${v}`)];
  assert.equal(argv[0], 'controller', `the chart's container args should start with "controller": ${inst.controllerArgs.join(' ')}`);
  const pf = PilotfishProcess.start(argv);
  try {
    await bounded(pf.serving(), 60_000, 'pilotfish controller to serve xDS', pf);
    // Only the chart's args configure the injector; the minimal run serves no webhook calls.
    if (args === 'chart') await bounded(pf.waitForLog((l) => l.message === 'webhook listening', 'the webhook to listen'), 60_000, 'the webhook to listen', pf);
  } catch (err) {
    await pf.stop('SIGKILL');
    throw err;
  }
  return pf;
}

/** Waits until every webhook of the configuration carries a caBundle (pilotfish patches it in). */
export async function webhookCaBundlePatched(cluster: Cluster, configName: string): Promise<MutatingWebhookConfiguration> {
  return cluster.admin.waitFor<MutatingWebhookConfiguration>(
    `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations?fieldSelector=metadata.name%3D${configName}`,
    (c) => c.webhooks.length > 0 && c.webhooks.every((w) => (w.clientConfig.caBundle ?? '') !== ''),
    `pilotfish to patch the caBundle into ${configName}`);
}
