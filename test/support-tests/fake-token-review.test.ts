// The fake API server's TokenReview, through the unmodified client-node: what each kind of token
// gets back, in the shape and wording of the real service account authenticator.
import assert from 'node:assert/strict';
import { AuthenticationV1Api, type V1TokenReview } from '@kubernetes/client-node';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';

describe('fake-kube-api TokenReview', () => {
  let api: FakeKubeApi;
  let auth: AuthenticationV1Api;
  before(async () => {
    api = await startFakeKubeApi({ token: 'reviewer' });
    auth = api.kubeConfig().makeApiClient(AuthenticationV1Api);
    api.registerToken('sa', { namespace: 'shop', serviceAccount: 'web', audiences: ['pilotfish', 'other'], podName: 'web-1' });
    api.registerToken('old', { namespace: 'shop', serviceAccount: 'web', audiences: ['pilotfish'], expired: true });
    api.registerToken('api', { namespace: 'shop', serviceAccount: 'web' });
    api.registerToken('alice', { username: 'alice', audiences: ['pilotfish'] });
  });
  after(async () => {
    await api.close();
  });

  const review = (token: string, audiences?: string[]): Promise<V1TokenReview> => auth.createTokenReview({
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } },
  });

  it('authenticates a service account token for an audience it was minted for', async () => {
    const r = await review('sa', ['pilotfish']);
    assert.equal(r.status?.authenticated, true);
    assert.equal(r.status?.user?.username, 'system:serviceaccount:shop:web');
    assert.deepEqual(r.status?.user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated']);
    assert.deepEqual(r.status?.user?.extra, { 'authentication.kubernetes.io/pod-name': ['web-1'] });
    assert.deepEqual(r.status?.audiences, ['pilotfish']);
    assert.deepEqual(api.requests({ resource: 'tokenreviews' }).map((q) => [q.verb, q.status]), [['create', 201]]);
  });

  it('refuses other audiences, expired and unknown tokens with the real error texts', async () => {
    const wrongAudience = (await review('api', ['pilotfish'])).status;
    assert.notEqual(wrongAudience?.authenticated, true);
    assert.equal(wrongAudience?.error,
      '[invalid bearer token, token audiences ["https://kubernetes.default.svc.cluster.local"] is invalid for the target audiences ["pilotfish"]]');
    assert.equal((await review('old', ['pilotfish'])).status?.error, '[invalid bearer token, service account token has expired]');
    assert.match((await review('nope', ['pilotfish'])).status?.error ?? '', /^\[invalid bearer token, .*token lookup failed\]$/);
  });

  it('checks against the API server audiences when the review names none', async () => {
    assert.equal((await review('api')).status?.authenticated, true);
    assert.match((await review('sa')).status?.error ?? '', /is invalid for the target audiences \["https:\/\/kubernetes\.default\.svc\.cluster\.local"\]/);
  });

  it('authenticates a user that is not a service account as that user', async () => {
    assert.equal((await review('alice', ['pilotfish'])).status?.user?.username, 'alice');
  });

  it('requires the reviewer\'s own token', async () => {
    const res = await fetch(`${api.url}/apis/authentication.k8s.io/v1/tokenreviews`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'sa' } }),
    });
    assert.equal(res.status, 401);
  });
});
