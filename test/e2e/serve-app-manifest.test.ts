// `serve` on a directory holding an app's own manifests as they would be applied to a cluster —
// Namespace, Deployment, Service (selector, named targetPort), ConfigMap and the Pods the
// Deployment made (with their addresses) — plus a TrafficPolicy and TrafficRoute, unmodified: no
// EndpointSlice is written, pilotfish derives the endpoints from the Pods as Kubernetes would, and
// a real @grpc/grpc-js-xds client gets the route's split between the two versions.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpcXds from '@grpc/grpc-js-xds';
import { callMany, EchoClient, startEchoBackend, type EchoBackend } from '../support/echo-service.js';
import { PilotfishProcess, runPilotfish } from '../support/pilotfish-process.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';

/** The app's manifest, as `kubectl get -o yaml` would show it (the Pods' container ports are the backends'). */
function appManifest(v1Port: number, v2Port: number): string {
  const pod = (version: string, port: number): string => `
apiVersion: v1
kind: Pod
metadata:
  name: greeter-${version}-7d9f8b-x${version}
  namespace: app
  labels: { app: greeter, version: ${version}, pod-template-hash: 7d9f8b }
  ownerReferences:
    - { apiVersion: apps/v1, kind: ReplicaSet, name: greeter-${version}-7d9f8b, uid: 0b7c6a1e-${version}, controller: true }
spec:
  serviceAccountName: greeter
  containers:
    - name: greeter
      image: example.com/greeter:1.0
      ports:
        - { name: grpc, containerPort: ${port}, protocol: TCP }
      envFrom:
        - configMapRef: { name: greeter-config }
status:
  phase: Running
  podIP: 127.0.0.1
  podIPs: [{ ip: 127.0.0.1 }]
  conditions:
    - { type: Initialized, status: "True" }
    - { type: Ready, status: "True" }
    - { type: ContainersReady, status: "True" }
    - { type: PodScheduled, status: "True" }
`;
  return `apiVersion: v1
kind: Namespace
metadata:
  name: app
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: greeter-config
  namespace: app
data:
  GREETING: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: greeter-v1
  namespace: app
spec:
  replicas: 1
  selector:
    matchLabels: { app: greeter, version: v1 }
  template:
    metadata:
      labels: { app: greeter, version: v1 }
    spec:
      serviceAccountName: greeter
      containers:
        - name: greeter
          image: example.com/greeter:1.0
          ports:
            - { name: grpc, containerPort: 8080 }
---
apiVersion: v1
kind: Service
metadata:
  name: greeter
  namespace: app
spec:
  selector: { app: greeter }
  ports:
    - { name: grpc, port: 50051, targetPort: grpc, appProtocol: grpc }
---${pod('v1', v1Port)}---${pod('v2', v2Port)}`;
}

const ROUTING = `apiVersion: routing.pilotfish.io/v1alpha1
kind: TrafficPolicy
metadata: { name: greeter, namespace: app }
spec:
  host: greeter
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
apiVersion: routing.pilotfish.io/v1alpha1
kind: TrafficRoute
metadata: { name: greeter, namespace: app }
spec:
  hosts: [greeter]
  http:
    - route:
        - { destination: { host: greeter, subset: v1 }, weight: 75 }
        - { destination: { host: greeter, subset: v2 }, weight: 25 }
`;

describe('e2e: serve on an app\'s own manifests (endpoints from Pods) with a TrafficRoute', function () {
  this.timeout(60_000);
  let dir: string;
  let pf: PilotfishProcess | undefined;
  let client: EchoClient | undefined;
  const backends: EchoBackend[] = [];

  after(async () => {
    client?.close();
    await pf?.stop();
    await Promise.all(backends.map((b) => b.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a grpc-js-xds client gets the 75/25 split across the two Pods the Service selects', async () => {
    const v1 = await startEchoBackend('greeter-v1');
    const v2 = await startEchoBackend('greeter-v2');
    backends.push(v1, v2);
    dir = await mkdtemp(path.join(tmpdir(), 'pilotfish-app-'));
    await writeFile(path.join(dir, 'app.yaml'), appManifest(v1.port, v2.port));
    await writeFile(path.join(dir, 'routing.yaml'), ROUTING);

    pf = PilotfishProcess.start(['serve', '--config-dir', dir, '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0', '--log-level', 'debug']);
    const { xdsAddress } = await pf.serving();
    assert.equal(pf.count((l) => l.level === 'error' || l.level === 'warn'), 0,
      `no errors or warnings for an ordinary manifest:\n${pf.logs.filter((l) => l.level !== 'debug' && l.level !== 'info').map((l) => JSON.stringify(l)).join('\n')}`);
    assert.ok(pf.count((l) => /skip/i.test(l.message) && JSON.stringify(l).includes('Deployment')) > 0, 'the Deployment is skipped with a debug line');

    const out = await runPilotfish(['bootstrap', '--node-id', 'app-client', '--xds-address', xdsAddress, '--namespace', 'app']);
    assert.equal(out.code, 0, out.stderr);
    client = new EchoClient('xds:///greeter.app.svc.cluster.local:50051', { [BOOTSTRAP_OPTION]: out.stdout });
    const { byBackend, failures } = await callMany(client, 200, { deadlineMs: 10_000 });
    assert.deepEqual(failures, []);
    const n1 = byBackend.get('greeter-v1') ?? 0;
    const n2 = byBackend.get('greeter-v2') ?? 0;
    // 75/25 over 200 calls: v2 gets none with probability 0.75^200, as many as v1 with < 1e-12.
    assert.ok(n2 > 0 && n1 > n2, `split v1=${n1} v2=${n2}`);
  });
});
