// The webhook's JSONPatch is its own walk (no deep clones, JSON text out); it must give exactly the
// operations fast-json-patch's compare gives, in the same order, and turn the sent Pod into the
// injected one. Checked on every golden Pod and on hand-made differences that exercise each branch.
import { TLS_MODE_LABEL, TLS_MODE_SIDECAR } from '../../src/model/server-kind.js';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import jsonpatch from 'fast-json-patch';
import { parse } from 'yaml';
import { DEFAULT_INJECTOR_CONFIG, injectPod, type InjectorConfig } from '../../src/webhook/inject.js';
import { InjectionMemo } from '../../src/webhook/injection-memo.js';
import { AlignedBase64Writer, padToTriplets } from '../../src/webhook/aligned-base64.js';
import { FrozenJson } from '../../src/webhook/frozen-json.js';
import { BoundedMemo } from '../../src/webhook/memo.js';
import { applyPodPatch, podPatch, podPatchBase64, podPatchJson } from '../../src/webhook/patch.js';
import { INJECT_GOLDEN_DIR } from '../support/golden.js';

function sameAsLibrary(a: unknown, b: unknown): void {
  const expected = JSON.stringify(jsonpatch.compare(a as object, b as object));
  const ours = podPatchJson(a, b);
  assert.equal(ours.json, expected);
  assert.equal(ours.operations, (JSON.parse(expected) as unknown[]).length);
  assert.deepEqual(podPatch(a, b), JSON.parse(expected));
  // What the AdmissionResponse carries: canonical base64 of JSON equal to the library's.
  const encoded = podPatchBase64(a, b);
  const decoded = Buffer.from(encoded.base64, 'base64');
  assert.equal(decoded.toString('base64'), encoded.base64, 'canonical base64 ("=" only at the end)');
  assert.equal(JSON.stringify(JSON.parse(decoded.toString('utf8'))), expected);
  assert.equal(encoded.operations, ours.operations);
}

describe('webhook/patch', () => {
  const dir = path.join(INJECT_GOLDEN_DIR, 'pods');
  const files = readdirSync(dir).filter((f) => f.endsWith('.in.yaml')).sort();

  it('has golden Pods to compare on', () => {
    assert.ok(files.length >= 10);
  });

  for (const file of files) {
    it(`equals fast-json-patch's compare and applies to the injected Pod: ${file}`, () => {
      const c = parse(readFileSync(path.join(dir, file), 'utf8')) as { pod: V1Pod; config?: Partial<InjectorConfig> };
      const config: InjectorConfig = { ...DEFAULT_INJECTOR_CONFIG, ...(c.config ?? {}) };
      const injected = injectPod(c.pod, config).pod;
      sameAsLibrary(c.pod, injected);
      const ops = JSON.parse(podPatchJson(c.pod, injected).json) as jsonpatch.Operation[];
      assert.deepEqual(applyPodPatch(c.pod, ops), injected);
      // Both Pods are parsed afresh, so nothing is shared and every branch of the walk runs.
      sameAsLibrary(structuredClone(c.pod), structuredClone(injected));
    });
  }

  it('equals compare on removals, replacements, type changes, escaped keys and array holes', () => {
    const before = {
      a: 1, b: { c: [1, 2, 3], d: 'x', 'e/f': { '~g': true } }, h: [{ i: 1 }, { j: 2 }], k: { l: 1 }, m: null,
      n: [1, 2], o: 'gone', p: { q: 1 },
    };
    const after = {
      a: 2, b: { c: [1, 5], d: 'x', 'e/f': { '~g': false, new: [] } }, h: [{ i: 1, z: 0 }], k: [1], m: { now: 'object' },
      n: [1, undefined, 3], p: { q: undefined }, r: 'added', s: undefined,
    };
    sameAsLibrary(before, after);
    sameAsLibrary(after, before);
    sameAsLibrary({ x: [1, 2] }, { x: { 0: 1 } });
    sameAsLibrary([1, { a: 1 }], [1, { a: 2 }, 3]);
    sameAsLibrary({ d: { t: 1 } }, { d: { t: 1, when: new Date(0) } });
  });

  it('is empty for equal Pods, shared or not', () => {
    const pod = { metadata: { name: 'a' }, spec: { containers: [{ name: 'c' }] } };
    assert.deepEqual(podPatchJson(pod, pod), { json: '[]', operations: 0 });
    assert.deepEqual(podPatchJson(pod, structuredClone(pod)), { json: '[]', operations: 0 });
  });

  it('the injected Pod shares what it does not change with the sent Pod, which stays as it was', () => {
    const sent: V1Pod = {
      metadata: { name: 'web', labels: { app: 'web' }, annotations: { note: 'kept' } },
      spec: {
        containers: [
          { name: 'app', image: 'app:1', readinessProbe: { httpGet: { path: '/ready', port: 8080 } } },
          { name: 'logs', image: 'logs:1' },
        ],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      },
    };
    const copy = structuredClone(sent);
    const injected = injectPod(sent, DEFAULT_INJECTOR_CONFIG).pod;
    assert.deepEqual(sent, copy, 'the sent Pod is not modified');
    assert.deepEqual(injected.metadata?.labels, { ...sent.metadata?.labels, [TLS_MODE_LABEL]: TLS_MODE_SIDECAR }, 'the only label added says the Pod is meshed');
    assert.equal(injected.spec?.volumes?.[0], sent.spec?.volumes?.[0], 'the Pod\'s own volume is shared');
    assert.deepEqual(injected.spec?.volumes?.slice(1).map((v) => v.name), ['pilotfish-run', 'pilotfish-token', 'pilotfish-ca-root']);
    assert.equal(injected.spec?.containers[1], sent.spec?.containers[1]);
    assert.notEqual(injected.spec?.containers[0], sent.spec?.containers[0], 'the container whose probe is rewritten is a copy');
    assert.notEqual(injected.metadata?.annotations, sent.metadata?.annotations);
    sameAsLibrary(sent, injected);
    assert.deepEqual(applyPodPatch(sent, podPatch(sent, injected)), injected);
  });
});

