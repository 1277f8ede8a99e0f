// Offline injection (`pilotfish inject`): the same decision and mutation as the webhook, applied
// to Pods and to the pod templates of workload objects in multi-document YAML. Documents that are
// not workloads pass through untouched; comments and formatting outside the templates survive.
import type { V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments, type Document } from 'yaml';
import { decideInjection, type DecisionPolicy } from './decision.js';
import { injectPod, type InjectorConfig } from './inject.js';
import { NAMESPACE_INJECT_ENABLED, NAMESPACE_INJECT_LABEL } from './injection-names.js';

/** Where each kind keeps its pod template ([] for a Pod itself). */
const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

interface OfflineReport {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly injected: boolean;
  readonly reason: string;
  readonly warnings: readonly string[];
}

interface OfflineResult {
  readonly text: string;
  readonly reports: readonly OfflineReport[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function get(o: unknown, path: readonly (string | number)[]): unknown {
  let cur = o;
  for (const k of path) {
    if (!isObj(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

/**
 * Injects one object (or every item of a List); returns the paths to replace in the document.
 * The offline command treats every namespace as labelled: the user asked for injection by running it.
 */
function injectObject(obj: unknown, base: (string | number)[], where: string, config: InjectorConfig, policy: DecisionPolicy,
  reports: OfflineReport[], edits: Array<{ path: (string | number)[]; value: unknown }>): void {
  if (!isObj(obj)) return;
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  if (kind === 'List' && Array.isArray(obj.items)) {
    obj.items.forEach((item, i) => injectObject(item, [...base, 'items', i], `${where} item ${i}`, config, policy, reports, edits));
    return;
  }
  const templatePath = POD_TEMPLATE_PATHS[kind];
  if (!templatePath) return;
  const meta = isObj(obj.metadata) ? obj.metadata : {};
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '<unnamed>';
  const template = get(obj, templatePath);
  if (!isObj(template) || !isObj(template.spec)) {
    throw new Error(`${where}: ${kind} ${namespace}/${name} has no pod template at ${templatePath.join('.') || 'spec'}`);
  }
  const pod = { metadata: template.metadata ?? {}, spec: template.spec } as unknown as V1Pod;
  const decision = decideInjection({
    pod, namespace, namespaceLabels: { [NAMESPACE_INJECT_LABEL]: NAMESPACE_INJECT_ENABLED },
  }, policy);
  if (!decision.inject) {
    reports.push({ kind, namespace, name, injected: false, reason: decision.reason, warnings: [] });
    return;
  }
  const result = injectPod(pod, config);
  reports.push({ kind, namespace, name, injected: true, reason: decision.reason, warnings: result.warnings });
  edits.push({ path: [...base, ...templatePath, 'metadata'], value: result.pod.metadata });
  edits.push({ path: [...base, ...templatePath, 'spec'], value: result.pod.spec });
}

export function injectYaml(text: string, config: InjectorConfig, policy: DecisionPolicy): OfflineResult {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error('input is not YAML documents');
  const reports: OfflineReport[] = [];
  const out: string[] = [];
  docs.forEach((doc: Document, i: number) => {
    const where = `document ${i + 1}`;
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors[0].message}`);
    const edits: Array<{ path: (string | number)[]; value: unknown }> = [];
    injectObject(doc.toJS(), [], where, config, policy, reports, edits);
    for (const e of edits) doc.setIn(e.path, doc.createNode(e.value));
    if (doc.contents !== null) out.push(doc.toString({ lineWidth: 0 }));
  });
  const text2 = out.map((d) => (d.startsWith('---') ? d : `---\n${d}`)).join('');
  return { text: text2, reports };
}
