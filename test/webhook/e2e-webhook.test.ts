// End to end: the built webhook command in its own process serves real HTTPS; real AdmissionReview
// requests get the right answers; a rotated certificate is picked up without a restart; and with
// no certificate files it manages its own CA in a Secret and the webhook configuration's caBundle
// (against the HTTP fake of the Kubernetes API).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { applyPodPatch, type Operation } from '../../src/webhook/patch.js';
import { certInfo, createCa, issueServingCert, type KeyPairPem } from '../../src/webhook/tls/certs.js';
import { startFakeKubeApi, type FakeKubeApi, type KubeObject } from '../support/fake-kube-api.js';
import { request, review } from '../support/https-client.js';
import { webhookConfiguration } from './fixtures.js';
import { podProblems } from './pod-schema.js';
import { PilotfishProcess, type LogLine } from '../support/pilotfish-process.js';

interface Review { response: { uid: string; allowed: boolean; patchType?: string; patch?: string } }

function pod(name: string, namespace: string): V1Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace, labels: { app: name } },
    spec: { containers: [{ name: 'app', image: 'example/app:1', ports: [{ containerPort: 8080 }] }] },
  };
}

function serving(ca: KeyPairPem): KeyPairPem {
  return issueServingCert({ ca, hosts: ['localhost', '127.0.0.1'], now: new Date(), validityDays: 1 });
}

function listeningPort(l: LogLine): number {
  assert.equal(typeof l['port'], 'number');
  return l['port'] as number;
}

