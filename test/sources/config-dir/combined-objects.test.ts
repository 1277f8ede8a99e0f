import assert from 'node:assert/strict';
import { CombinedObjects } from '../../../src/sources/config-dir/combined-objects.js';
import { parseConfigText, type ParsedObject } from '../../../src/sources/config-dir/parse-file.js';
import { EMPTY_OBJECTS } from '../../../src/sources/objects.js';

function parsed(text: string): readonly ParsedObject[] {
  const p = parseConfigText('f.yaml', text);
  assert.deepEqual(p.errors, []);
  return p.objects;
}

const service = (name: string, ns: string): string =>
  `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "${name}", "namespace": "${ns}"}, "spec": {"ports": [{"port": 80}]}}\n`;
const slice = (name: string, ns: string, address: string): string =>
  `{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "${name}", "namespace": "${ns}", ` +
  `"labels": {"kubernetes.io/service-name": "${name}"}}, "addressType": "IPv4", "endpoints": [{"addresses": ["${address}"]}]}\n`;

describe('CombinedObjects', () => {
  it('combines the files in path order and forgets a removed file', () => {
    const c = new CombinedObjects();
    assert.equal(c.objects(), EMPTY_OBJECTS);
    c.set('/d/b.yaml', parsed(service('b', 'x')));
    c.set('/d/a.yaml', parsed(`${service('a', 'x')}---\n${slice('a', 'x', '10.0.0.1')}`));
    assert.deepEqual(c.objects().services.map((s) => s.metadata?.name), ['a', 'b']);
    assert.deepEqual(c.objects().endpointSlices.map((s) => s.metadata?.name), ['a']);
    c.set('/d/a.yaml', undefined);
    assert.deepEqual(c.objects().services.map((s) => s.metadata?.name), ['b']);
    assert.deepEqual(c.objects().endpointSlices, []);
    c.set('/d/b.yaml', []);
    assert.equal(c.objects(), EMPTY_OBJECTS);
  });

  it('keeps the arrays of kinds no file changed, so the store sees them unchanged by identity', () => {
    const c = new CombinedObjects();
    const a = parsed(`${service('a', 'x')}---\n${slice('a', 'x', '10.0.0.1')}`);
    c.set('/d/a.yaml', a);
    c.set('/d/b.yaml', parsed(`${service('b', 'y')}---\n${slice('b', 'y', '10.0.0.2')}`));
    const before = c.objects();
    // The file again with its Service unchanged (the same object, as a re-parse reuses it) and a new slice.
    const edited = parsed(slice('a', 'x', '10.0.0.9'));
    c.set('/d/a.yaml', [a[0]!, { ...edited[0]!, document: 2 }]);
    const after = c.objects();
    assert.equal(after.services, before.services, 'no Service changed: the same array');
    assert.equal(after.pods, before.pods);
    assert.notEqual(after.endpointSlices, before.endpointSlices);
    assert.deepEqual(after.endpointSlices.map((s) => s.endpoints?.[0]?.addresses[0]), ['10.0.0.9', '10.0.0.2']);
    assert.equal(after.endpointSlices[1], before.endpointSlices[1], 'the other file\'s slice is the same object');
    assert.equal(c.objects(), after, 'asked again without a change: the same set');
  });
});
