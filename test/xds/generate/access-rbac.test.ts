// The AccessPolicy semantics (model/access-policy.ts), decided by a real RBAC engine: the HTTP
// filters pilotfish generates are encoded with the Envoy protos, parsed by @grpc/grpc-js-xds's own
// RBAC filter (gRFC A41) and applied, in order, to requests with and without a peer certificate —
// exactly what an xDS-enabled gRPC server does with them. Every decision has a refusal here.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { parseAccessPolicy } from '../../../src/api/security/v1alpha1/access-policy-parse.js';
import { resolveAccess, type AccessPolicy } from '../../../src/model/access-policy.js';
import { lookupType } from '../../../src/xds/protos.js';
import { accessHttpFilters, accessNetworkFilters, HTTP_RBAC_TYPE } from '../../../src/xds/generate/access-rbac.js';
import { enableGrpcRbac } from '../../support/grpc-rbac.js';

enableGrpcRbac();
const require = createRequire(import.meta.url);
const httpFilter = require(path.join(path.dirname(require.resolve('@grpc/grpc-js-xds')), 'http-filter.js')) as {
  parseTopLevelFilterConfig(c: { type_url: string; value: Uint8Array }, client: boolean): { config: { apply(info: unknown): boolean } } | null;
};

const TD = 'cluster.local';
const ROOT = 'pilotfish-system';

function policy(name: string, spec: unknown, namespace = 'shop'): AccessPolicy {
  const r = parseAccessPolicy({ apiVersion: 'security.pilotfish.io/v1alpha1', kind: 'AccessPolicy', metadata: { name, namespace }, spec });
  assert.equal(r.errors, undefined, JSON.stringify(r.errors));
  return r.ok!;
}

interface Request {
  readonly peer?: string;
  readonly path?: string;
  readonly method?: string;
  readonly port?: number;
  readonly headers?: Record<string, string>;
}

/** Whether a gRPC server with these policies lets the request through (every filter must accept). */
function decide(policies: readonly AccessPolicy[], req: Request, labels: Record<string, string> = { app: 'pay' }): boolean {
  const filters = accessHttpFilters(resolveAccess(policies, 'shop', labels, ROOT), { trustDomain: TD, audit: false });
  const type = lookupType(HTTP_RBAC_TYPE);
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(req.headers ?? {})) md.set(k, v);
  md.set(':method', req.method ?? 'POST');
  const urlPath = req.path ?? '/pay.Pay/Charge';
  md.set(':path', urlPath);
  const info = {
    destinationIp: '10.0.0.1', destinationPort: req.port ?? 8080, sourceIp: '10.0.0.2', headers: md, urlPath,
    tls: req.peer !== undefined,
    peerCertificate: req.peer === undefined ? null : { subjectaltname: `URI:${req.peer}`, subject: {} },
  };
  return filters.every((f) => {
    const { '@type': url, ...body } = f.typed_config as { '@type': string };
    const parsed = httpFilter.parseTopLevelFilterConfig({ type_url: url, value: type.encode(type.fromObject(body)).finish() }, false);
    assert.ok(parsed, `${f.name}: grpc-js-xds parses the filter`);
    return parsed.config.apply(info);
  });
}

const CHECKOUT = 'spiffe://cluster.local/ns/shop/sa/checkout';
const WEB = 'spiffe://cluster.local/ns/shop/sa/web';
const OPS = 'spiffe://cluster.local/ns/ops-prod/sa/robot';

