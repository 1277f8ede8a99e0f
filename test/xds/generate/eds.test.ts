import assert from 'node:assert/strict';
import { clusterLoadAssignment } from '../../../src/xds/generate/eds.js';
import { NO_LOCALITY, type Endpoint, type ServicePort } from '../../../src/model/mesh.js';

const PORT: ServicePort = { name: 'grpc', port: 50051, targetPort: 50051, protocol: 'grpc' };

function ep(address: string, state: { ready: boolean; serving: boolean; terminating: boolean }, zone = ''): Endpoint {
  return { address, ports: { grpc: 9000 }, ...state, locality: { ...NO_LOCALITY, zone }, labels: {} };
}

const READY = { ready: true, serving: true, terminating: false };
const DRAINING = { ready: false, serving: true, terminating: true };
const GONE = { ready: false, serving: false, terminating: true };
const STARTING = { ready: false, serving: false, terminating: false };

function addresses(cla: ReturnType<typeof clusterLoadAssignment>): string[] {
  return (cla.endpoints ?? []).flatMap((l) => (l.lb_endpoints as Array<{ endpoint: { address: { socket_address: { address: string } } } }>)
    .map((e) => e.endpoint.address.socket_address.address));
}

describe('xds/generate EDS endpoint selection', () => {
  it('sends ready endpoints only while any is ready', () => {
    const cla = clusterLoadAssignment('c', PORT, [ep('10.0.0.1', READY), ep('10.0.0.2', DRAINING), ep('10.0.0.3', STARTING), ep('10.0.0.4', GONE)]);
    assert.deepEqual(addresses(cla), ['10.0.0.1']);
  });

  it('falls back to endpoints still serving while they terminate when none is ready', () => {
    const cla = clusterLoadAssignment('c', PORT, [ep('10.0.0.2', DRAINING), ep('10.0.0.3', STARTING), ep('10.0.0.4', GONE)]);
    assert.deepEqual(addresses(cla), ['10.0.0.2']);
  });

  it('groups by zone, each locality weighted by its endpoint count', () => {
    const cla = clusterLoadAssignment('c', PORT, [ep('10.0.0.1', READY, 'a'), ep('10.0.0.2', READY, 'b'), ep('10.0.0.3', READY, 'b')]);
    assert.deepEqual((cla.endpoints ?? []).map((l) => [(l.locality as { zone?: string }).zone, (l.load_balancing_weight as { value: number }).value]),
      [['a', 1], ['b', 2]]);
  });
});
