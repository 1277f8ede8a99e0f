// Validates rendered objects against the real Kubernetes OpenAPI schemas, offline, twice over:
//  - kubernetes-models' validators, generated from the Kubernetes OpenAPI spec (types, enums,
//    required fields, formats), and @kubernetes-models/prometheus-operator for the ServiceMonitor;
//  - @kubernetes/client-node's generated models, which name every field of every built-in type,
//    so a misspelt or misplaced field (which the API server would drop or reject) is caught:
//    kubernetes-models lets unknown fields through.
// `kubectl apply --dry-run=client` is no alternative: it needs a cluster to fetch the schema.
import * as k8s from '@kubernetes/client-node';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { K8sObject } from './chart.js';

interface Validating { validate(): void }
type Model = new (data: never) => Validating;

/** apiVersion/kind -> the kubernetes-models class and the client-node model name (none for CRs). */
const MODELS: ReadonlyMap<string, { model: Model; clientNode?: string }> = new Map<string, { model: Model; clientNode?: string }>([
  ['v1/Service', { model: Service as unknown as Model, clientNode: 'V1Service' }],
  ['v1/ServiceAccount', { model: ServiceAccount as unknown as Model, clientNode: 'V1ServiceAccount' }],
  ['apps/v1/Deployment', { model: Deployment as unknown as Model, clientNode: 'V1Deployment' }],
  ['autoscaling/v2/HorizontalPodAutoscaler', { model: HorizontalPodAutoscaler as unknown as Model, clientNode: 'V2HorizontalPodAutoscaler' }],
  ['networking.k8s.io/v1/NetworkPolicy', { model: NetworkPolicy as unknown as Model, clientNode: 'V1NetworkPolicy' }],
  ['policy/v1/PodDisruptionBudget', { model: PodDisruptionBudget as unknown as Model, clientNode: 'V1PodDisruptionBudget' }],
  ['rbac.authorization.k8s.io/v1/ClusterRole', { model: ClusterRole as unknown as Model, clientNode: 'V1ClusterRole' }],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', { model: ClusterRoleBinding as unknown as Model, clientNode: 'V1ClusterRoleBinding' }],
  ['rbac.authorization.k8s.io/v1/Role', { model: Role as unknown as Model, clientNode: 'V1Role' }],
  ['rbac.authorization.k8s.io/v1/RoleBinding', { model: RoleBinding as unknown as Model, clientNode: 'V1RoleBinding' }],
  ['admissionregistration.k8s.io/v1/MutatingWebhookConfiguration', {
    model: MutatingWebhookConfiguration as unknown as Model, clientNode: 'V1MutatingWebhookConfiguration',
  }],
  ['apiextensions.k8s.io/v1/CustomResourceDefinition', {
    model: CustomResourceDefinition as unknown as Model, clientNode: 'V1CustomResourceDefinition',
  }],
  ['monitoring.coreos.com/v1/ServiceMonitor', { model: ServiceMonitor as unknown as Model }],
]);

interface Attr { name: string; baseName: string; type: string }
type ModelClass = { attributeTypeMap?: Attr[]; getAttributeTypeMap?: () => Attr[] };

function attributes(typeName: string): Attr[] | undefined {
  const cls = (k8s as unknown as Record<string, ModelClass | undefined>)[typeName];
  return cls?.getAttributeTypeMap?.() ?? cls?.attributeTypeMap;
}

/** Walks a value along client-node's model of its type: unknown fields and wrong shapes. */
function walk(value: unknown, type: string, at: string, problems: string[]): void {
  if (value === undefined || value === null) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) problems.push(`${at}: expected a list`);
    else value.forEach((v, i) => walk(v, array[1], `${at}[${i}]`, problems));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) problems.push(`${at}: expected a map`);
    else {
      // resource.Quantity is int-or-string in the OpenAPI spec; client-node types it as string.
      const quantities = map[1] === 'string' && /\.(limits|requests|capacity|allocatable|hard)$/.test(at);
      for (const [k, v] of Object.entries(value)) {
        if (quantities && typeof v === 'number') continue;
        walk(v, map[1], `${at}.${k}`, problems);
      }
    }
    return;
  }
  switch (type) {
    case 'string': case 'Date':
      if (typeof value !== 'string') problems.push(`${at}: expected a string, got ${JSON.stringify(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number') problems.push(`${at}: expected a number, got ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${at}: expected a boolean, got ${JSON.stringify(value)}`);
      return;
    case 'IntOrString':
      if (typeof value !== 'string' && typeof value !== 'number') problems.push(`${at}: expected an int or a string`);
      return;
    case 'any': case 'object':
      return;
    default: {
      const attrs = attributes(type);
      if (!attrs) {
        problems.push(`${at}: client-node has no model ${type}`);
        return;
      }
      if (typeof value !== 'object' || Array.isArray(value)) {
        problems.push(`${at}: expected an object (${type})`);
        return;
      }
      const byName = new Map(attrs.map((a) => [a.baseName, a]));
      for (const [k, v] of Object.entries(value)) {
        const attr = byName.get(k);
        if (!attr) problems.push(`${at}.${k}: not a field of ${type}`);
        else walk(v, attr.type, `${at}.${k}`, problems);
      }
    }
  }
}

/** Every schema violation of one object, each prefixed with the object; [] when it is valid. */
export function schemaProblems(obj: K8sObject): string[] {
  const what = `${obj.kind}/${obj.metadata?.name ?? '?'}`;
  const entry = MODELS.get(`${obj.apiVersion}/${obj.kind}`);
  if (!entry) return [`${what}: no schema known for ${obj.apiVersion} ${obj.kind} (add it to test/helm/k8s-schema.ts)`];
  const problems: string[] = [];
  try {
    new entry.model(obj as never).validate();
  } catch (err) {
    problems.push(`${what}: ${(err as Error).message}`);
  }
  if (entry.clientNode) {
    const walked: string[] = [];
    walk(obj, entry.clientNode, what, walked);
    problems.push(...walked);
  }
  return problems;
}
