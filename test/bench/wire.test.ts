// The benchmark's simulated proxies read and write xDS by hand (bench/wire.ts) so that thousands
// of them fit on the machine beside the server. Whatever they read or write must be what the real
// protos read or write, or the benchmark measures something else.
import assert from 'node:assert/strict';
import {
  clusterEdsName, deltaAckFrame, deltaRequestFrame, FrameDecoder, repeatedStrings, scanDelta, scanSotw, sotwAckFrame,
  sotwRequestFrame,
} from '../../bench/wire.js';
import { canonical, clusterEdsNames, decodeMessage, SotwEdsNames } from '../../bench/derive.js';
import { discoveryTypes } from '../../src/xds/server/codec.js';
import { lookupType } from '../../src/xds/protos.js';
import { CLUSTER, ENDPOINT } from '../../src/xds/types.js';

type Obj = Record<string, unknown>;

function joined(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length)));
}

/** The message of a framed request, after checking its gRPC prefix. */
function unframe(parts: readonly Uint8Array[]): Buffer {
  const all = joined(parts);
  assert.equal(all[0], 0, 'uncompressed');
  assert.equal(all.readUInt32BE(1), all.length - 5, 'prefix length matches the message');
  return all.subarray(5);
}

function decode(type: 'sotwRequest' | 'deltaRequest', msg: Uint8Array): Obj {
  const T = discoveryTypes()[type];
  return T.toObject(T.decode(msg), { defaults: true }) as Obj;
}

function encodeClusterValue(c: Obj): Uint8Array {
  const T = lookupType('envoy.config.cluster.v3.Cluster');
  return T.encode(T.fromObject(c)).finish();
}

function encodeCluster(c: Obj): Uint8Array {
  const A = discoveryTypes().any;
  return A.encode(A.fromObject({ type_url: CLUSTER, value: encodeClusterValue(c) })).finish();
}

// Long enough for two-byte lengths, and not only ASCII.
const NAMES = ['outbound|80||a.ns.svc.cluster.local', `outbound|8080||${'x'.repeat(150)}.svc.cluster.local`, 'outbound|9|v1|ünïcode.ns'];

