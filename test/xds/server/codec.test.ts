import assert from 'node:assert/strict';
import { lookupType } from '../../../src/xds/protos.js';
import { encodeDeltaRequest, encodeSotwRequest } from '../../support/xds-client-codec.js';
import { decodeDeltaRequest, decodeSotwRequest } from '../../../src/xds/server/codec.js';
import { encodeDeltaResponse, encodeSotwResponse } from '../../support/xds-response-codec.js';
import { CLUSTER, ROUTE } from '../../../src/xds/types.js';
import { decodeResource } from '../../support/ads-client.js';
import { cluster, routeConfig } from '../../support/fake-proxy-views.js';

describe('xDS codec', () => {
  it('splices pre-encoded resources into a DiscoveryResponse the real protos decode', () => {
    const a = cluster('a');
    const b = cluster('b', 7);
    const buf = encodeSotwResponse({ versionInfo: 'v1', typeUrl: CLUSTER, nonce: 'n1', resources: [a, b] });
    const T = lookupType('envoy.service.discovery.v3.DiscoveryResponse');
    const m = T.toObject(T.decode(buf)) as {
      version_info: string; type_url: string; nonce: string; resources: { type_url: string; value: Uint8Array }[];
    };
    assert.equal(m.version_info, 'v1');
    assert.equal(m.type_url, CLUSTER);
    assert.equal(m.nonce, 'n1');
    assert.deepEqual(m.resources.map((r) => decodeResource(r).name), ['a', 'b']);
    const second = decodeResource(m.resources[1]).value as { connect_timeout: { seconds: string } };
    assert.equal(second.connect_timeout.seconds, '7');
  });

  it('encodes DeltaDiscoveryResponse with per-resource name, version and removals', () => {
    const r = routeConfig('r1', 'c1');
    const buf = encodeDeltaResponse({
      systemVersionInfo: 'sv', typeUrl: ROUTE, nonce: 'n2', resources: [r], removed: ['gone', 'also-gone'],
    });
    const T = lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
    const m = T.toObject(T.decode(buf)) as {
      system_version_info: string; type_url: string; nonce: string; removed_resources: string[];
      resources: { name: string; version: string; resource: { type_url: string; value: Uint8Array } }[];
    };
    assert.equal(m.system_version_info, 'sv');
    assert.equal(m.type_url, ROUTE);
    assert.equal(m.nonce, 'n2');
    assert.deepEqual(m.removed_resources, ['gone', 'also-gone']);
    assert.equal(m.resources.length, 1);
    assert.equal(m.resources[0].name, 'r1');
    assert.equal(m.resources[0].version, r.version);
    assert.equal(decodeResource(m.resources[0].resource).name, 'r1');
  });

  it('round-trips requests, turning node metadata (a Struct) into plain JSON', () => {
    const node = {
      id: 'n1', cluster: 'web',
      metadata: { NAMESPACE: 'shop', LABELS: { app: 'web', tier: 'front' }, PORTS: [80, 'x'], ON: true, NONE: null },
    };
    const req = decodeSotwRequest(encodeSotwRequest({
      node, typeUrl: CLUSTER, resourceNames: ['a'], versionInfo: 'v', responseNonce: 'n',
      errorDetail: { code: 3, message: 'bad' },
    }));
    assert.deepEqual(req.node, node);
    assert.deepEqual(req.resourceNames, ['a']);
    assert.equal(req.versionInfo, 'v');
    assert.equal(req.responseNonce, 'n');
    assert.deepEqual(req.errorDetail, { code: 3, message: 'bad' });

    const ack = decodeSotwRequest(encodeSotwRequest({ typeUrl: CLUSTER, responseNonce: 'n' }));
    assert.equal(ack.node, undefined);
    assert.equal(ack.errorDetail, undefined, 'an ACK has no error_detail');

    const d = decodeDeltaRequest(encodeDeltaRequest({
      node: { id: 'n2' }, typeUrl: ROUTE, subscribe: ['r1'], unsubscribe: ['r0'], initialVersions: { r1: 'v1' },
    }));
    assert.deepEqual(d.node, { id: 'n2' });
    assert.deepEqual(d.subscribe, ['r1']);
    assert.deepEqual(d.unsubscribe, ['r0']);
    assert.deepEqual([...d.initialVersions], [['r1', 'v1']]);
  });

  it('treats a node without an id as no node', () => {
    const req = decodeSotwRequest(encodeSotwRequest({ node: { id: '' }, typeUrl: CLUSTER }));
    assert.equal(req.node, undefined);
  });
});
