import assert from 'node:assert/strict';
import { endsDelimited, MAX_DOCUMENTS_PER_FILE, objectSetOf, parseConfigText } from '../../../src/sources/config-dir/parse-file.js';

const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  ports: [{name: http, port: 80}]
`;

function errorOf(text: string): { document: number | null; reason: string } {
  const parsed = parseConfigText('f.yaml', text);
  assert.equal(parsed.objects.length, 0, 'a file with an error contributes no objects');
  assert.equal(parsed.errors.length, 1, `expected one error, got ${JSON.stringify(parsed.errors)}`);
  const e = parsed.errors[0]!;
  assert.equal(e.file, 'f.yaml');
  return { document: e.document, reason: e.reason };
}

describe('config-parse', () => {
  it('parses every supported kind, defaulting the namespace to "default"', () => {
    const parsed = parseConfigText('f.yaml', `${SERVICE}---
apiVersion: v1
kind: Namespace
metadata: {name: shop, namespace: ignored, labels: {pilotfish.io/inject: enabled}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.0.0.1], zone: a}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, labels: {app: web}}
status: {podIP: 10.0.0.1}
---
apiVersion: routing.pilotfish.io/v1alpha1
kind: TrafficRoute
metadata: {name: r}
spec: {anything: [1, 2]}
---
apiVersion: routing.pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: {name: p, namespace: shop}
---
# an empty trailing document is fine
`);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.objects.map((o) => [o.kind, o.key, o.document]), [
      ['Service', 'Service/shop/web', 1],
      ['Namespace', 'Namespace/shop', 2],
      ['EndpointSlice', 'EndpointSlice/default/web-1', 3],
      ['Pod', 'Pod/default/web-0', 4],
      ['TrafficRoute', 'TrafficRoute/default/r', 5],
      ['TrafficPolicy', 'TrafficPolicy/shop/p', 6],
    ]);
    const set = objectSetOf(parsed.objects);
    assert.equal(set.namespaces[0]?.metadata?.namespace, undefined, 'cluster-scoped objects have no namespace');
    assert.equal(set.endpointSlices[0]?.metadata?.namespace, 'default');
    assert.deepEqual(set.trafficRoutes[0]?.spec, { anything: [1, 2] }, 'routing specs are kept as written');
    assert.equal(set.services[0]?.spec?.ports?.[0]?.port, 80);
  });

  const cases: Array<[string, string, number, RegExp]> = [
    ['a YAML syntax error', `${SERVICE}---\nkind: [Service\n`, 2, /YAML syntax error: .* at line 8, column 1$/],
    ['a duplicate YAML key', 'apiVersion: v1\napiVersion: v1\n', 1, /YAML syntax error: Map keys must be unique/],
    ['a document that is not an object', '- a\n- b\n', 1, /document is not an object \(got a list\)/],
    ['a scalar document', `${SERVICE}---\nhello\n`, 2, /document is not an object \(got the string "hello"\)/],
    ['a missing apiVersion', 'kind: Service\nmetadata: {name: a}\n', 1, /^apiVersion is missing$/],
    ['a missing kind', 'apiVersion: v1\nmetadata: {name: a}\n', 1, /^kind is missing$/],
    ['a missing metadata', 'apiVersion: v1\nkind: Namespace\n', 1, /^Namespace: metadata is missing$/],
    ['a missing metadata.name', 'apiVersion: v1\nkind: Namespace\nmetadata: {labels: {}}\n', 1, /^Namespace: metadata.name is missing$/],
    ['an unknown kind of pilotfish\'s API group', 'apiVersion: routing.pilotfish.io/v1alpha1\nkind: TrafficRule\nmetadata: {name: a}\n', 1, /unknown kind "TrafficRule" \(apiVersion "routing.pilotfish.io\/v1alpha1"\); supported: v1 Namespace, v1 Service/],
    ['a wrong apiVersion', 'apiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata: {name: a}\n', 1, /kind EndpointSlice needs apiVersion discovery.k8s.io\/v1, got "discovery.k8s.io\/v1beta1"/],
    ['an invalid name', 'apiVersion: v1\nkind: Service\nmetadata: {name: Web_1}\nspec: {}\n', 1, /Service: metadata.name "Web_1" is not a DNS-1035 label/],
    ['a Service port without a number', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{name: http}]}\n', 1, /^Service default\/a: spec.ports\[0\].port is missing$/],
    ['a Service port out of range', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 70000}]}\n', 1, /spec.ports\[0\].port must be an integer between 1 and 65535, got 70000/],
    ['an unnamed port of a multi-port Service', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{name: a, port: 1}, {port: 2}]}\n', 1, /spec.ports\[1\].name is required when a Service has more than one port/],
    ['a Service without spec', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\n', 1, /Service default\/a: spec is missing/],
    ['an EndpointSlice without the service-name label', 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\nendpoints: []\n', 1, /EndpointSlice default\/s: metadata.labels\["kubernetes.io\/service-name"\] is missing/],
    ['an EndpointSlice with a bad address', 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: a}}\naddressType: IPv4\nendpoints: [{addresses: [fd00::1]}]\n', 1, /endpoints\[0\].addresses\[0\] "fd00::1" is not an IPv4 address/],
    ['a non-string label value', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {version: 2}}\n', 1, /metadata.labels\["version"\] must be a string, got 2 \(quote it in YAML\)/],
    ['an alias bomb', `a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d]\n`, 1, /^cannot read the document: Excessive alias count indicates a resource exhaustion attack$/],
    ['a circular alias', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: &s {containers: [*s]}\n', 1, /^circular alias at spec.containers\[0\]: the document refers to itself$/],
    ['a circular alias where a string is expected', 'apiVersion: v1\nkind: Pod\nmetadata: &m {name: p, labels: {x: *m}}\n', 1, /^circular alias at metadata.labels.x/],
    ['a duplicate object in one file', `${SERVICE}---\n${SERVICE}`, 2, /duplicate Service shop\/web: already defined in document 1 of this file/],
  ];
  for (const [what, text, document, reason] of cases) {
    it(`reports ${what} with its document index and reason`, () => {
      const e = errorOf(text);
      assert.equal(e.document, document);
      assert.match(e.reason, reason);
    });
  }

  it('reports every broken document of a file, not only the first', () => {
    const parsed = parseConfigText('f.yaml', `kind: A\n---\n${SERVICE}---\n- x\n`);
    assert.deepEqual(parsed.errors.map((e) => e.document), [1, 3]);
    assert.deepEqual(parsed.objects, []);
  });

  it('treats an empty file as valid and empty', () => {
    for (const text of ['', '# nothing yet\n---\n']) {
      const { objects, errors, skipped } = parseConfigText('f.yaml', text);
      assert.deepEqual({ objects, errors, skipped }, { objects: [], errors: [], skipped: [] });
    }
  });

  it('passes over kinds pilotfish does not use, and the same kind names of other API groups', () => {
    const parsed = parseConfigText('f.yaml', `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
