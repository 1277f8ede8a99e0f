// Renders the Helm chart with the real helm binary and hands the tests typed objects.
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { controllerCommand } from '../../src/cli/commands.js';
import { parseControllerFlags } from '../../src/cli/controller.js';
import type { WebhookSettings } from '../../src/cli/webhook-command.js';
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

export interface ParsedControllerArgs {
  readonly controller: ReturnType<typeof parseControllerFlags>;
  readonly webhook: WebhookSettings;
}

/**
 * Flags the chart renders that the controller gains in a change landing alongside this chart
 * (the TLS xDS port). Until the parser declares one, it is set aside before parsing; once it
 * does, it is parsed like every other flag. render.test.ts checks these flags' values itself.
 */
const FLAGS_LANDING_WITH_THE_TLS_PORT: readonly string[] = ['xds-tls-address'];

/** `--flag=value` of a rendered command line, or undefined. */
export function renderedFlag(args: readonly string[], flag: string): string | undefined {
  return args.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);
}

/** What pilotfish's own flag parser makes of a rendered `controller` command line. */
export function parseControllerArgs(args: readonly string[]): ParsedControllerArgs {
  assert.equal(args[0], 'controller', 'the container runs `pilotfish controller`');
  const declared = new Set(Object.keys(controllerCommand.flags));
  const pending = FLAGS_LANDING_WITH_THE_TLS_PORT.filter((f) => !declared.has(f));
  const parsable = args.slice(1).filter((a) => !pending.some((f) => a.startsWith(`--${f}=`)));
  // No environment: what the chart passes must be enough (POD_NAME only names the replica).
  const controller = parseControllerFlags(parsable, {});
  assert.ok(controller.webhook, 'the chart runs the injector in the controller process');
  return { controller, webhook: controller.webhook };
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
