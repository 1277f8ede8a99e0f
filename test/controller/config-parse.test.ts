import assert from 'node:assert/strict';
import { objectSetOf, parseConfigText } from '../../src/controller/config-parse.js';

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
    ['an unknown kind', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n', 1, /unknown kind "Deployment" \(apiVersion apps\/v1\); supported: v1 Namespace, v1 Service/],
    ['a wrong apiVersion', 'apiVersion: v1beta1\nkind: EndpointSlice\nmetadata: {name: a}\n', 1, /kind EndpointSlice needs apiVersion discovery.k8s.io\/v1, got "v1beta1"/],
    ['an invalid name', 'apiVersion: v1\nkind: Service\nmetadata: {name: Web_1}\nspec: {}\n', 1, /Service: metadata.name "Web_1" is not a DNS-1035 label/],
    ['a Service port without a number', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{name: http}]}\n', 1, /^Service default\/a: spec.ports\[0\].port is missing$/],
    ['a Service port out of range', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 70000}]}\n', 1, /spec.ports\[0\].port must be an integer between 1 and 65535, got 70000/],
    ['an unnamed port of a multi-port Service', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{name: a, port: 1}, {port: 2}]}\n', 1, /spec.ports\[1\].name is required when a Service has more than one port/],
    ['a Service without spec', 'apiVersion: v1\nkind: Service\nmetadata: {name: a}\n', 1, /Service default\/a: spec is missing/],
    ['an EndpointSlice without the service-name label', 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\nendpoints: []\n', 1, /EndpointSlice default\/s: metadata.labels\["kubernetes.io\/service-name"\] is missing/],
    ['an EndpointSlice with a bad address', 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s, labels: {kubernetes.io/service-name: a}}\naddressType: IPv4\nendpoints: [{addresses: [fd00::1]}]\n', 1, /endpoints\[0\].addresses\[0\] "fd00::1" is not an IPv4 address/],
    ['a non-string label value', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {version: 2}}\n', 1, /metadata.labels\["version"\] must be a string, got 2 \(quote it in YAML\)/],
    ['a duplicate object in one file', `${SERVICE}---\n${SERVICE}`, 2, /duplicate Service shop\/web: already defined in document 1 of this file/],
  ];
  for (const [what, text, document, reason] of cases) {
    it(`reports ${what} with its document number (1-based) and reason`, () => {
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
    assert.deepEqual(parseConfigText('f.yaml', ''), { objects: [], errors: [] });
    assert.deepEqual(parseConfigText('f.yaml', '# nothing yet\n---\n'), { objects: [], errors: [] });
  });
});