describe('webhook/memo', () => {
  it('computes once per key and starts over when full', () => {
    const memo = new BoundedMemo<string>(2);
    let calls = 0;
    const get = (k: string): string => memo.get(k, () => { calls++; return `v-${k}`; });
    assert.equal(get('a'), 'v-a');
    assert.equal(get('a'), 'v-a');
    assert.equal(calls, 1);
    get('b');
    assert.equal(memo.size, 2);
    assert.equal(get('c'), 'v-c');
    assert.equal(memo.size, 1);
    assert.equal(calls, 3);
  });
});

describe('webhook/aligned-base64', () => {
  it('pads to whole 3-byte groups, counting UTF-8 bytes', () => {
    assert.equal(padToTriplets('abc'), 'abc');
    assert.equal(padToTriplets('ab'), 'ab ');
    assert.equal(padToTriplets('a'), 'a  ');
    assert.equal(padToTriplets('\u00e9'), '\u00e9 ');
    assert.equal(padToTriplets('\u20ac'), '\u20ac');
  });

  it('joins encoded pieces into the base64 of the padded whole, whatever the lengths and characters', () => {
    const texts = ['', 'a', 'ab', 'abc', '\u00e9', '{"k":"\u20ac"}', '[1,2]', '"x\\"y"', '\ud83d\ude00'];
    for (const before of texts) {
      for (const piece of texts.filter((t) => t !== '')) {
        for (const after of texts) {
          const w = new AlignedBase64Writer();
          w.text(before);
          w.encodedPiece(Buffer.from(padToTriplets(piece)).toString('base64'));
          w.text(after);
          const base64 = w.finish();
          const whole = (before === '' ? '' : padToTriplets(before)) + padToTriplets(piece) + after;
          assert.equal(base64, Buffer.from(whole).toString('base64'), JSON.stringify([before, piece, after]));
        }
      }
    }
  });

  it('a patch encodes the frozen parts it shares with other Pods once, and reuses the encoding', () => {
    const frozen = new FrozenJson();
    const container = frozen.freeze({ name: 'proxy', args: ['--x', 'caf\u00e9'] });
    const piece = frozen.alignedBase64Of(container);
    assert.ok(piece !== undefined && frozen.alignedBase64Of(container) === piece);
    assert.equal(frozen.alignedBase64Of({ name: 'fresh' }), undefined);
    for (const lead of ['', 'a', 'ab']) {
      const before = { metadata: { name: `w${lead}` }, spec: { initContainers: [] as unknown[] } };
      const after = { metadata: before.metadata, spec: { initContainers: [{ name: `i${lead}` }, container, 7, null] } };
      const encoded = podPatchBase64(before, after, frozen).base64;
      assert.ok(encoded.includes(piece), `the frozen container's encoding is in the patch (lead "${lead}")`);
      const ops = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as jsonpatch.Operation[];
      assert.deepEqual(applyPodPatch(before, ops), after);
    }
  });
});

