// Istio config against the real API server, with the controller running as the chart's
// ServiceAccount (so the chart's RBAC is what it gets). Without Istio's CRDs the controller runs,
// logs that the Istio kinds are absent, and `pilotfish check` says so. With Istio's own CRDs
// (vendored from istio.io/api, test/fixtures/istio-crds) a VirtualService and a DestinationRule
// created through the API server drive a real @grpc/grpc-js-xds client; the fields pilotfish leaves
// out become Events on the objects, whose status pilotfish never writes.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpcXds from '@grpc/grpc-js-xds';
import type { Cluster } from '../cluster/cluster.js';
import type { KubeObject } from '../cluster/kube-rest.js';
import { callMany, EchoClient, type EchoBackend } from '../support/echo-service.js';
import { REPO_ROOT, runPilotfish, type LogLine, type PilotfishProcess } from '../support/pilotfish-process.js';
import { bounded, createNamespace, installCrds, parseManifests, sharedCluster, uniqueName } from './fixture.js';
import { hostAddress, startEchoOn } from './host-echo.js';
import { installPilotfish, startController, type Installation } from './pilotfish-install.js';

grpcXds.register();

const BOOTSTRAP_OPTION = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const ISTIO = 'networking.istio.io/v1';
const ISTIO_CRD_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'istio-crds');

/** Istio's VirtualService and DestinationRule CRDs, as Istio ships them. */
async function istioCrds(): Promise<KubeObject[]> {
  const files = (await readdir(ISTIO_CRD_DIR)).filter((f) => f.endsWith('.yaml')).sort();
  if (files.length !== 2) throw new Error(`expected Istio's two CRDs in ${ISTIO_CRD_DIR}, found ${files.join(', ') || 'none'}`);
  const out: KubeObject[] = [];
  for (const f of files) out.push(...parseManifests(await readFile(path.join(ISTIO_CRD_DIR, f), 'utf8'), f));
  return out;
}

function service(ns: string, name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ name: 'grpc', port: 50051, appProtocol: 'grpc' }] } };
}

