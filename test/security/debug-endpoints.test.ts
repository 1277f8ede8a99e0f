// /debug/* answers only an authorized caller (src/admin/debug-access.ts): loopback, or a bearer
// token the API server authenticates (TokenReview) and RBAC allows (SubjectAccessReview, here the
// fake API server's configured rules). /metrics and the health endpoints stay open.
//
// Every test peer can only be on loopback, which is exactly what is always allowed, so the tests
// that need a remote caller replace the admin server's loopback check (`isLocal`) with one that
// calls everyone remote: the request still crosses a real socket, the real token path and the real
// API calls. The loopback classification itself is checked on its own, address by address.
import assert from 'node:assert/strict';
import {
  DebugAccess, isLoopbackAddress, type DebugReviewer, type ReviewOutcome,
} from '../../src/admin/debug-access.js';
import { DebugClientError, getDebugJson } from '../../src/admin/debug-client.js';
import { DEBUG_ACCESS_PERMISSIONS, KubeDebugReviewer, reviewClientsFor } from '../../src/admin/kube-debug-reviewer.js';
import { PILOTFISH_PERMISSIONS } from '../../src/cli/permissions.js';
import { startStack, type Stack } from '../admin/stack.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { LogTap } from '../support/log-tap.js';
import { parsePrometheusText, sampleValue } from '../support/prom-text.js';
import { PROXIED_AUTHORIZATION_HEADER } from '../../src/admin/debug-access.js';

const NS = 'pilotfish-system';
const DEBUG_PATHS = ['/debug/syncz', '/debug/config_dump?proxy=p1', '/debug/model', '/debug/push_status'];
const ALLOWED = 'token-of-alice';
const NOT_BOUND = 'token-of-bob';
const OTHER_NS = 'token-of-carol';
const remote = (): boolean => false;
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

async function refusedCount(stack: Stack, reason: string): Promise<number> {
  const m = await stack.get('/metrics');
  assert.equal(m.status, 200);
  return sampleValue(parsePrometheusText(m.text), 'pilotfish_debug_requests_refused_total', 'pilotfish_debug_requests_refused_total', { reason }) ?? 0;
}