describe('webhook/frozen-json', () => {
  it('freezes deeply and gives the JSON.stringify text, also inside arrays of fresh values', () => {
    const frozen = new FrozenJson();
    const shared = frozen.freeze({ name: 'proxy', args: ['--x', 'a "quoted" $(REF)'], nested: { n: 1 } });
    assert.ok(Object.isFrozen(shared) && Object.isFrozen(shared.args) && Object.isFrozen(shared.nested));
    assert.throws(() => { (shared.nested as { n: number }).n = 2; }, TypeError);
    const mixed = [shared, { fresh: true }, undefined, 'text', 3, null, [shared]];
    assert.equal(frozen.jsonText(mixed), JSON.stringify(mixed));
    assert.equal(frozen.jsonText(shared), JSON.stringify(shared));
    assert.equal(frozen.jsonText('s'), '"s"');
  });

  it("two webhook instances keep their own texts: one's frozen parts are unknown to the other", () => {
    const pod: V1Pod = { metadata: { name: 'w', labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
    const one = new InjectionMemo();
    const other = new InjectionMemo();
    const injected = injectPod(pod, DEFAULT_INJECTOR_CONFIG, one).pod;
    const proxy = injected.spec?.initContainers?.find((c) => c.name === 'pilotfish-proxy');
    const volume = injected.spec?.volumes?.[0];
    assert.ok(proxy !== undefined && volume !== undefined);
    assert.ok(one.frozen.alignedBase64Of(proxy) !== undefined, 'the instance that froze the proxy container knows its text');
    assert.equal(other.frozen.alignedBase64Of(proxy), undefined, 'another instance does not see it');
    assert.ok(one.frozen.alignedBase64Of(volume) !== undefined);
    assert.equal(other.frozen.alignedBase64Of(volume), undefined, 'not even the volumes every Pod gets');
    assert.notEqual(injectPod(pod, DEFAULT_INJECTOR_CONFIG, other).pod.spec?.volumes?.[0], volume, 'the other froze its own');
    // The patch is the same JSON whichever instance's texts it reuses, or none.
    const decoded = (frozen?: FrozenJson): unknown => JSON.parse(Buffer.from(podPatchBase64(pod, injected, frozen).base64, 'base64').toString('utf8'));
    assert.deepEqual(decoded(other.frozen), decoded(one.frozen));
    assert.deepEqual(decoded(), decoded(one.frozen));
    assert.ok(podPatchBase64(pod, injected, one.frozen).base64.includes(one.frozen.alignedBase64Of(proxy) ?? '?'));
  });

  it('the injected containers are shared, frozen, between replicas, and each Pod is still right', () => {
    const replica = (name: string): V1Pod => ({
      metadata: { name, labels: { app: 'web' } },
      spec: { containers: [{ name: 'app', image: 'app:1' }] },
    });
    // One webhook instance's memo, as `pilotfish webhook` keeps one for all its admissions.
    const memo = new InjectionMemo();
    const a = injectPod(replica('a'), DEFAULT_INJECTOR_CONFIG, memo).pod;
    const b = injectPod(replica('b'), DEFAULT_INJECTOR_CONFIG, memo).pod;
    const named = (pod: V1Pod, name: string) => pod.spec?.initContainers?.find((c) => c.name === name);
    for (const name of ['pilotfish-agent', 'pilotfish-proxy']) {
      assert.ok(named(a, name));
      assert.equal(named(a, name), named(b, name));
      assert.ok(Object.isFrozen(named(a, name)));
    }
    assert.equal(a.spec?.volumes?.[0], b.spec?.volumes?.[0], 'the added volumes are shared too');
    assert.ok(Object.isFrozen(a.spec?.volumes?.[0]));
    assert.notEqual(a.spec?.initContainers, b.spec?.initContainers);
    assert.equal(a.metadata?.name, 'a');
    const other = injectPod({ ...replica('c'), metadata: { name: 'c', labels: { app: 'api' } } }, DEFAULT_INJECTOR_CONFIG, memo).pod;
    assert.notEqual(named(other, 'pilotfish-proxy'), named(a, 'pilotfish-proxy'), 'other labels, other bootstrap');
    assert.equal(named(other, 'pilotfish-agent'), named(a, 'pilotfish-agent'), 'the agent does not depend on labels');
    assert.match(String(named(other, 'pilotfish-proxy')?.args?.[1]), /api\.\$\(POD_NAMESPACE\)/);
  });
});
