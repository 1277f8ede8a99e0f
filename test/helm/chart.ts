// Renders the Helm chart with the real helm binary and hands the tests typed objects.
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseControllerFlags } from '../../src/cli/controller.js';
import { parseWebhookFlags } from '../../src/cli/webhook-command.js';
import { helm, type ToolResult } from '../support/k8s-tools.js';
import { REPO_ROOT } from '../support/pilotfish-process.js';

export const CHART_DIR = path.join(REPO_ROOT, 'deploy', 'helm', 'pilotfish');
export const HA_VALUES = path.join(REPO_ROOT, 'test', 'helm', 'values-ha.yaml');

/** The documented install: `helm install pilotfish deploy/helm/pilotfish -n pilotfish-system`. */
export const DEFAULT_RELEASE = { name: 'pilotfish', namespace: 'pilotfish-system' } as const;

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface RenderOptions {
  release?: { name: string; namespace: string };
  valuesFiles?: readonly string[];
  /** `--set` pairs. */
  set?: readonly string[];
  /** `--kube-version`: what .Capabilities.KubeVersion says. */
  kubeVersion?: string;
  /** Include the chart's crds/ (`--include-crds`); default true. */
  includeCrds?: boolean;
}

export function templateArgs(o: RenderOptions = {}): string[] {
  const release = o.release ?? DEFAULT_RELEASE;
  const args = ['template', release.name, CHART_DIR, '--namespace', release.namespace];
  if (o.includeCrds ?? true) args.push('--include-crds');
  for (const f of o.valuesFiles ?? []) args.push('--values', f);
  for (const s of o.set ?? []) args.push('--set', s);
  if (o.kubeVersion) args.push('--kube-version', o.kubeVersion);
  return args;
}

/** `helm template` output as raw text, failing the test with helm's own message if it fails. */
export async function renderText(o: RenderOptions = {}): Promise<string> {
  const r: ToolResult = await helm(templateArgs(o));
  assert.equal(r.code, 0, `helm ${templateArgs(o).join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

export function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors[0].message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) out.push(value);
  }
  return out;
}

export async function render(o: RenderOptions = {}): Promise<K8sObject[]> {
  return parseManifests(await renderText(o));
}

/** Exactly one object of this kind (and name, if given); fails listing what was rendered. */
export function one<T extends K8sObject = K8sObject>(objects: readonly K8sObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.equal(found.length, 1, `expected one ${kind}${name ? ` ${name}` : ''}, rendered: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0] as T;
}

/**
 * `pilotfish controller` takes the union of the controller's flags (src/cli/controller.ts) and the
 * injector's (src/cli/webhook-command.ts). Both define --xds-address: for the controller it is where
 * xDS listens, for the injector the address injected proxies dial, so in the union the injector's
 * is spelled --proxy-xds-address. Until one parser takes the union, each part goes to its own parser.
 */
const CONTROLLER_ONLY = ['xds-address', 'http-address', 'lease-name', 'lease-duration', 'identity', 'no-debug-endpoints', 'outbound-traffic-policy'];
const SHARED = ['namespace', 'log-level', 'webhook-address', 'kubeconfig'];
const RENAMED: Readonly<Record<string, string>> = { 'proxy-xds-address': 'xds-address' };

export interface ParsedControllerArgs {
  readonly controller: ReturnType<typeof parseControllerFlags>;
  readonly webhook: ReturnType<typeof parseWebhookFlags>;
}

/** What pilotfish's own flag parsers make of a rendered `controller` command line. */
export function parseControllerArgs(args: readonly string[]): ParsedControllerArgs {
  assert.equal(args[0], 'controller', 'the container runs `pilotfish controller`');
  const name = (a: string): string => /^--([^=]+)/.exec(a)?.[1] ?? a;
  const controllerArgs: string[] = [];
  const webhookArgs: string[] = [];
  for (const a of args.slice(1)) {
    const n = name(a);
    if (CONTROLLER_ONLY.includes(n)) controllerArgs.push(a);
    else if (SHARED.includes(n)) controllerArgs.push(a), webhookArgs.push(a);
    else if (RENAMED[n]) webhookArgs.push(`--${RENAMED[n]}${a.slice(2 + n.length)}`);
    else webhookArgs.push(a);
  }
  // No environment: what the chart passes must be enough (POD_NAME only names the replica).
  return { controller: parseControllerFlags(controllerArgs, {}), webhook: parseWebhookFlags(webhookArgs, 'controller') };
}

/** The NOTES.txt a user sees after `helm install` (a client-side dry run: no cluster needed). */
export async function renderNotes(release: { name: string; namespace: string } = DEFAULT_RELEASE): Promise<string> {
  const args = ['install', release.name, CHART_DIR, '--namespace', release.namespace, '--dry-run=client'];
  const r = await helm(args);
  assert.equal(r.code, 0, `helm ${args.join(' ')} failed:\n${r.stderr}`);
  const at = r.stdout.indexOf('NOTES:');
  assert.ok(at >= 0, 'helm printed no NOTES');
  return r.stdout.slice(at);
}
