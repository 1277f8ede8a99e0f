// What the encoder keeps must not keep more than itself alive: small encodings come from Node's
// shared 8 KiB buffer slabs, and one kept slice holds its whole slab (with the scratch allocated
// beside it) for as long as the mesh holds the resource.
import assert from 'node:assert/strict';
import { ResourceEncoder } from '../../../src/xds/cache/encoder.js';
import type { Cluster } from '../../../src/xds/envoy-types.js';
import { lookupType } from '../../../src/xds/protos.js';
import { CLUSTER, ROUTE, messageName } from '../../../src/xds/types.js';

function cluster(name: string): Cluster & { readonly name: string } {
  return { name, type: 'EDS', connect_timeout: { seconds: 10 }, eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } } };
}

/** Whether `bytes` is the whole of its allocation. */
function ownsItsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

describe('ResourceEncoder: kept encodings own their memory', () => {
  it('a small resource is not a slice of a shared slab, and decodes to what was encoded', () => {
    const encoder = new ResourceEncoder();
    const r = encoder.encode(CLUSTER, 'outbound|80||a.ns.svc.cluster.local', cluster('outbound|80||a.ns.svc.cluster.local'));
    // The check itself: Node would have handed out a slice of its pool for this size.
    assert.ok(!ownsItsBuffer(Buffer.allocUnsafe(r.any.byteLength)), 'Buffer.allocUnsafe no longer pools small buffers: this test shows nothing');
    assert.ok(r.any.byteLength < 4096);
    assert.ok(ownsItsBuffer(r.any), `a ${r.any.byteLength}-byte resource holds a ${r.any.buffer.byteLength}-byte buffer`);
    const any = lookupType('google.protobuf.Any').decode(r.any) as unknown as { type_url: string; value: Uint8Array };
    assert.equal(any.type_url, CLUSTER);
    const decoded = lookupType(messageName(CLUSTER)).toObject(lookupType(messageName(CLUSTER)).decode(any.value), { enums: String, longs: Number });
    assert.equal(decoded.name, 'outbound|80||a.ns.svc.cluster.local');
  });

  it('a part and a resource composed of parts own theirs too', () => {
    const encoder = new ResourceEncoder();
    const part = encoder.encodePart('envoy.config.route.v3.VirtualHost', { name: 'a.ns.svc.cluster.local:80', domains: ['a', 'a.ns'] });
    assert.ok(ownsItsBuffer(part.bytes));
    const route = encoder.compose(ROUTE, '80', { name: '80' }, 2, [part]);
    assert.ok(ownsItsBuffer(route.any));
  });
});
