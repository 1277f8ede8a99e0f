// What the cache serves must be what generation gives: every view's resources are the bytes a
// fresh generateAll + encode of its proxy produces (names, order and bytes), whatever the cache
// reused to get there.
import assert from 'node:assert/strict';
import type { MeshSnapshot } from '../../src/model/snapshot.js';
import { ResourceEncoder } from '../../src/xds/cache/encoder.js';
import { proxyIdentityFromNode } from '../../src/xds/cache/proxy-identity.js';
import { generateAll, type GenerateOptions } from '../../src/xds/generate/index.js';
import type { NodeInfo } from '../../src/xds/node-info.js';
import type { ProxyView } from '../../src/xds/proxy-view.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, shortTypeName, type XdsTypeUrl } from '../../src/xds/types.js';

const TYPES: readonly XdsTypeUrl[] = [CLUSTER, ENDPOINT, LISTENER, ROUTE];

/** `views[i]` is the view of `nodes[i]`; `step` names the situation in failure messages. */
export function assertViewsFresh(snapshot: MeshSnapshot, nodes: readonly NodeInfo[], views: readonly ProxyView[], step: string,
  options: GenerateOptions = {}): void {
  const fresh = new ResourceEncoder();
  nodes.forEach((node, i) => {
    const generated = generateAll(snapshot, proxyIdentityFromNode(node), options);
    for (const t of TYPES) {
      const served = views[i].resources(t);
      const want = generated.get(t)!;
      const where = `${step}: ${node.id} ${shortTypeName(t)}`;
      assert.deepEqual([...served.keys()], [...want.keys()], `${where} names`);
      for (const [name, obj] of want) {
        const expected = fresh.encode(t, name, obj).any;
        assert.ok(Buffer.from(served.get(name)!.any).equals(Buffer.from(expected)), `${where} ${name}: bytes differ from a fresh encoding`);
      }
    }
  });
}
