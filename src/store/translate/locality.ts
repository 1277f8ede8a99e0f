// Where an endpoint runs: the EndpointSlice's zone, else the topology labels of its Pod.
import { NO_LOCALITY, type Locality } from '../../model/mesh.js';

const ZONE_LABEL = 'topology.kubernetes.io/zone';
const REGION_LABEL = 'topology.kubernetes.io/region';
/** Sub-zone has no Kubernetes standard label; the Istio one is what users already set. */
const SUBZONE_LABEL = 'topology.istio.io/subzone';

export function localityOf(zone: string | undefined, topology: Readonly<Record<string, string>>, podLabels: Readonly<Record<string, string>>): Locality {
  const region = topology[REGION_LABEL] ?? podLabels[REGION_LABEL] ?? '';
  const z = zone ?? topology[ZONE_LABEL] ?? podLabels[ZONE_LABEL] ?? '';
  const subZone = topology[SUBZONE_LABEL] ?? podLabels[SUBZONE_LABEL] ?? '';
  return region === '' && z === '' && subZone === '' ? NO_LOCALITY : { region, zone: z, subZone };
}

