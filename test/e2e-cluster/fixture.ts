// The one control plane the whole cluster suite shares (starting one costs seconds, so every test
// file uses the same and isolates itself in its own namespaces), plus the setup steps tests repeat.
// hooks.ts stops it after the last test.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startCluster, type Cluster } from '../cluster/cluster.js';
import type { KubeObject } from '../cluster/kube-rest.js';
import { REPO_ROOT, type PilotfishProcess } from '../support/pilotfish-process.js';

let shared: Promise<Cluster> | undefined;

export function sharedCluster(): Promise<Cluster> {
  shared ??= startCluster();
  return shared;
}

export async function stopSharedCluster(): Promise<void> {
  if (!shared) return;
  const starting = shared;
  shared = undefined;
  const cluster = await starting.catch(() => undefined); // a failed start already cleaned up
  await cluster?.stop();
}

/** Every object in a multi-document YAML text; empty documents (`---` alone, comments) are skipped. */
export function parseManifests(text: string, origin: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${origin}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${origin}: a document is not an object`);
    objects.push(value as KubeObject);
  }
  return objects;
}

export const CRD_DIR = path.join(REPO_ROOT, 'crds');

/** pilotfish's CustomResourceDefinitions as shipped in crds/. */
export async function crdManifests(): Promise<KubeObject[]> {
  let files: string[];
  try {
    files = (await readdir(CRD_DIR)).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  } catch (err) {
    throw new Error(`cannot read the CRDs in ${CRD_DIR}: ${(err as Error).message}`);
  }
  if (files.length === 0) throw new Error(`no CRD manifests (*.yaml) in ${CRD_DIR}`);
  const objects: KubeObject[] = [];
  for (const f of files) objects.push(...parseManifests(await readFile(path.join(CRD_DIR, f), 'utf8'), path.join(CRD_DIR, f)));
  return objects;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export function conditionsOf(obj: KubeObject): Condition[] {
  const status = obj.status as { conditions?: Condition[] } | undefined;
  return status?.conditions ?? [];
}

/**
 * Applies CRDs and waits until the API server has established them (serves their kinds).
 * A CRD the API server refuses to establish (NamesAccepted=False) fails with its message.
 */
export async function installCrds(cluster: Cluster, crds: readonly KubeObject[]): Promise<void> {
  for (const crd of crds) await cluster.admin.apply(crd);
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    await cluster.admin.waitFor(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions?fieldSelector=metadata.name%3D${name}`, (o) => {
      const conditions = conditionsOf(o);
      const refused = conditions.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
      if (refused) throw new Error(`CRD ${name} not accepted: ${refused.reason}: ${refused.message}`);
      return conditions.some((c) => c.type === 'Established' && c.status === 'True');
    }, `CRD ${name} to be established`);
  }
}

/** Creates a namespace and waits for its default ServiceAccount, without which Pods are refused. */
export async function createNamespace(cluster: Cluster, name: string, labels: Record<string, string> = {}): Promise<void> {
  await cluster.admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  await cluster.admin.waitFor(`/api/v1/namespaces/${name}/serviceaccounts`, (sa) => sa.metadata?.name === 'default',
    `the default ServiceAccount of namespace ${name}`);
}

let counter = 0;
/** A name unique within this run, so test files sharing the cluster never collide. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/**
 * `work`, or a failure naming `what` (with pilotfish's last log lines) once `limitMs` passed: turns
 * a hang into a readable failure; it asserts nothing about speed.
 */
export async function bounded<T>(work: Promise<T>, limitMs: number, what: string, pf?: PilotfishProcess): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const logs = pf ? `; last pilotfish logs:\n${pf.logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}` : '';
      reject(new Error(`gave up after ${limitMs / 1000} s waiting for ${what}${logs}`));
    }, limitMs);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}
