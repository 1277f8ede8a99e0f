// What incremental cache tests assert after each step: every proxy is served exactly the bytes a
// fresh generation from the current snapshot gives (same names, same encoded resources).
import assert from 'node:assert/strict';
import type { MeshSnapshot } from '../../src/model/snapshot.js';
import { ResourceEncoder } from '../../src/xds/cache/encoder.js';
import { proxyIdentityFromNode } from '../../src/xds/cache/proxy-identity.js';
import { generateAll } from '../../src/xds/generate/index.js';
import type { NodeInfo } from '../../src/xds/node-info.js';
import type { ProxyView } from '../../src/xds/proxy-view.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, shortTypeName, type XdsTypeUrl } from '../../src/xds/types.js';

const TYPES: readonly XdsTypeUrl[] = [CLUSTER, ENDPOINT, LISTENER, ROUTE];

/** `views[i]` is the view of `nodes[i]`. */
export function assertServedAsFresh(snapshot: MeshSnapshot, nodes: readonly NodeInfo[], views: readonly ProxyView[], step: string): void {
  const fresh = new ResourceEncoder();
  nodes.forEach((node, i) => {
    const generated = generateAll(snapshot, proxyIdentityFromNode(node));
    for (const t of TYPES) {
      const served = views[i]!.resources(t);
      const want = generated.get(t)!;
      const where = `${step}: ${node.id} ${shortTypeName(t)}`;
      assert.deepEqual([...served.keys()].sort(), [...want.keys()].sort(), `${where} names`);
      for (const [name, obj] of want) {
        assert.ok(Buffer.from(served.get(name)!.any).equals(Buffer.from(fresh.encode(t, name, obj).any)), `${where} ${name}: stale bytes`);
      }
    }
  });
}
