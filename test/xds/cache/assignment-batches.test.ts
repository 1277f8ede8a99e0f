// Large ClusterLoadAssignments are encoded a batch of endpoints at a time (assignment-batches.ts):
// the bytes must be exactly those of encoding the whole message, equal content must get the same
// version, a change must re-encode only the batch it falls in, and the encoding must give the event
// loop back between batches.
import assert from 'node:assert/strict';
import type { Endpoint } from '../../../src/model/mesh.js';
import { ResourceEncoder } from '../../../src/xds/cache/encoder.js';
import { clusterLoadAssignment } from '../../../src/xds/generate/eds.js';
import type { NamedLoadAssignment } from '../../../src/xds/generate/resource.js';
import { lookupType } from '../../../src/xds/protos.js';
import { ENDPOINT, messageName } from '../../../src/xds/types.js';

const CLA = lookupType(messageName(ENDPOINT));
const ANY = lookupType('google.protobuf.Any');

function endpoint(i: number, zone: string): Endpoint {
  return {
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, ports: { grpc: 8080 }, ready: true, serving: true, terminating: false,
    locality: { region: 'eu', zone, subZone: '' }, labels: {},
  };
}

/** Endpoints over three zones; every third one takes mTLS, so endpoints differ in shape too. */
function assignment(count: number, extra: readonly Endpoint[] = []): NamedLoadAssignment {
  const eps = [...Array.from({ length: count }, (_, i) => endpoint(i, `zone-${i % 3}`)), ...extra];
  return clusterLoadAssignment('outbound|80||big.default.svc.cluster.local', { name: 'grpc', port: 80, targetPort: 8080, protocol: 'grpc' }, eps, undefined,
    (ep) => Number(ep.address.split('.')[3]) % 3 === 0);
}

/** The ClusterLoadAssignment bytes inside a resource's Any. */
function valueOf(any: Uint8Array): Uint8Array {
  return (ANY.decode(any) as unknown as { value: Uint8Array }).value;
}

describe('large assignments encoded in batches', () => {
  it('gives exactly the bytes of encoding the whole message', async () => {
    const cla = assignment(5_000);
    const whole = CLA.encode(CLA.fromObject(cla)).finish();
    const r = await new ResourceEncoder().encodeAssignment(cla, async () => undefined);
    assert.equal(r.name, cla.cluster_name);
    assert.ok(whole.length > 100_000, `a large message (${whole.length} bytes)`);
    assert.ok(Buffer.from(valueOf(r.any)).equals(Buffer.from(whole)), 'batched bytes differ from the whole encoding');
  });

  it('versions by content: equal content the same version, a change another', async () => {
    const a = await new ResourceEncoder().encodeAssignment(assignment(3_000), async () => undefined);
    const b = await new ResourceEncoder().encodeAssignment(assignment(3_000), async () => undefined);
    const c = await new ResourceEncoder().encodeAssignment(assignment(3_000, [endpoint(70_000, 'zone-1')]), async () => undefined);
    assert.equal(a.version, b.version);
    assert.notEqual(a.version, c.version);
  });

  it('re-encodes only the batch a new endpoint falls in', async () => {
    const encoder = new ResourceEncoder();
    const noPause = async (): Promise<void> => undefined;
    await encoder.encodeAssignment(assignment(10_000), noPause);
    const before = encoder.stats.batchesEncoded;
    const changed = assignment(10_000, [endpoint(70_001, 'zone-2')]);
    const r = await encoder.encodeAssignment(changed, noPause);
    assert.ok(encoder.stats.batchesEncoded - before <= 2, `${encoder.stats.batchesEncoded - before} batches encoded again for one new endpoint`);
    assert.ok(before >= 60, `a first encoding of ${before} batches`);
    const whole = CLA.encode(CLA.fromObject(changed)).finish();
    assert.ok(Buffer.from(valueOf(r.any)).equals(Buffer.from(whole)), 'reused batches give the bytes of the whole encoding');
  });

  it('encodes localities shared by two assignments (a registry alias) once', async () => {
    const encoder = new ResourceEncoder();
    const noPause = async (): Promise<void> => undefined;
    const cla = assignment(5_000);
    await encoder.encodeAssignment(cla, noPause);
    const before = encoder.stats.batchesEncoded;
    const alias: NamedLoadAssignment = { ...cla, cluster_name: 'big.default.registry' };
    const r = await encoder.encodeAssignment(alias, noPause);
    assert.equal(encoder.stats.batchesEncoded, before, 'no batch encoded again');
    const whole = CLA.encode(CLA.fromObject(alias)).finish();
    assert.ok(Buffer.from(valueOf(r.any)).equals(Buffer.from(whole)), 'the alias has the bytes of its whole encoding');
  });

  it('pauses between batches, and not for a small assignment', async () => {
    let pauses = 0;
    const pause = async (): Promise<void> => { pauses++; };
    await new ResourceEncoder().encodeAssignment(assignment(10_000), pause);
    assert.ok(pauses >= 60, `${pauses} pauses`);
    pauses = 0;
    await new ResourceEncoder().encodeAssignment(assignment(100), pause);
    assert.equal(pauses, 0);
  });
});
