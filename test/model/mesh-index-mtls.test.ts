// What the per-snapshot index answers about identity and mTLS, from a config directory (so
// PeerAuthentication files go through the real source, parser and store).
import assert from 'node:assert/strict';
import { MeshIndex } from '../../src/model/mesh-index.js';
import { PROXY_KIND_GRPC_SERVER, PROXY_KIND_LABEL, TLS_MODE_LABEL, TLS_MODE_SIDECAR } from '../../src/model/server-kind.js';
import { snapshotFromYaml } from '../support/mesh-snapshot.js';

const MESH = `
apiVersion: v1
kind: Service
metadata: { name: backend, namespace: demo }
spec: { selector: { app: backend }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: backend-1, namespace: demo, labels: { kubernetes.io/service-name: backend } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints:
  - { addresses: [10.0.0.1], targetRef: { kind: Pod, name: meshed } }
  - { addresses: [10.0.0.2], targetRef: { kind: Pod, name: plain } }
  - { addresses: [10.0.0.3], targetRef: { kind: Pod, name: server } }
  - { addresses: [10.0.0.4] }
---
apiVersion: v1
kind: Pod
metadata: { name: meshed, namespace: demo, labels: { app: backend, ${TLS_MODE_LABEL}: ${TLS_MODE_SIDECAR} } }
spec: { serviceAccountName: backend-sa, containers: [{ name: app, image: app }] }
status: { podIP: 10.0.0.1 }
---
apiVersion: v1
kind: Pod
metadata: { name: plain, namespace: demo, labels: { app: backend } }
spec: { containers: [{ name: app, image: app }] }
status: { podIP: 10.0.0.2 }
---
apiVersion: v1
kind: Pod
metadata: { name: server, namespace: demo, labels: { app: backend, ${PROXY_KIND_LABEL}: ${PROXY_KIND_GRPC_SERVER} } }
spec: { serviceAccountName: grpc-sa, containers: [{ name: app, image: app }] }
status: { podIP: 10.0.0.3 }
`;

const POLICIES = `
---
apiVersion: security.pilotfish.io/v1alpha1
kind: PeerAuthentication
metadata: { name: mesh, namespace: mesh-root }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.pilotfish.io/v1alpha1
kind: PeerAuthentication
metadata: { name: plain-port, namespace: demo }
spec:
  selector: { matchLabels: { app: backend } }
  portLevelMtls: { "9090": { mode: DISABLE } }
`;

describe('MeshIndex: mTLS modes, acceptance and SPIFFE IDs', () => {
  it('without policies every port is PERMISSIVE: sidecars take mTLS optionally, proxyless servers and the rest plaintext', async () => {
    const mesh = new MeshIndex(await snapshotFromYaml(MESH));
    const eps = mesh.snapshot.endpoints.get('backend.demo') ?? [];
    assert.deepEqual(eps.map((e) => [e.address, mesh.endpointAcceptance('demo', e, 8080)]),
      [['10.0.0.1', 'optional'], ['10.0.0.2', 'refused'], ['10.0.0.3', 'refused'], ['10.0.0.4', 'refused']]);
  });

  it('resolves mesh, workload and port levels with the configured root namespace, once per labels and port', async () => {
    const snapshot = await snapshotFromYaml(MESH + POLICIES);
    const other = new MeshIndex(snapshot);
    const eps = snapshot.endpoints.get('backend.demo') ?? [];
    assert.deepEqual(eps.map((e) => other.endpointAcceptance('demo', e, 8080)), ['optional', 'refused', 'refused', 'refused'],
      'the mesh policy sits in another namespace than the default root: not mesh-wide');

    const mesh = new MeshIndex(snapshot, undefined, { rootNamespace: 'mesh-root', trustDomain: 'example.org' });
    assert.deepEqual(eps.map((e) => mesh.endpointAcceptance('demo', e, 8080)), ['required', 'refused', 'required', 'refused']);
    assert.deepEqual(eps.map((e) => mesh.endpointAcceptance('demo', e, 9090)), ['refused', 'refused', 'refused', 'refused'],
      'the port-level DISABLE wins over the mesh STRICT');
    assert.equal(mesh.mtlsMode({ namespace: 'demo', labels: { app: 'other' } }, 9090), 'STRICT');
    const next = mesh.next({ ...snapshot, version: snapshot.version + 1 });
    assert.equal(next.trustDomain, 'example.org', 'identity options follow the chain of indexes');
    assert.equal(next.rootNamespace, 'mesh-root');
  });

  it('SPIFFE IDs of a Service: every known Pod behind it, default account when none is named, sorted', async () => {
    const snapshot = await snapshotFromYaml(MESH);
    const mesh = new MeshIndex(snapshot, undefined, { trustDomain: 'example.org' });
    const backend = snapshot.services.get('backend.demo');
    assert.ok(backend);
    const ids = mesh.spiffeIdsOf(backend);
    assert.deepEqual(ids, [
      'spiffe://example.org/ns/demo/sa/backend-sa',
      'spiffe://example.org/ns/demo/sa/default',
      'spiffe://example.org/ns/demo/sa/grpc-sa',
    ]);
    assert.equal(mesh.next({ ...snapshot, version: snapshot.version + 1 }).spiffeIdsOf(backend), ids, 'the same endpoints: the same array');
  });

  it('a Service whose endpoints are no known Pods has no IDs (clients then check the trust domain)', async () => {
    const snapshot = await snapshotFromYaml(MESH.replace(/targetRef: \{ kind: Pod, name: \w+ \}/g, 'targetRef: { kind: Pod, name: gone }'));
    const backend = snapshot.services.get('backend.demo');
    assert.ok(backend);
    assert.deepEqual(new MeshIndex(snapshot).spiffeIdsOf(backend), []);
  });
});