describe('e2e: pilotfish webhook process', function () {
  let api: FakeKubeApi;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pf-webhook-e2e-'));
    api = await startFakeKubeApi({ gitVersion: 'v1.31.2', namespaces: ['default', 'kube-system', 'pilotfish-system', 'shop', 'plain'] });
    api.patch({ apiVersion: 'v1', kind: 'Namespace', name: 'shop' }, { metadata: { labels: { 'pilotfish.io/inject': 'enabled' } } });
    api.create(webhookConfiguration());
    kubeconfig = await api.writeKubeconfig(dir);
  });
  after(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('with certificate files', () => {
    let proc: PilotfishProcess;
    let port: number;
    let ca1: KeyPairPem;
    const certFile = (): string => path.join(dir, 'tls.crt');
    const keyFile = (): string => path.join(dir, 'tls.key');

    before(async () => {
      ca1 = createCa({ commonName: 'e2e-ca-1', now: new Date(), validityDays: 2 });
      const s = serving(ca1);
      writeFileSync(certFile(), s.certPem);
      writeFileSync(keyFile(), s.keyPem);
      proc = PilotfishProcess.start(['webhook', 
        '--webhook-address', '127.0.0.1:0', '--tls-cert-file', certFile(), '--tls-key-file', keyFile(),
        '--kubeconfig', kubeconfig, '--namespace', 'pilotfish-system', '--native-sidecars', 'auto',
        '--xds-address', 'pilotfish.pilotfish-system.svc:15010', '--on-error', 'allow',
        '--proxy-image', 'envoyproxy/envoy:v1.34.1', '--log-level', 'debug',
      ]);
      port = listeningPort(await proc.waitForLog((l) => l.message === 'webhook listening'));
    });
    after(async () => {
      assert.equal(await proc?.stop(), 0, 'the process exits cleanly on SIGTERM');
    });

    it('decides native sidecars from the API server version', async () => {
      const l = await proc.waitForLog((x) => x.message === 'native sidecars decided from the API server version');
      assert.equal(l.version, 'v1.31.2');
      assert.equal(l.native, true);
    });

    it('injects a Pod in a labelled namespace: a valid Pod with a native sidecar', async () => {
      const sent = pod('web', 'shop');
      const res = await request(port, ca1.certPem, 'POST', '/inject', review(sent, { uid: 'e2e-1', namespace: 'shop' }));
      assert.equal(res.status, 200);
      const r = (res.json as Review).response;
      assert.equal(r.uid, 'e2e-1');
      assert.equal(r.allowed, true);
      assert.equal(r.patchType, 'JSONPatch');
      const injected = applyPodPatch(sent, JSON.parse(Buffer.from(r.patch!, 'base64').toString('utf8')) as Operation[]);
      assert.deepEqual(podProblems(injected), []);
      const proxy = injected.spec!.initContainers!.find((c) => c.name === 'pilotfish-proxy');
      assert.equal(proxy?.restartPolicy, 'Always');
      assert.equal(proxy?.image, 'envoyproxy/envoy:v1.34.1');
      // The agent starts before the proxy; its CA address follows --xds-address's host.
      assert.deepEqual(injected.spec!.initContainers!.map((c) => c.name), ['pilotfish-init', 'pilotfish-agent', 'pilotfish-proxy']);
      const agent = injected.spec!.initContainers![1];
      assert.equal(agent.restartPolicy, 'Always');
      const args = agent.args ?? [];
      assert.equal(args[args.indexOf('--ca-address') + 1], 'https://pilotfish.pilotfish-system.svc:15012');
      assert.equal(agent.securityContext?.runAsUser, 1337);
      assert.deepEqual(injected.spec!.volumes!.map((v) => v.name), ['pilotfish-run', 'pilotfish-token', 'pilotfish-ca-root']);
    });

    it('injects a proxyless gRPC Pod with the agent only, its directory mounted in the app, as the app\'s user', async () => {
      const sent = pod('grpc', 'shop');
      sent.metadata!.annotations = { 'proxy.pilotfish.io/kind': 'grpc' };
      sent.spec!.securityContext = { runAsUser: 2000 };
      const res = await request(port, ca1.certPem, 'POST', '/inject', review(sent, { uid: 'e2e-g', namespace: 'shop' }));
      const r = (res.json as Review).response;
      assert.equal(r.allowed, true);
      const injected = applyPodPatch(sent, JSON.parse(Buffer.from(r.patch!, 'base64').toString('utf8')) as Operation[]);
      assert.deepEqual(podProblems(injected), []);
      assert.deepEqual(injected.spec!.initContainers!.map((c) => c.name), ['pilotfish-agent']);
      assert.deepEqual(injected.spec!.containers.map((c) => c.name), ['app']);
      assert.equal(injected.spec!.initContainers![0].securityContext?.runAsUser, 2000);
      assert.deepEqual(injected.spec!.containers[0].volumeMounts, [{ name: 'pilotfish-run', mountPath: '/var/run/pilotfish' }]);
    });

    it('skips a Pod in a namespace without the label', async () => {
      const res = await request(port, ca1.certPem, 'POST', '/inject', review(pod('q', 'plain'), { uid: 'e2e-2', namespace: 'plain' }));
      assert.deepEqual((res.json as Review).response, { uid: 'e2e-2', allowed: true });
      const l = await proc.waitForLog((x) => x.message === 'sidecar not injected' && x.name === 'q');
      assert.equal(l.namespace, 'plain');
    });

    it('answers malformed input with 400 and a non-Pod object with allowed', async () => {
      const bad = await request(port, ca1.certPem, 'POST', '/inject', 'not json');
      assert.equal(bad.status, 400);
      assert.ok((bad.json as { error: string }).error);
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
      const res = await request(port, ca1.certPem, 'POST', '/inject', review(cm, { kind: 'ConfigMap', uid: 'e2e-3' }));
      assert.deepEqual((res.json as Review).response, { uid: 'e2e-3', allowed: true });
    });

    it('picks up a certificate from a new CA without a restart', async () => {
      const ca2 = createCa({ commonName: 'e2e-ca-2', now: new Date(), validityDays: 2 });
      const next = serving(ca2);
      const mark = proc.logs.length;
      writeFileSync(keyFile(), next.keyPem);
      writeFileSync(certFile(), next.certPem);
      const fingerprint = certInfo(next.certPem).fingerprint256;
      await proc.waitForLogAfter(mark, (l) => l.message === 'serving certificate reloaded' && l.fingerprint256 === fingerprint);
      const res = await request(port, ca2.certPem, 'POST', '/inject', review(pod('after', 'shop'), { uid: 'e2e-4', namespace: 'shop' }))
        .catch((err: Error) => {
          throw new Error(`${err.message}; webhook log since the rewrite:\n${proc.logs.slice(mark).map((l) => JSON.stringify(l)).join('\n')}`);
        });
      assert.equal((res.json as Review).response.allowed, true);
      assert.equal((res.json as Review).response.patchType, 'JSONPatch');
      await assert.rejects(request(port, ca1.certPem, 'GET', '/healthz'), /certificate/i);
      assert.equal(proc.child.exitCode, null, 'same process, never restarted');
    });
  });

  describe('with a self-managed certificate', () => {
    let proc: PilotfishProcess;

    after(async () => {
      assert.equal(await proc?.stop(), 0);
    });

    it('creates the CA Secret, sets caBundle, and serves with a certificate that bundle trusts', async () => {
      // --service-name localhost: the certificate then covers the name the test client checks.
      proc = PilotfishProcess.start(['webhook', 
        '--webhook-address', '127.0.0.1:0', '--kubeconfig', kubeconfig, '--namespace', 'pilotfish-system',
        '--service-name', 'localhost', '--native-sidecars', 'false', '--log-level', 'debug',
      ]);
      const port = listeningPort(await proc.waitForLog((l) => l.message === 'webhook listening'));
      const mwc = api.get<KubeObject & { webhooks: Array<{ clientConfig: { caBundle?: string } }> }>({
        apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', name: 'pilotfish-sidecar-injector',
      });
      const bundle = Buffer.from(mwc.webhooks[0].clientConfig.caBundle ?? '', 'base64').toString('utf8');
      assert.match(bundle, /BEGIN CERTIFICATE/);
      assert.ok(api.tryGet({ apiVersion: 'v1', kind: 'Secret', name: 'pilotfish-webhook-tls', namespace: 'pilotfish-system' }));
      const res = await request(port, bundle, 'POST', '/inject', review(pod('managed', 'shop'), { uid: 'm-1', namespace: 'shop' }));
      const r = (res.json as Review).response;
      assert.equal(r.allowed, true);
      const injected = applyPodPatch(pod('managed', 'shop'), JSON.parse(Buffer.from(r.patch!, 'base64').toString('utf8')) as Operation[]);
      assert.deepEqual(injected.spec!.containers.map((c) => c.name), ['pilotfish-agent', 'pilotfish-proxy', 'app'],
        'regular containers when native is off, the agent first');
      assert.deepEqual(podProblems(injected), []);
    });
  });
});
