// A class's clusters as the kind's shared map plus its own, without copying: the map behaves
// like the copied one, and versions, diffs and response bodies are built from the parts.
import assert from 'node:assert/strict';
import { decodeSotwResponse } from '../../support/xds-client-codec.js';
import { encodeSotwBody, encodeSotwResources } from '../../../src/xds/server/codec.js';
import { encodeAny, encodeSotwBodyOf } from '../../support/xds-response-codec.js';
import type { ResourceMap, XdsResource } from '../../../src/xds/proxy-view.js';
import { MapDiffs } from '../../../src/xds/server/map-diff.js';
import { MergedResourceMap, mergeResourceMaps } from '../../../src/xds/merged-map.js';
import { MapVersions } from '../../../src/xds/server/version.js';
import { CLUSTER } from '../../../src/xds/types.js';

const res = (name: string, version = '1'): XdsResource => ({ name, version, any: encodeAny(CLUSTER, Buffer.from(`${name}@${version}`)) });
const mapOf = (...rs: XdsResource[]): ResourceMap => new Map(rs.map((r) => [r.name, r]));

describe('xDS server: merged resource maps', () => {
  it('reads like the copied map, the class part winning a shared name', () => {
    const base = mapOf(res('a'), res('b'));
    for (const extra of [mapOf(res('x')), mapOf(res('b', '2'), res('x'))]) {
      const m = new MergedResourceMap(base, extra);
      const copy = new Map([...base, ...extra]);
      assert.equal(m.size, copy.size);
      assert.deepEqual([...m.keys()].sort(), [...copy.keys()].sort());
      assert.deepEqual([...m.values()].map((r) => `${r.name}@${r.version}`).sort(), [...copy.values()].map((r) => `${r.name}@${r.version}`).sort());
      for (const k of ['a', 'b', 'x', 'nope']) {
        assert.equal(m.get(k), copy.get(k));
        assert.equal(m.has(k), copy.has(k));
      }
      const seen: string[] = [];
      m.forEach((_v, k) => seen.push(k));
      assert.equal(seen.length, copy.size);
    }
    assert.equal(mergeResourceMaps(base, new Map()), base, 'nothing of its own: the shared map itself');
  });

  it('is versioned by its content: equal parts, equal version; any change, a new one', () => {
    const base = mapOf(res('a'), res('b'));
    const v1 = new MapVersions().of(new MergedResourceMap(base, mapOf(res('x'))));
    assert.equal(new MapVersions().of(new MergedResourceMap(mapOf(res('a'), res('b')), mapOf(res('x')))), v1);
    assert.notEqual(new MapVersions().of(new MergedResourceMap(base, mapOf(res('x', '2')))), v1);
    assert.notEqual(new MapVersions().of(new MergedResourceMap(mapOf(res('a'), res('b', '2')), mapOf(res('x')))), v1);
  });

  it('diffs part by part, with the same answer as the copied maps', () => {
    const from = new MergedResourceMap(mapOf(res('a'), res('b'), res('c')), mapOf(res('x'), res('y')));
    const to = new MergedResourceMap(mapOf(res('a', '2'), res('b'), res('d')), mapOf(res('x'), res('z')));
    const d = new MapDiffs().diff(from, to);
    const plain = new MapDiffs().diff(new Map(from), new Map(to));
    assert.deepEqual([...d.changed].sort(), [...plain.changed].sort());
    assert.deepEqual([...d.removed].sort(), [...plain.removed].sort());
    assert.deepEqual([...d.changed].sort(), ['a', 'd', 'z']);
    assert.deepEqual([...d.removed].sort(), ['c', 'y']);
  });

  it('builds a response body from the shared part\'s encoding that decodes to every resource', () => {
    const m = new MergedResourceMap(mapOf(res('a'), res('b')), mapOf(res('x')));
    const body = encodeSotwBodyOf('v9', CLUSTER, [encodeSotwResources(m.base.values()), encodeSotwResources(m.extra.values())]);
    assert.deepEqual(body, encodeSotwBody({ versionInfo: 'v9', typeUrl: CLUSTER, resources: [...m.values()] }));
    const decoded = decodeSotwResponse(Buffer.concat([body, Buffer.from([0x2a, 1, 0x6e])]));
    assert.equal(decoded.versionInfo, 'v9');
    assert.equal(decoded.nonce, 'n');
    assert.equal(decoded.resources.length, 3);
  });
});