describe('bench: hand-written xDS wire handling', () => {
  it('writes SotW ACKs the protos read back as the same request', () => {
    for (const [version, nonce] of [['', 'n1'], ['42', 'z'.repeat(200)], ['v'.repeat(130), '7']]) {
      const ack = decode('sotwRequest', unframe(sotwAckFrame(version, NAMES, CLUSTER, nonce)));
      assert.deepEqual([ack.version_info, ack.resource_names, ack.type_url, ack.response_nonce], [version, NAMES, CLUSTER, nonce]);
      assert.deepEqual(joined(sotwAckFrame(version, NAMES, CLUSTER, nonce)),
        joined(sotwRequestFrame({ versionInfo: version, names: NAMES, typeUrl: CLUSTER, nonce })));
    }
  });

  it('writes Delta ACKs and subscriptions the protos read back', () => {
    const ack = decode('deltaRequest', unframe(deltaAckFrame(ENDPOINT, 'nonce-1')));
    assert.deepEqual([ack.type_url, ack.response_nonce, ack.resource_names_subscribe], [ENDPOINT, 'nonce-1', []]);
    const sub = decode('deltaRequest', unframe(deltaRequestFrame({ typeUrl: ENDPOINT, subscribe: NAMES, unsubscribe: ['gone'] })));
    assert.deepEqual([sub.resource_names_subscribe, sub.resource_names_unsubscribe], [NAMES, ['gone']]);
  });

  it('encodes repeated strings as protobufjs does', () => {
    const T = discoveryTypes().sotwRequest;
    const reference = T.encode(T.fromObject({ resource_names: NAMES })).finish();
    assert.deepEqual(repeatedStrings(3, NAMES), Buffer.from(reference));
    assert.equal(repeatedStrings(3, []).length, 0);
  });

  it('reads the envelope of SotW and Delta responses as the protos do', () => {
    const clusters = NAMES.map((name) => encodeCluster({ name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } }));
    const S = discoveryTypes().sotwResponse;
    const anys = clusters.map((c) => discoveryTypes().any.decode(c));
    const sotw = S.encode(S.fromObject({ version_info: 'v9', resources: anys, type_url: CLUSTER, nonce: 'é-1' })).finish();
    assert.deepEqual(scanSotw(sotw), { versionInfo: 'v9', typeUrl: CLUSTER, nonce: 'é-1', resourceCount: 3 });

    const D = discoveryTypes().deltaResponse;
    const delta = D.encode(D.fromObject({
      system_version_info: 's1', type_url: CLUSTER, nonce: 'n', removed_resources: ['old-1', 'old-2'],
      resources: NAMES.map((name, i) => ({ name, version: `r${i}`, resource: anys[i] })),
    })).finish();
    const env = scanDelta(delta);
    assert.deepEqual([env.systemVersionInfo, env.typeUrl, env.nonce, env.removed], ['s1', CLUSTER, 'n', ['old-1', 'old-2']]);
    assert.deepEqual(env.resources.map((r) => [r.name, r.version]), NAMES.map((n, i) => [n, `r${i}`]));
    assert.deepEqual(env.resources.map((r) => Buffer.from(r.any!)), clusters.map((c) => Buffer.from(c)));
  });

  it('reads the EDS name of a cluster off the wire as the full decode does', () => {
    const cases: Obj[] = [
      { name: 'plain', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } },
      { name: 'named', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, service_name: 'other-name' } },
      { name: 'static', type: 'STATIC', connect_timeout: { seconds: 1 } },
      { name: 'dns', type: 'STRICT_DNS' },
    ];
    for (const c of cases) {
      const any = encodeCluster(c);
      const full = decodeMessage(CLUSTER, (discoveryTypes().any.decode(any) as unknown as { value: Uint8Array }).value);
      assert.equal(clusterEdsName(any), clusterEdsNames(full)[0], String(c.name));
    }
    assert.equal(clusterEdsName(encodeCluster(cases[1])), 'other-name');
    assert.equal(clusterEdsName(encodeCluster(cases[2])), undefined);
  });

  it('finds the EDS names of a whole SotW cluster list, shared between lists naming the same ones', () => {
    const S = discoveryTypes().sotwResponse;
    const A = discoveryTypes().any;
    const eds = (name: string, serviceName?: string): Obj => ({
      name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} }, ...(serviceName ? { service_name: serviceName } : {}) },
    });
    const response = (clusters: Obj[], version: string): Buffer => Buffer.from(S.encode(S.fromObject({
      version_info: version, type_url: CLUSTER, nonce: version, resources: clusters.map((c) => A.decode(encodeCluster(c))),
    })).finish());
    const shared = [eds('z-last'), eds(NAMES[1]), eds('named', 'via-service-name'), eds(NAMES[2])];
    // Two workload classes: the same EDS clusters, different static inbound clusters.
    const classA = response([...shared, { name: 'inbound|80||', type: 'STATIC' }], 'a');
    const classB = response([{ name: 'inbound|9090||', type: 'STATIC' }, ...shared], 'b');
    const other = response([...shared.slice(0, 3), eds('ünïcode-other')], 'c');

    const cache = new SotwEdsNames();
    const a = cache.get(classA);
    const expected = canonical(shared.flatMap((c) => clusterEdsNames(decodeMessage(CLUSTER, encodeClusterValue(c)))));
    assert.deepEqual(a, expected);
    assert.deepEqual(a, ['via-service-name', ...[NAMES[1], NAMES[2], 'z-last'].sort()].sort());
    assert.equal(cache.get(classB), a, 'same EDS clusters: the same array');
    const c = cache.get(other);
    assert.notEqual(c, a);
    assert.ok(c.includes('ünïcode-other') && !c.includes(NAMES[2]));
    assert.deepEqual([cache.hits, cache.misses], [1, 2]);
  });

  it('reassembles gRPC messages split anywhere across chunks, with and without the shared buffer', () => {
    const messages = [Buffer.from('a'), Buffer.alloc(40_000, 3), Buffer.alloc(0), Buffer.from('last')];
    const wire = Buffer.concat(messages.flatMap((m) => {
      const head = Buffer.alloc(5);
      head.writeUInt32BE(m.length, 1);
      return [head, m];
    }));
    for (const reuse of [false, true]) {
      for (const cut of [1, 4, 5, 7, 16_384, 40_006, wire.length - 1]) {
        const got: Buffer[] = [];
        // The shared buffer is only valid during the callback: copy, as a keeping proxy would.
        const decoder = new FrameDecoder((m) => got.push(Buffer.from(m)), reuse);
        decoder.push(wire.subarray(0, cut));
        decoder.push(wire.subarray(cut));
        assert.deepEqual(got, messages, `reuse ${reuse}, cut at ${cut}`);
      }
    }
  });
});
