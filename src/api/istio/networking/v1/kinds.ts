// Istio's networking API as pilotfish reads it: the group, the versions it accepts and the two kinds
// it translates. Istio serves v1alpha3, v1beta1 and v1 of these kinds with one schema, so an object
// written against any of them means the same; the controller lists v1.
const ISTIO_NETWORKING_GROUP = 'networking.istio.io';
export const ISTIO_NETWORKING_API_VERSION = `${ISTIO_NETWORKING_GROUP}/v1`;
/** Every apiVersion an Istio object may carry in a file; the schema is the same in all three. */
export const ISTIO_NETWORKING_API_VERSIONS: readonly string[] = [
  ISTIO_NETWORKING_API_VERSION, `${ISTIO_NETWORKING_GROUP}/v1beta1`, `${ISTIO_NETWORKING_GROUP}/v1alpha3`,
];

export interface IstioKindInfo {
  readonly kind: 'VirtualService' | 'DestinationRule';
  readonly plural: string;
}

export const VIRTUAL_SERVICE_KIND: IstioKindInfo = { kind: 'VirtualService', plural: 'virtualservices' };
export const DESTINATION_RULE_KIND: IstioKindInfo = { kind: 'DestinationRule', plural: 'destinationrules' };

/** `virtualservices.networking.istio.io`: the CRD the cluster must have before the kind is watched. */
export function istioCrdName(info: IstioKindInfo): string {
  return `${info.plural}.${ISTIO_NETWORKING_GROUP}`;
}
