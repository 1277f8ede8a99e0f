// What every pilotfish custom object has around its spec — apiVersion, kind, metadata — checked
// the way the API server checks it, and turned into the identity the model carries so status can
// be written back. One place for every CRD (routing and security groups alike).
import type { CustomObject } from '../model/k8s-object.js';
import type { ObjectIdentity } from '../model/object-identity.js';
import { isPlainObject, type FieldError } from './routing/v1alpha1/openapi.js';

/** Peer-supplied values quoted in messages are cut to this many characters. */
const MAX_QUOTED = 100;

/** A value for a message: JSON, cut to MAX_QUOTED characters. */
function quoted(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function timestampOf(md: Record<string, unknown>): string | undefined {
  const ts = md.creationTimestamp;
  if (ts instanceof Date && !Number.isNaN(ts.getTime())) return ts.toISOString();
  if (typeof ts === 'string' && ts !== '') return ts;
  return undefined;
}

/**
 * The identity of `obj` as a `kind` of `apiVersion`, or undefined when there is none to speak of
 * (not an object, no metadata, no name); every problem found is appended to `errors`.
 */
export function parseEnvelope<K extends string>(obj: CustomObject, apiVersion: string, kind: K, errors: FieldError[]): (ObjectIdentity & { kind: K }) | undefined {
  if (!isPlainObject(obj)) {
    errors.push({ path: '', message: `a ${kind} must be an object` });
    return undefined;
  }
  if (obj.apiVersion !== apiVersion) errors.push({ path: 'apiVersion', message: `must be ${apiVersion} (got ${quoted(obj.apiVersion)})` });
  if (obj.kind !== kind) errors.push({ path: 'kind', message: `must be ${kind} (got ${quoted(obj.kind)})` });
  const md: unknown = obj.metadata;
  if (!isPlainObject(md)) {
    errors.push({ path: 'metadata', message: 'is required' });
    return undefined;
  }
  const name = md.name;
  if (typeof name !== 'string' || name === '') {
    errors.push({ path: 'metadata.name', message: 'is required' });
    return undefined;
  }
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    errors.push({ path: 'metadata.name', message: `must be a DNS subdomain (lower-case letters, digits, "-" and ".") (got ${quoted(name)})` });
  }
  const creationTimestamp = timestampOf(md);
  return {
    kind,
    namespace: typeof md.namespace === 'string' && md.namespace !== '' ? md.namespace : 'default',
    name,
    ...(typeof md.generation === 'number' ? { generation: md.generation } : {}),
    ...(typeof md.uid === 'string' ? { uid: md.uid } : {}),
    ...(typeof md.resourceVersion === 'string' ? { resourceVersion: md.resourceVersion } : {}),
    ...(creationTimestamp !== undefined ? { creationTimestamp } : {}),
  };
}