function slice(ns: string, svc: string, port: number, address: string): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${svc}-1`, namespace: ns, labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'pilotfish-e2e' } },
    addressType: 'IPv4', ports: [{ name: 'grpc', port, protocol: 'TCP' }], endpoints: [{ addresses: [address], conditions: { ready: true } }],
  };
}

interface Event extends KubeObject {
  reason?: string;
  message?: string;
  type?: string;
  involvedObject?: { kind?: string; name?: string; uid?: string };
}

describe('cluster: Istio VirtualService and DestinationRule', function () {
  this.timeout(300_000);
  let cluster: Cluster;
  let inst: Installation;
  let ns: string;
  let pf: PilotfishProcess | undefined;
  const backends: EchoBackend[] = [];
  const clients: EchoClient[] = [];

  before(async () => {
    cluster = await sharedCluster();
    inst = await installPilotfish(cluster);
    ns = uniqueName('istio');
    await createNamespace(cluster, ns);
  });

  after(async () => {
    for (const c of clients) c.close();
    if (pf) await pf.stop('SIGTERM');
    await Promise.all(backends.map((b) => b.close()));
    // Other files share the cluster: leave it without Istio's CRDs, as it was.
    for (const crd of await istioCrds()) {
      await cluster.admin.delete(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata?.name ?? ''}`).catch(() => undefined);
    }
  });

  it('without Istio\'s CRDs the controller runs, logs that the kinds are absent, and pilotfish check says so', async () => {
    const controller = await startController(cluster, inst, 'minimal');
    try {
      for (const kind of ['VirtualService', 'DestinationRule']) {
        const line = await bounded(controller.waitForLog((l) => l.informer === kind && String(l.message).startsWith(`Istio's ${kind} CRD`), `the ${kind} informer to say the kind is absent`),
          60_000, `the ${kind} informer to say the kind is absent`, controller);
        assert.equal(line.level, 'info');
        assert.match(String(line.message), /is not installed, so there is no Istio config to read; pilotfish does not install it/);
      }
      assert.ok(controller.logs.every((l) => l.level !== 'error'), 'no error logged');
    } finally {
      await controller.stop('SIGTERM');
    }
    const check = await runPilotfish(['check', '--pre', '--kubeconfig', cluster.kubeconfig]);
    assert.match(check.stdout, /^Istio config \(optional\)$/m);
    assert.match(check.stdout, /^✔ Istio's VirtualService kind is absent \(virtualservices\.networking\.istio\.io is not installed\)/m);
    assert.match(check.stdout, /^✔ Istio's DestinationRule kind is absent \(destinationrules\.networking\.istio\.io is not installed\)/m);
  });

  it('with Istio\'s CRDs a VirtualService and DestinationRule route a real gRPC client; unsupported fields become Events, status stays untouched', async () => {
    await installCrds(cluster, await istioCrds());
    const check = await runPilotfish(['check', '--pre', '--kubeconfig', cluster.kubeconfig]);
    assert.match(check.stdout, /^✔ Istio's VirtualService kind is present \(virtualservices\.networking\.istio\.io\): pilotfish applies VirtualServices$/m);

    const ip = hostAddress();
    const stable = await startEchoOn('stable', ip);
    const canary = await startEchoOn('canary', ip);
    backends.push(stable, canary);
    for (const o of [service(ns, 'shop'), service(ns, 'shop-canary'), slice(ns, 'shop', stable.port, ip), slice(ns, 'shop-canary', canary.port, ip)]) {
      await cluster.admin.create(o);
    }
    const vs = await cluster.admin.create<KubeObject>({
      apiVersion: ISTIO, kind: 'VirtualService', metadata: { name: 'shop', namespace: ns },
      spec: {
        hosts: ['shop'],
        exportTo: ['.'],
        http: [
          { name: 'testers', match: [{ headers: { 'x-user': { exact: 'tester' } } }], route: [{ destination: { host: 'shop-canary', port: { number: 50051 } } }] },
          { name: 'everyone', route: [{ destination: { host: 'shop', port: { number: 50051 } } }] },
        ],
      },
    });
    await cluster.admin.create({
      apiVersion: ISTIO, kind: 'DestinationRule', metadata: { name: 'shop', namespace: ns },
      spec: { host: 'shop', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' }, tls: { mode: 'SIMPLE', sni: 'shop.example.com' } } },
    });

    pf = await startController(cluster, inst, 'minimal');
    const controller = pf;
    for (const kind of ['VirtualService', 'DestinationRule']) {
      const what = `the ${kind} informer to say the kind is served`;
      await bounded(controller.waitForLog((l) => l.informer === kind && l.message === `the ${kind} API is served; watching it`, what), 60_000, what, controller);
    }
    const xdsAddress = (await controller.serving()).xdsAddress;
    const nodeId = 'istio-client';
    const out = await runPilotfish(['bootstrap', '--node-id', nodeId, '--xds-address', xdsAddress, '--namespace', ns]);
    assert.equal(out.code, 0, out.stderr);
    const c = new EchoClient(`xds:///shop.${ns}.svc.cluster.local:50051`, { [BOOTSTRAP_OPTION]: out.stdout });
    clients.push(c);
    await c.waitForReady(90_000);

    // Each retry follows an ACKed xDS update: the objects reach the informers, then the client, in steps the test cannot see.
    const routed = async (): Promise<string | undefined> => {
      const testers = await callMany(c, 20, { metadata: { 'x-user': 'tester' } });
      const others = await callMany(c, 20);
      const got = JSON.stringify([[...testers.byBackend], [...others.byBackend]]);
      return got === JSON.stringify([[['canary', 20]], [['stable', 20]]]) ? undefined : `calls went ${got}`;
    };
    let from = 0;
    for (let problem = await routed(), acks = 0; problem !== undefined; problem = await routed(), acks++) {
      if (acks === 10) assert.fail(`still wrong after ${acks} xDS updates: ${problem}`);
      const what = `${nodeId} to ACK another xDS update (still wrong: ${problem})`;
      const ack = await bounded(controller.waitForLogAfter(from, (l: LogLine) => l.message === 'ack' && l.proxy === nodeId, what), 60_000, what, controller);
      from = controller.logs.indexOf(ack, from) + 1;
    }

    const event = await cluster.admin.waitFor<Event>(`/api/v1/namespaces/${ns}/events`,
      (e) => e.involvedObject?.kind === 'VirtualService' && e.involvedObject.name === 'shop' && e.reason === 'UnsupportedFields',
      'the lease holder to record an UnsupportedFields Event on VirtualService shop');
    assert.equal(event.type, 'Warning');
    assert.equal(event.involvedObject?.uid, vs.metadata?.uid);
    assert.match(event.message ?? '', /spec\.exportTo \(visibility scoping is not supported/);
    const drEvent = await cluster.admin.waitFor<Event>(`/api/v1/namespaces/${ns}/events`,
      (e) => e.involvedObject?.kind === 'DestinationRule' && e.reason === 'UnsupportedFields',
      'an UnsupportedFields Event on DestinationRule shop');
    assert.match(drEvent.message ?? '', /spec\.trafficPolicy\.tls \(client TLS settings/);

    const stored = await cluster.admin.call<KubeObject>('GET', `/apis/${ISTIO}/namespaces/${ns}/virtualservices/shop`);
    assert.equal(JSON.stringify(stored.status ?? {}), '{}', 'pilotfish writes no status on Istio objects');
  });
});