---
${SERVICE}---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: web}
`);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.objects.map((o) => [o.key, o.document]), [['Service/shop/web', 3]]);
    assert.deepEqual(parsed.skipped, [
      { document: 1, apiVersion: 'apps/v1', kind: 'Deployment' },
      { document: 2, apiVersion: 'v1', kind: 'ConfigMap' },
      { document: 4, apiVersion: 'serving.knative.dev/v1', kind: 'Service' },
    ]);
  });

  it('reports at most 20 errors of one file, then how many more there are', () => {
    const parsed = parseConfigText('f.yaml', '---\n{}\n'.repeat(50));
    assert.equal(parsed.errors.length, 21);
    assert.deepEqual(parsed.errors.slice(0, 20).map((e) => e.document), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.deepEqual(parsed.errors[20], { file: 'f.yaml', document: null, reason: '30 more documents with errors' });
  });

  it('parses again only the documents whose text changed, keeping the others\' objects', () => {
    const doc = (name: string, port: number): string => SERVICE.replace('name: web', `name: ${name}`).replace('port: 80', `port: ${port}`);
    const first = parseConfigText('f.yaml', `${doc('a', 1)}---\n${doc('b', 2)}---\n${doc('c', 3)}`);
    const second = parseConfigText('f.yaml', `${doc('a', 1)}---\n${doc('b', 20)}---\n${doc('c', 3)}`, first.reuse);
    assert.deepEqual(second.errors, []);
    assert.equal(second.objects[0]?.object, first.objects[0]?.object, 'unchanged document: the same object');
    assert.notEqual(second.objects[1]?.object, first.objects[1]?.object);
    assert.equal(second.objects[2]?.object, first.objects[2]?.object);
    assert.deepEqual(second.objects.map((o) => [o.key, o.document]), [['Service/shop/a', 1], ['Service/shop/b', 2], ['Service/shop/c', 3]]);
    // A document moved down keeps its object but gets its new number; errors carry file line numbers.
    const third = parseConfigText('f.yaml', `${doc('x', 9)}---\n${doc('a', 1)}---\nkind: [\n`, second.reuse);
    assert.equal(third.objects.length, 0);
    assert.deepEqual(third.errors.map((e) => e.document), [3]);
    assert.match(third.errors[0]?.reason ?? '', /at line 14, column 1$/);
    const fourth = parseConfigText('f.yaml', `${doc('x', 9)}---\n${doc('a', 1)}`, third.reuse);
    assert.deepEqual(fourth.objects.map((o) => [o.key, o.document]), [['Service/shop/x', 1], ['Service/shop/a', 2]]);
    const fifth = parseConfigText('f.yaml', `${doc('x', 9)}---\n${doc('a', 1)}`, fourth.reuse);
    assert.deepEqual(fifth.objects.map((o) => o.object), fourth.objects.map((o) => o.object));
    assert.ok(fifth.objects.every((o, i) => o.object === fourth.objects[i]?.object), 'nothing parsed again');
  });

  it('tells text whose last document shows its end (whole JSON, or nothing) from text that may be cut short', () => {
    const json = '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"ports": [{"name": "http", "port": 80}]}}';
    // Whole: the last document is one JSON object, or empty after a `---` line already written.
    for (const text of [json, `${json}\n`, `${SERVICE}---\n${json}\n`, `---\n${json}`, `${SERVICE}---\n`, `${SERVICE}---\n# end\n`, '', '  \n']) {
      assert.equal(endsDelimited(text), true, JSON.stringify(text));
    }
    // Not evidently whole: a YAML last document (valid YAML cut at any line end), or JSON cut anywhere.
    const cuts = [SERVICE, `${json}\n---\n${SERVICE}`, SERVICE.slice(0, SERVICE.indexOf('spec:')), `${json}\n---\n{"apiVersion": "v1"`];
    for (let i = 1; i < json.length; i++) cuts.push(json.slice(0, i), `${SERVICE}---\n${json.slice(0, i)}`);
    for (const text of cuts) assert.equal(endsDelimited(text), false, JSON.stringify(text));
    // YAML cut at a line end really is valid, with less in it: why the parse alone cannot tell.
    const slice = 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}\n' +
      'addressType: IPv4\nendpoints:\n- addresses: [10.0.0.1]\n- addresses: [10.0.0.2]\n';
    const cut = parseConfigText('f.yaml', slice.slice(0, slice.indexOf('- addresses: [10.0.0.2]')));
    assert.deepEqual(cut.errors, []);
    assert.equal(cut.objects.length, 1);
    assert.equal(endsDelimited(slice.slice(0, slice.indexOf('- addresses: [10.0.0.2]'))), false);
  });

  it('reads a document written as JSON the same as YAML', () => {
    const json = '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"ports": [{"name": "http", "port": 80}]}}\n';
    const fromJson = parseConfigText('f.yaml', `${json}---\n${json.replace('"web"', '"api"')}`);
    const fromYaml = parseConfigText('f.yaml', `${SERVICE}---\n${SERVICE.replace('name: web', 'name: api')}`);
    assert.deepEqual(fromJson.errors, []);
    assert.deepEqual(fromJson.objects, fromYaml.objects);
    // JSON with a comment is YAML, not JSON: still read.
    assert.deepEqual(parseConfigText('f.yaml', `# generated\n${json}`).objects.map((o) => o.key), ['Service/shop/web']);
  });

  it('does not split a file with YAML directives (they apply across documents)', () => {
    const parsed = parseConfigText('f.yaml', `%YAML 1.2\n---\n${SERVICE}---\n${SERVICE.replace('name: web', 'name: api')}`);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.objects.map((o) => [o.key, o.document]), [['Service/shop/web', 1], ['Service/shop/api', 2]]);
  });

  it('refuses a file of more documents than the bound, naming the bound', () => {
    const parsed = parseConfigText('f.yaml', '---\n'.repeat(MAX_DOCUMENTS_PER_FILE + 1));
    assert.deepEqual(parsed.objects, []);
    assert.equal(parsed.errors.length, 1);
    assert.equal(parsed.errors[0]?.document, null);
    assert.match(parsed.errors[0]?.reason ?? '', /more than 10000 YAML documents in one file/);
  });
});
