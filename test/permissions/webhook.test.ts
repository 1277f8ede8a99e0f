// The injector's declared API permissions (WEBHOOK_PERMISSIONS) against the requests it really
// makes: the injector is started as `pilotfish controller` wires it (startWebhook) against the fake
// API server, serves a real AdmissionReview over HTTPS, and is restarted with a damaged TLS Secret
// so the renewal path (Secret update) runs too. Every request must be allowed, and every declared
// grant must have been used: nothing missing, nothing extra.
import assert from 'node:assert/strict';
import https from 'node:https';
import { startWebhook, parseWebhookFlags, webhookFlagOptions } from '../../src/cli/webhook-command.js';
import { silentLogger } from '../../src/logging.js';
import type { ObjectNames } from '../../src/kube/api-permission.js';
import { WEBHOOK_PERMISSIONS } from '../../src/webhook/kube-client.js';
import { startFakeKubeApi, type FakeKubeApi, type KubeObject } from '../support/fake-kube-api.js';
import { review } from '../support/https-client.js';
import { authorize, declared } from './authorize.js';

const NS = 'mesh-control';
const NAMES: ObjectNames = { webhookConfig: 'pf-injector', tlsSecret: 'pf-webhook-tls', lease: 'pf-controller', caSecret: 'pilotfish-ca' };
const SERVICE = 'pf';

const POD = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } };

/** POSTs an AdmissionReview as the API server would: by the Service's DNS name, trusting the CA bundle. */
function postReview(port: number, ca: string, body: string): Promise<{ status: number; json: { response?: { allowed?: boolean; patch?: string } } }> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, method: 'POST', path: '/inject', ca, servername: `${SERVICE}.${NS}.svc`, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('permissions: the injector calls exactly what WEBHOOK_PERMISSIONS declares', () => {
  let api: FakeKubeApi;

  before(async () => {
    api = await startFakeKubeApi({ gitVersion: 'v1.31.2', namespaces: ['default', 'kube-system', NS, 'shop'] });
    api.patch({ apiVersion: 'v1', kind: 'Namespace', name: 'shop' }, { metadata: { labels: { 'pilotfish.io/inject': 'enabled' } } });
    const hook = (name: string): Record<string, unknown> => ({
      name, admissionReviewVersions: ['v1'], sideEffects: 'None',
      clientConfig: { service: { name: SERVICE, namespace: NS, path: '/inject', port: 443 } },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
    });
    api.create({
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration',
      metadata: { name: NAMES.webhookConfig }, webhooks: [hook('namespace.sidecar.pilotfish.io'), hook('object.sidecar.pilotfish.io')],
    } as KubeObject);
  });
  after(async () => api?.close());

  it('uses every declared grant and nothing else, over first start, injection and certificate renewal', async () => {
    assert.equal(webhookFlagOptions.namespace.type, 'string', 'the injector takes its namespace as --namespace');
    const settings = parseWebhookFlags([
      '--webhook-address=127.0.0.1:0', `--namespace=${NS}`, `--service-name=${SERVICE}`,
      `--webhook-config-name=${NAMES.webhookConfig}`, `--tls-secret-name=${NAMES.tlsSecret}`, '--native-sidecars=auto',
    ]);
    api.resetRequests();

    // First start: no Secret yet (get 404, create), CA bundle patched, version asked.
    const first = await startWebhook(settings, silentLogger(), api.kubeConfig());
    try {
      const secret = api.get<KubeObject & { data: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', name: NAMES.tlsSecret, namespace: NS });
      const ca = Buffer.from(secret.data['ca.crt'], 'base64').toString('utf8');
      const answer = await postReview(first.server.port, ca, review(POD, { uid: 'uid-perm-1', namespace: 'shop' }));
      assert.equal(answer.status, 200);
      assert.equal(answer.json.response?.allowed, true);
      assert.ok(answer.json.response?.patch, 'the Pod in the labelled namespace was injected (the namespace was read)');
      // Namespaces come from a watched cache; one it does not know is read with a GET.
      await api.waitForWatches({ resource: 'namespaces' }, 1);
      const unknown = await postReview(first.server.port, ca, review(POD, { uid: 'uid-perm-2', namespace: 'not-cached' }));
      assert.equal(unknown.json.response?.allowed, true);
    } finally {
      await first.server.close();
    }

    // Restart with a damaged Secret: the injector must renew it in place (update).
    api.patch({ apiVersion: 'v1', kind: 'Secret', name: NAMES.tlsSecret, namespace: NS },
      { data: { 'tls.crt': Buffer.from('not a certificate').toString('base64') } });
    const second = await startWebhook(settings, silentLogger(), api.kubeConfig());
    await second.server.close();

    const records = api.requests();
    const report = authorize(records, WEBHOOK_PERMISSIONS, NAMES, NS);
    assert.deepEqual(report.denied, [], `requests WEBHOOK_PERMISSIONS does not allow:\n${report.denied.join('\n')}`);
    const unused = [...declared(WEBHOOK_PERMISSIONS, NAMES)].filter((g) => !report.used.has(g));
    assert.deepEqual(unused, [], `declared in WEBHOOK_PERMISSIONS but never used:\n${unused.join('\n')}`);
    assert.ok(records.some((r) => r.path === '/version'), 'native-sidecars=auto asked the API server version');
    assert.ok(records.some((r) => r.verb === 'update' && r.resource === 'secrets'), 'the renewal path ran');
  });
});
