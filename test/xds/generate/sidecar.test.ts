// Sidecar topology details the goldens do not show on their own.
import assert from 'node:assert/strict';
import { META_KIND, META_LABELS, META_NAMESPACE, META_POD_NAME } from '../../../src/xds/node-info.js';
import { proxyIdentityFromNode } from '../../../src/xds/cache/proxy-identity.js';
import { generateClusters, generateListeners, generateRoutes } from '../../../src/xds/generate/index.js';
import { snapshotFromYaml } from '../../support/mesh-snapshot.js';

const MESH = `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: a }
spec:
  clusterIP: fd00::10
  selector: { app: web }
  ports:
    - { name: http, port: 8080 }
    - { name: http-status, port: 15021 }
---
apiVersion: v1
kind: Service
metadata: { name: headless, namespace: a }
spec:
  clusterIP: None
  ports: [{ name: tcp, port: 7000 }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: b }
spec:
  clusterIP: 10.96.0.9
  ports: [{ name: http, port: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, namespace: a, labels: { app: web } }
status: { podIP: 10.0.0.1 }
`;

const sidecar = (metadata: Record<string, unknown>) => proxyIdentityFromNode({ id: 's', metadata: { [META_KIND]: 'sidecar', ...metadata } });

describe('sidecar generation', () => {
  it('answers to every name of a service, IPv6 cluster IPs in brackets, short names only in its namespace', async () => {
    const snapshot = await snapshotFromYaml(MESH);
    const rc = generateRoutes(snapshot, sidecar({ [META_NAMESPACE]: 'a' })).get('8080');
    assert.ok(rc && 'virtual_hosts' in rc && rc.virtual_hosts, 'route configuration 8080');
    assert.deepEqual(rc.virtual_hosts.map((v) => v.name), ['web.a.svc.cluster.local:8080', 'web.b.svc.cluster.local:8080', 'allow_any']);
    // No host:port forms: the listener strips the port before matching (next test).
    assert.deepEqual(rc.virtual_hosts[0].domains, ['web.a.svc.cluster.local', 'web.a.svc', 'web.a', 'web', '[fd00::10]']);
    assert.ok(rc.virtual_hosts[1].domains && !rc.virtual_hosts[1].domains.includes('web'), 'the short name belongs to the own namespace');
  });

  it('strips the port from the Host before matching on outbound HTTP listeners only', async () => {
    const snapshot = await snapshotFromYaml(MESH);
    const listeners = generateListeners(snapshot, sidecar({ [META_NAMESPACE]: 'a', [META_LABELS]: { app: 'web' } }));
    const hcms = (name: string) => JSON.stringify(listeners.get(name)).match(/"strip_any_host_port":true/g)?.length ?? 0;
    assert.equal(hcms('0.0.0.0_8080'), 1, 'the outbound HTTP connection manager: `web:8080` matches the domain `web`');
    assert.equal(hcms('virtualInbound'), 0, 'inbound matches every host anyway');
  });

  it('makes no listener for the sidecar\'s own ports or for TCP services it cannot match', async () => {
    const snapshot = await snapshotFromYaml(MESH);
    const names = [...generateListeners(snapshot, sidecar({ [META_NAMESPACE]: 'a' })).keys()];
    assert.deepEqual(names, ['virtualOutbound', '0.0.0.0_8080', 'virtualInbound']);
  });

  it('finds its workload by its pod when the proxy sends no labels', async () => {
    const snapshot = await snapshotFromYaml(MESH);
    const byPod = sidecar({ [META_NAMESPACE]: 'a', [META_POD_NAME]: 'web-1' });
    const byLabels = sidecar({ [META_NAMESPACE]: 'a', [META_LABELS]: { app: 'web' } });
    const stranger = sidecar({ [META_NAMESPACE]: 'a', [META_LABELS]: { app: 'other' } });
    const inbound = (p: typeof byPod) => [...generateClusters(snapshot, p).keys()].filter((n) => n.startsWith('inbound|'));
    assert.deepEqual(inbound(byPod), ['inbound|8080||'], 'port 15021 is the sidecar\'s own and never captured');
    assert.deepEqual(inbound(byLabels), ['inbound|8080||']);
    assert.deepEqual(inbound(stranger), []);
  });
});
