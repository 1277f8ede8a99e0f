// What the two Istio kinds share on their way into the model: the envelope (any of Istio's three
// versions of the schema), the result shape (the model plus what was left out), and the step that
// hands a translated spec to pilotfish's own parser, so an Istio object is checked by exactly the
// rules its TrafficRoute/TrafficPolicy twin is checked by.
import type { CustomObject } from '../../../../model/k8s-object.js';
import type { ObjectIdentity } from '../../../../model/object-identity.js';
import type { IgnoredField } from '../../../../model/proxyless.js';
import { parseEnvelope } from '../../../object-envelope.js';
import { ROUTING_API_VERSION } from '../../../routing/v1alpha1/crd.js';
import { isPlainObject, type FieldError } from '../../../routing/v1alpha1/openapi.js';
import { ISTIO_NETWORKING_API_VERSION, ISTIO_NETWORKING_API_VERSIONS } from './kinds.js';

export type IstioParseResult<T> =
  | { readonly ok: T; readonly errors?: undefined; readonly unsupported: readonly IgnoredField[] }
  | { readonly ok?: undefined; readonly errors: readonly FieldError[]; readonly unsupported: readonly IgnoredField[] };

export function istioEnvelope<K extends string>(obj: CustomObject, kind: K, errors: FieldError[]): (ObjectIdentity & { kind: K }) | undefined {
  const written: unknown = isPlainObject(obj) ? obj.apiVersion : undefined;
  const version = typeof written === 'string' && ISTIO_NETWORKING_API_VERSIONS.includes(written) ? written : ISTIO_NETWORKING_API_VERSION;
  return parseEnvelope(obj, version, kind, errors);
}

/** The object as its pilotfish twin: same metadata, the translated spec. */
export function asPilotfishObject(obj: CustomObject, kind: 'TrafficRoute' | 'TrafficPolicy', spec: unknown): CustomObject {
  return { apiVersion: ROUTING_API_VERSION, kind, metadata: obj.metadata, spec };
}

/** Istio's `{ value: 12.5 }` percentages are plain numbers in pilotfish; anything else goes on to fail the schema. */
export function percentage(v: unknown): unknown {
  return isPlainObject(v) && Object.keys(v).length === 1 && 'value' in v ? v.value : v;
}

/** Istio's `port: { number: 9080 }` is `port: 9080` in pilotfish. */
export function portNumber(v: unknown): unknown {
  return isPlainObject(v) && 'number' in v ? v.number : v;
}
