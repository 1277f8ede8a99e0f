// A large service's endpoints are translated per slice and kept, its sorted list is merged
// rather than sorted again, and a large change can be prepared in steps (Translator.prepare)
// before translate() publishes it. Whatever was kept or prepared, translate() must give exactly
// what the stateless translate() gives for the same objects: order, duplicates and ties included.
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { EMPTY_OBJECTS, type ObjectSet } from '../../src/sources/objects.js';
import { Translator, translate } from '../../src/store/translate/translate.js';

type SliceEndpoint = NonNullable<V1EndpointSlice['endpoints']>[number];

/** A deterministic PRNG (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SERVICES: V1Service[] = [
  { metadata: { name: 'big', namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 80 }, { name: 'grpc', port: 90 }] } },
  { metadata: { name: 'small', namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 80 }] } },
];

function objects(endpointSlices: readonly V1EndpointSlice[], pods: readonly V1Pod[] = []): ObjectSet {
  return { ...EMPTY_OBJECTS, services: SERVICES, endpointSlices: [...endpointSlices], pods: [...pods] };
}

/**
 * An endpoint from a small address space, so that slices overlap (the same address and ports in
 * two slices, one of them not ready: the duplicate that goes must be the unhealthier one) and
 * ties that only the slice order decides are common.
 */
function endpoint(rnd: () => number): SliceEndpoint {
  const address = `10.0.${Math.floor(rnd() * 4)}.${Math.floor(rnd() * 60)}`;
  const ready = rnd() < 0.8;
  const pod = rnd() < 0.3 ? `pod-${Math.floor(rnd() * 20)}` : undefined;
  return {
    addresses: [address],
    conditions: { ready, serving: ready || rnd() < 0.5, terminating: !ready && rnd() < 0.5 },
    ...(rnd() < 0.3 ? { zone: `zone-${Math.floor(rnd() * 3)}` } : {}),
    ...(pod !== undefined ? { targetRef: { kind: 'Pod', namespace: 'shop', name: pod } } : {}),
  };
}

function slice(name: string, service: string, endpoints: SliceEndpoint[], port = 8080): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
    ports: [{ name: 'http', port }, { name: 'grpc', port: port + 1 }],
    endpoints,
  };
}

function pods(rnd: () => number): V1Pod[] {
  return Array.from({ length: 20 }, (_, i) => ({
    metadata: { name: `pod-${i}`, namespace: 'shop', labels: { version: `v${Math.floor(rnd() * 3)}` } },
    spec: { containers: [], serviceAccountName: `sa-${Math.floor(rnd() * 2)}` },
  }));
}

/** Runs a translator's preparation for `objects` to the end, or only its first `steps` steps. */
function prepare(translator: Translator, input: ObjectSet, steps = Infinity): number {
  let taken = 0;
  const it = translator.prepare(input);
  while (taken < steps && it.next().done !== true) taken++;
  return taken;
}

describe('translating a large service in steps', () => {
  it('gives what the stateless translation gives, whether prepared in full, in part or not at all, across slice and Pod changes', () => {
    const rnd = random(16);
    const withSteps = new Translator();
    const direct = new Translator();
    let slices = Array.from({ length: 40 }, (_, i) => slice(`big-${String(i).padStart(2, '0')}`, i % 8 === 7 ? 'small' : 'big',
      Array.from({ length: 25 }, () => endpoint(rnd))));
    let podList = pods(rnd);
    for (let round = 0; round < 30; round++) {
      const input = objects(slices, podList);
      // Prepare in full, in part (the rest is translated at once), or not at all.
      const mode = round % 3;
      if (mode !== 2) prepare(withSteps, input, mode === 0 ? Infinity : Math.floor(rnd() * 10));
      const expected = translate(input);
      assert.deepEqual(withSteps.translate(input), expected, `round ${round}: prepared (${['in full', 'in part', 'not'][mode]})`);
      assert.deepEqual(direct.translate(input), expected, `round ${round}: translated at once`);

      // Next round: rebuild some slices around their endpoint objects (one endpoint added, one
      // dropped), replace, drop and add others, and now and then relabel Pods.
      slices = slices.flatMap((s, i) => {
        const r = rnd();
        const eps = s.endpoints ?? [];
        if (r < 0.1) return [slice(s.metadata?.name ?? '', s.metadata?.labels?.['kubernetes.io/service-name'] ?? 'big', [...eps.slice(1), endpoint(rnd)])];
        if (r < 0.13) return [slice(s.metadata?.name ?? '', 'big', Array.from({ length: 25 }, () => endpoint(rnd)), 9000 + i)];
        if (r < 0.15) return [];
        return [s];
      });
      if (rnd() < 0.5) slices.push(slice(`big-new-${round}`, 'big', Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => endpoint(rnd))));
      if (rnd() < 0.2) podList = pods(rnd);
      // A preparation the translation never follows (the objects moved on) must leave no trace.
      if (rnd() < 0.3) prepare(withSteps, objects(slices.slice(1), pods(rnd)));
    }
  });

  it('a change to one slice of a 10,000-endpoint service keeps every other endpoint object', () => {
    const translator = new Translator();
    const shared = Array.from({ length: 100 }, (_, s) => Array.from({ length: 100 }, (_, e): SliceEndpoint =>
      ({ addresses: [`10.1.${s}.${e}`], conditions: { ready: true } })));
    const slices = shared.map((eps, i) => slice(`big-${String(i).padStart(3, '0')}`, 'big', eps));
    const first = translator.translate(objects(slices));
    const before = first.endpoints.get('big.shop') ?? [];
    assert.equal(before.length, 10_000);

    // The registry's way: slice 42 rebuilt around the same endpoint objects, plus one new endpoint.
    const changed = [...slices];
    changed[42] = slice('big-042', 'big', [...(shared[42] ?? []), { addresses: ['10.1.42.200'], conditions: { ready: true } }]);
    const input = objects(changed);
    const after = translator.translate(input).endpoints.get('big.shop') ?? [];
    assert.deepEqual(after, translate(input).endpoints.get('big.shop'));
    assert.equal(after.length, 10_001);
    const kept = new Set(before);
    assert.deepEqual(after.filter((e) => !kept.has(e)).map((e) => e.address), ['10.1.42.200'], 'only the new endpoint is a new object');
  });

  it('prepares one slice per step, and a translation after a full preparation translates no slice again', () => {
    const translator = new Translator();
    const slices = Array.from({ length: 12 }, (_, i) => slice(`big-${String(i).padStart(2, '0')}`, 'big',
      Array.from({ length: 10 }, (_, e): SliceEndpoint => ({ addresses: [`10.2.${i}.${e}`] }))));
    const input = objects(slices);
    const work: number[] = [];
    for (const n of translator.prepare(input)) work.push(n);
    // Twelve slices of ten, then the service's sorted list of 120.
    assert.deepEqual(work, [...Array.from({ length: 12 }, () => 10), 120]);
    assert.deepEqual([...translator.prepare(input)], [], 'prepared already: nothing left to do');
    assert.deepEqual(translator.translate(input), translate(input));
  });
});