describe('security: debug endpoints answer only authorized callers', function () {
  this.timeout(60_000);

  it('classifies loopback by the peer address: 127.0.0.0/8, ::1, IPv4-mapped; nothing else', () => {
    for (const a of ['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '::ffff:127.0.0.1', '::FFFF:127.1.2.3']) assert.equal(isLoopbackAddress(a), true, a);
    for (const a of ['10.0.0.5', '192.168.1.1', '::ffff:10.1.2.3', '::2', 'fe80::1', '0.0.0.0', '128.0.0.1', '', undefined, 'localhost', '127.example']) {
      assert.equal(isLoopbackAddress(a), false, String(a));
    }
  });

  describe('without a cluster (serve)', () => {
    let local: Stack;
    let far: Stack;
    before(async () => {
      [local, far] = await Promise.all([startStack(), startStack({ isLocal: remote })]);
    });
    after(async () => { await Promise.all([local.stop(), far.stop()]); });

    it('a loopback caller gets answers', async () => {
      for (const p of ['/debug/syncz', '/debug/model', '/debug/push_status']) assert.equal((await local.get(p)).status, 200, p);
    });

    it('a remote caller is refused (403) even with a token or a forwarded-for header, and counted; metrics and health stay open', async () => {
      const before = await refusedCount(far, 'no_cluster');
      for (const p of DEBUG_PATHS) {
        for (const headers of [{}, bearer(ALLOWED), { 'x-forwarded-for': '127.0.0.1', forwarded: 'for=127.0.0.1' }]) {
          const r = await far.get(p, headers);
          assert.equal(r.status, 403, `${p} ${JSON.stringify(headers)}: ${r.text}`);
          assert.match(r.text, /only loopback callers/);
        }
      }
      assert.equal(await refusedCount(far, 'no_cluster'), before + DEBUG_PATHS.length * 3);
      for (const p of ['/metrics', '/healthz', '/readyz']) assert.equal((await far.get(p)).status, 200, p);
    });

    it('an encoded path that routes to a debug endpoint is gated too', async () => {
      const r = await far.get('/%64ebug/model');
      assert.notEqual(r.status, 200, r.text);
      assert.doesNotMatch(r.text, /services/);
    });
  });

  describe('in a cluster: TokenReview, then SubjectAccessReview for get debug.pilotfish.io', () => {
    let api: FakeKubeApi;
    let stack: Stack;
    let tap: LogTap;
    before(async () => {
      api = await startFakeKubeApi({ namespaces: ['default', NS, 'ops'] });
      api.registerToken(ALLOWED, { username: 'alice' });
      api.registerToken(NOT_BOUND, { namespace: 'ops', serviceAccount: 'bob' });
      api.registerToken(OTHER_NS, { username: 'carol' });
      api.allowAccess({ user: 'alice', verb: 'get', apiGroup: 'pilotfish.io', resource: 'debug', namespace: NS });
      // Allowed elsewhere, which gives nothing here.
      api.allowAccess({ user: 'carol', verb: 'get', apiGroup: 'pilotfish.io', resource: 'debug', namespace: 'ops' });
      // Other rights than the one debug needs.
      api.allowAccess({ user: 'system:serviceaccount:ops:bob', verb: 'list', apiGroup: '', resource: 'pods' });
      tap = new LogTap();
      stack = await startStack({
        isLocal: remote, logger: tap.logger, debugReviewer: new KubeDebugReviewer(reviewClientsFor(api.kubeConfig()), NS),
      });
    });
    after(async () => {
      await stack?.stop();
      await api?.close();
    });

    it('no token: 401 with a Bearer challenge', async () => {
      const before = await refusedCount(stack, 'no_token');
      for (const p of DEBUG_PATHS) {
        const r = await stack.get(p);
        assert.equal(r.status, 401, `${p}: ${r.text}`);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      }
      assert.equal(await refusedCount(stack, 'no_token'), before + DEBUG_PATHS.length);
    });

    it('a malformed header or an unknown token: 401', async () => {
      assert.equal((await stack.get('/debug/model', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })).status, 401);
      assert.equal((await stack.get('/debug/model', { authorization: `Bearer ${'x'.repeat(9000)}` })).status, 401);
      const r = await stack.get('/debug/model', bearer('not-a-token'));
      assert.equal(r.status, 401, r.text);
      assert.match(r.text, /not accepted/);
    });

    it('an authenticated caller RBAC does not allow (other rights, or debug in another namespace): 403 naming the Role', async () => {
      const before = await refusedCount(stack, 'forbidden');
      for (const token of [NOT_BOUND, OTHER_NS]) {
        for (const p of DEBUG_PATHS) {
          const r = await stack.get(p, bearer(token));
          assert.equal(r.status, 403, `${token} ${p}: ${r.text}`);
          assert.match(r.text, /may not get debug\.pilotfish\.io.*pilotfish-debug-reader/);
        }
      }
      assert.equal(await refusedCount(stack, 'forbidden'), before + DEBUG_PATHS.length * 2);
      const sars = api.requests({ path: '/apis/authorization.k8s.io/v1/subjectaccessreviews' });
      assert.ok(sars.length >= 2, 'the decision came from SubjectAccessReviews');
    });

    it('a caller RBAC allows gets every debug endpoint; its answers are cached by token', async () => {
      api.resetRequests();
      const model = await stack.get('/debug/model', bearer(ALLOWED));
      assert.equal(model.status, 200, model.text);
      assert.ok(model.json<Record<string, unknown>>(), 'a JSON summary');
      assert.equal((await stack.get('/debug/syncz', bearer(ALLOWED))).status, 200);
      assert.equal((await stack.get('/debug/push_status', bearer(ALLOWED))).status, 200);
      // No such proxy: the endpoint itself answered (not the gate).
      const dump = await stack.get('/debug/config_dump?proxy=p1', bearer(ALLOWED));
      assert.equal(dump.status, 404, dump.text);
      assert.match(dump.text, /no open xDS stream/);
      assert.equal(api.count({ path: '/apis/authentication.k8s.io/v1/tokenreviews' }), 1, 'one TokenReview for four requests');
      assert.equal(api.count({ path: '/apis/authorization.k8s.io/v1/subjectaccessreviews' }), 1);
    });

    it('through the API server\'s pod proxy (which keeps `authorization`), the token in x-pilotfish-authorization is checked the same way', async () => {
      const ok = await stack.get('/debug/syncz', { [PROXIED_AUTHORIZATION_HEADER]: `Bearer ${ALLOWED}` });
      assert.equal(ok.status, 200, ok.text);
      const forbidden = await stack.get('/debug/syncz', { [PROXIED_AUTHORIZATION_HEADER]: `Bearer ${NOT_BOUND}` });
      assert.equal(forbidden.status, 403, forbidden.text);
      const unknown = await stack.get('/debug/syncz', { [PROXIED_AUTHORIZATION_HEADER]: 'Bearer not-a-token' });
      assert.equal(unknown.status, 401, unknown.text);
    });

    it('the TokenReview names no audience: a token minted only for pilotfish (a workload\'s projected token) is not a user\'s token', async () => {
      api.registerToken('projected-token', { namespace: NS, serviceAccount: 'agent', audiences: ['pilotfish'] });
      api.allowAccess({ user: `system:serviceaccount:${NS}:agent`, verb: '*', apiGroup: '*', resource: '*' });
      const r = await stack.get('/debug/model', bearer('projected-token'));
      assert.equal(r.status, 401, r.text);
      assert.ok(DEBUG_ACCESS_PERMISSIONS.every((p) => PILOTFISH_PERMISSIONS.includes(p)), 'declared in the permission list the chart is checked against');
    });

    it('an API failure answers 503 and is not remembered: the next request asks again', async () => {
      const token = 'token-of-dave';
      api.registerToken(token, { username: 'dave' });
      api.allowAccess({ user: 'dave', verb: 'get', apiGroup: 'pilotfish.io', resource: 'debug', namespace: NS });
      api.failNext({ path: '/apis/authorization.k8s.io/v1/subjectaccessreviews' }, { status: 500, count: 1 });
      const failed = await stack.get('/debug/model', bearer(token));
      assert.equal(failed.status, 503, failed.text);
      assert.equal((await stack.get('/debug/model', bearer(token))).status, 200);
    });

    it('metrics stay open to a remote caller without a token', async () => {
      const m = await stack.get('/metrics');
      assert.equal(m.status, 200);
      assert.match(m.text, /pilotfish_debug_requests_refused_total\{reason="forbidden"\}/);
      assert.equal((await stack.get('/healthz')).status, 200);
    });

    it('proxy-status / proxy-config (debug client): a token goes to a non-loopback server and is accepted; none goes to loopback', async () => {
      let asked = 0;
      const token = async (): Promise<string> => { asked++; return ALLOWED; };
      const remoteServer = { token, isLocal: (): boolean => false };
      const syncz = await getDebugJson<unknown[]>(stack.base, '/debug/syncz', {}, remoteServer);
      assert.ok(Array.isArray(syncz));
      assert.equal(asked, 1);
      await assert.rejects(getDebugJson(stack.base, '/debug/syncz', {}, { token: async () => undefined, isLocal: () => false }),
        (err: Error) => err instanceof DebugClientError && /HTTP 401/.test(err.message) && /port-forward/.test(err.message));
      await assert.rejects(getDebugJson(stack.base, '/debug/syncz', {}, { token: async () => NOT_BOUND, isLocal: () => false }),
        (err: Error) => err instanceof DebugClientError && /HTTP 403/.test(err.message) && /pilotfish-debug-reader/.test(err.message));
      // The server is on 127.0.0.1: the default check keeps the token home (and this stack refuses it: 401).
      await assert.rejects(getDebugJson(stack.base, '/debug/syncz', {}, { token }), /HTTP 401/);
      assert.equal(asked, 1, 'no token was fetched for a loopback server');
    });

    it('no token ever reaches the log', () => {
      const text = tap.entries.map((e) => JSON.stringify(e)).join('\n');
      assert.ok(tap.entries.some((e) => e.message === 'debug request refused'), 'refusals were logged (at debug level)');
      for (const t of [ALLOWED, NOT_BOUND, OTHER_NS, 'not-a-token']) assert.ok(!text.includes(t), `token ${t} logged`);
    });
  });

  describe('the answer cache', () => {
    class CountingReviewer implements DebugReviewer {
      calls = 0;
      fail = false;
      async review(token: string): Promise<ReviewOutcome> {
        this.calls++;
        if (this.fail) throw new Error('API down');
        return token.startsWith('ok') ? { kind: 'allowed', user: token } : { kind: 'forbidden', user: token };
      }
    }
    const far = '10.0.0.7';
    const auth = (t: string): string => `Bearer ${t}`;

    it('is bounded: the oldest token is dropped first', async () => {
      const reviewer = new CountingReviewer();
      const access = new DebugAccess({ reviewer, maxCacheEntries: 2 });
      for (const t of ['ok-1', 'ok-2', 'ok-3']) assert.equal((await access.decide(far, auth(t))).allowed, true);
      assert.equal(access.cacheSize(), 2);
      await access.decide(far, auth('ok-3'));
      assert.equal(reviewer.calls, 3, 'ok-3 was cached');
      await access.decide(far, auth('ok-1'));
      assert.equal(reviewer.calls, 4, 'ok-1 was dropped and asked again');
    });

    it('expires after the TTL, so an RBAC change applies', async () => {
      let now = 1_000;
      const reviewer = new CountingReviewer();
      const access = new DebugAccess({ reviewer, cacheTtlMs: 10_000, now: () => now });
      await access.decide(far, auth('ok-a'));
      now += 9_999;
      await access.decide(far, auth('ok-a'));
      assert.equal(reviewer.calls, 1);
      now += 2;
      await access.decide(far, auth('ok-a'));
      assert.equal(reviewer.calls, 2);
    });

    it('concurrent requests with one token make one review; loopback makes none', async () => {
      const reviewer = new CountingReviewer();
      const access = new DebugAccess({ reviewer });
      const all = await Promise.all([1, 2, 3].map(() => access.decide(far, auth('nope'))));
      assert.deepEqual(all.map((d) => (d.allowed ? 200 : d.status)), [403, 403, 403]);
      assert.equal(reviewer.calls, 1);
      assert.deepEqual(await access.decide('127.0.0.1', undefined), { allowed: true, via: 'loopback' });
      assert.equal(reviewer.calls, 1);
    });
  });
});