describe('AccessPolicy semantics, decided by grpc-js-xds RBAC on the generated filters', () => {
  it('no policy: allowed (no filter at all)', () => {
    assert.deepEqual(accessHttpFilters(resolveAccess([], 'shop', {}, ROOT), { trustDomain: TD, audit: true }), []);
    assert.equal(decide([], {}), true);
  });

  it('an ALLOW policy for one principal: it passes, another principal and plaintext are denied', () => {
    const allow = policy('a', { rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/checkout'] } }] }] });
    assert.equal(decide([allow], { peer: CHECKOUT }), true);
    assert.equal(decide([allow], { peer: WEB }), false);
    assert.equal(decide([allow], {}), false, 'plaintext has no principal');
  });

  it('any ALLOW policy means default deny; an ALLOW policy without rules denies everything', () => {
    assert.equal(decide([policy('a', {})], { peer: CHECKOUT }), false);
    assert.equal(decide([policy('a', { rules: [{}] })], {}), true, 'a rule {} matches everything, plaintext too');
  });

  it('DENY before ALLOW: a denied method fails even for an allowed principal; other methods pass', () => {
    const allow = policy('a', { rules: [{ from: [{ source: { principals: ['*'] } }] }] });
    const deny = policy('d', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/pay.Pay/Refund'] } }] }] });
    assert.equal(decide([allow, deny], { peer: CHECKOUT, path: '/pay.Pay/Refund' }), false);
    assert.equal(decide([allow, deny], { peer: CHECKOUT, path: '/pay.Pay/Charge' }), true);
    assert.equal(decide([deny], { path: '/pay.Pay/Charge' }), true, 'DENY alone: what it does not match is allowed');
  });

  it('principal "*" means any mTLS peer, never plaintext', () => {
    const allow = policy('a', { rules: [{ from: [{ source: { principals: ['*'] } }] }] });
    assert.equal(decide([allow], { peer: WEB }), true);
    assert.equal(decide([allow], {}), false);
  });

  it('namespaces match the namespace in the SPIFFE ID (exact, prefix, suffix), never plaintext', () => {
    const exact = policy('a', { rules: [{ from: [{ source: { namespaces: ['shop'] } }] }] });
    assert.equal(decide([exact], { peer: WEB }), true);
    assert.equal(decide([exact], { peer: 'spiffe://cluster.local/ns/shopfront/sa/web' }), false, 'shop is not a prefix match');
    assert.equal(decide([exact], {}), false);
    const suffix = policy('a', { rules: [{ from: [{ source: { namespaces: ['*-prod'] } }] }] });
    assert.equal(decide([suffix], { peer: OPS }), true);
    assert.equal(decide([suffix], { peer: WEB }), false);
    const prefix = policy('a', { rules: [{ from: [{ source: { namespaces: ['ops*'] } }] }] });
    assert.equal(decide([prefix], { peer: OPS }), true);
    assert.equal(decide([prefix], { peer: WEB }), false);
  });

  it('ports, methods, paths and headers: all given must match, any value of each', () => {
    const allow = policy('a', {
      rules: [{
        to: [{ operation: { ports: ['8080'], methods: ['POST'], paths: ['/pay.Pay/*'] } }],
        when: [{ key: 'request.headers[x-tenant]', values: ['acme', 'beta-*'] }],
      }],
    });
    const ok: Request = { headers: { 'x-tenant': 'beta-1' } };
    assert.equal(decide([allow], ok), true);
    assert.equal(decide([allow], { ...ok, port: 9090 }), false, 'port');
    assert.equal(decide([allow], { ...ok, method: 'GET' }), false, 'method');
    assert.equal(decide([allow], { ...ok, path: '/other.Svc/X' }), false, 'path');
    assert.equal(decide([allow], { headers: { 'x-tenant': 'gamma' } }), false, 'header value');
    assert.equal(decide([allow], {}), false, 'header absent');
  });

  it('AUDIT never decides, and proxyless servers do not get it at all', () => {
    const audit = policy('au', { action: 'AUDIT', rules: [{}] });
    assert.deepEqual(accessHttpFilters(resolveAccess([audit], 'shop', {}, ROOT), { trustDomain: TD, audit: false }), []);
    const envoy = accessHttpFilters(resolveAccess([audit], 'shop', {}, ROOT), { trustDomain: TD, audit: true });
    assert.deepEqual(envoy.map((f) => [f.name, (f.typed_config as unknown as { rules: { action: string } }).rules.action]), [['envoy.filters.http.rbac.audit', 'LOG']]);
  });

  it('scope: a selector applies to matching workloads of its namespace only; namespace-wide and mesh-wide (root namespace) to all', () => {
    const selected = policy('s', { selector: { matchLabels: { app: 'pay' } } });
    assert.equal(decide([selected], { peer: CHECKOUT }, { app: 'pay' }), false);
    assert.equal(decide([selected], { peer: CHECKOUT }, { app: 'other' }), true, 'not selected');
    assert.equal(decide([policy('s', { selector: { matchLabels: { app: 'pay' } } }, 'elsewhere')], { peer: CHECKOUT }), true, 'other namespace');
    assert.equal(decide([policy('n', {}, 'shop')], { peer: CHECKOUT }, {}), false, 'namespace-wide');
    assert.equal(decide([policy('m', {}, ROOT)], { peer: CHECKOUT }, {}), false, 'mesh-wide');
    assert.equal(decide([policy('m', { selector: { matchLabels: { app: 'pay' } } }, ROOT)], { peer: CHECKOUT }), true,
      'a selector in the root namespace selects only workloads there');
  });

  it('TCP: rules needing HTTP fields drop out of ALLOW (deny) and lose them in DENY (deny more)', () => {
    const allow = policy('a', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }, { when: [{ key: 'request.headers[x]', values: ['y'] }] }] });
    const deny = policy('d', { action: 'DENY', rules: [{ from: [{ source: { principals: ['*/sa/bad'] } }], to: [{ operation: { paths: ['/x'] } }] }] });
    const filters = accessNetworkFilters(resolveAccess([allow, deny], 'shop', {}, ROOT), { trustDomain: TD, statPrefix: 't' });
    const rules = filters.map((f) => (f.typed_config as unknown as { rules: { action: string; policies: Record<string, { permissions: unknown[] }> } }).rules);
    assert.deepEqual(rules.map((r) => [r.action, Object.keys(r.policies)]), [['DENY', ['shop/d/rules[0]']], ['ALLOW', []]]);
    assert.deepEqual(rules[0]!.policies['shop/d/rules[0]']!.permissions, [{ any: true }]);
  });
});
