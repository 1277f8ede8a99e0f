// Resolution of the effective mTLS mode: port-level > workload > namespace > mesh > PERMISSIVE,
// UNSET inherits, the oldest policy of a scope wins. And what a server accepts / a client sends.
import assert from 'node:assert/strict';
import {
  clientSendsMtls, DEFAULT_MTLS_MODE, DEFAULT_ROOT_NAMESPACE, effectiveMtlsMode, mtlsAcceptance, resolveMtls,
  type EffectiveMtlsMode, type MtlsAcceptance, type MtlsLevel, type MtlsMode, type MtlsWorkload, type PeerAuthentication, type ResolvedMtls,
  type ServerKind,
} from '../../src/model/peer-authentication.js';
import { DEFAULT_TRUST_DOMAIN, spiffeId, trustDomainPrefix } from '../../src/model/spiffe.js';

interface PolicyInput {
  readonly ns: string;
  readonly name: string;
  readonly mode?: MtlsMode;
  readonly selector?: Record<string, string>;
  readonly ports?: Record<number, MtlsMode>;
  /** Minutes after 2026-01-01T00:00:00Z; absent: no creationTimestamp (a file). */
  readonly age?: number;
}

function policy(p: PolicyInput): PeerAuthentication {
  return {
    meta: {
      kind: 'PeerAuthentication', namespace: p.ns, name: p.name,
      ...(p.age !== undefined ? { creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, p.age)).toISOString() } : {}),
    },
    ...(p.selector ? { selector: p.selector } : {}),
    mode: p.mode ?? 'UNSET',
    portLevelMtls: Object.entries(p.ports ?? {}).map(([port, mode]) => ({ port: Number(port), mode })),
  };
}

const ROOT = DEFAULT_ROOT_NAMESPACE;
const reviews: MtlsWorkload = { namespace: 'shop', labels: { app: 'reviews', version: 'v2' } };
const web: MtlsWorkload = { namespace: 'shop', labels: { app: 'web' } };
const inRoot: MtlsWorkload = { namespace: ROOT, labels: { app: 'pilotfish' } };

interface Case {
  readonly name: string;
  readonly policies: readonly PolicyInput[];
  readonly workload?: MtlsWorkload;
  readonly port?: number;
  readonly root?: string;
  readonly want: EffectiveMtlsMode;
  readonly level: MtlsLevel;
  readonly by?: string;
}

const CASES: readonly Case[] = [
  { name: 'no policy at all: PERMISSIVE by default', policies: [], want: 'PERMISSIVE', level: 'default' },
  { name: 'mesh-wide STRICT', policies: [{ ns: ROOT, name: 'mesh', mode: 'STRICT' }], want: 'STRICT', level: 'mesh', by: `${ROOT}/mesh` },
  { name: 'mesh-wide UNSET is the default', policies: [{ ns: ROOT, name: 'mesh', mode: 'UNSET' }], want: 'PERMISSIVE', level: 'default' },
  {
    name: 'a policy without selector in another namespace is not mesh-wide',
    policies: [{ ns: 'other', name: 'ns', mode: 'STRICT' }], want: 'PERMISSIVE', level: 'default',
  },
  {
    name: 'a selector policy in the root namespace is not mesh-wide',
    policies: [{ ns: ROOT, name: 'sel', mode: 'STRICT', selector: { app: 'reviews' } }], want: 'PERMISSIVE', level: 'default',
  },
  {
    name: 'namespace beats mesh',
    policies: [{ ns: ROOT, name: 'mesh', mode: 'STRICT' }, { ns: 'shop', name: 'ns', mode: 'DISABLE' }],
    want: 'DISABLE', level: 'namespace', by: 'shop/ns',
  },
  {
    name: 'namespace UNSET inherits from mesh',
    policies: [{ ns: ROOT, name: 'mesh', mode: 'STRICT' }, { ns: 'shop', name: 'ns', mode: 'UNSET' }],
    want: 'STRICT', level: 'mesh', by: `${ROOT}/mesh`,
  },
  {
    name: 'workload beats namespace',
    policies: [{ ns: 'shop', name: 'ns', mode: 'STRICT' }, { ns: 'shop', name: 'w', mode: 'PERMISSIVE', selector: { app: 'reviews' } }],
    want: 'PERMISSIVE', level: 'workload', by: 'shop/w',
  },
  {
    name: 'a selector needs all its labels',
    policies: [{ ns: 'shop', name: 'ns', mode: 'STRICT' }, { ns: 'shop', name: 'w', mode: 'DISABLE', selector: { app: 'reviews', version: 'v1' } }],
    want: 'STRICT', level: 'namespace', by: 'shop/ns',
  },
  {
    name: 'a selector in another namespace does not apply',
    policies: [{ ns: 'other', name: 'w', mode: 'DISABLE', selector: { app: 'reviews' } }],
    want: 'PERMISSIVE', level: 'default',
  },
  {
    name: 'workload UNSET inherits from namespace',
    policies: [{ ns: 'shop', name: 'ns', mode: 'DISABLE' }, { ns: 'shop', name: 'w', selector: { app: 'reviews' } }],
    want: 'DISABLE', level: 'namespace', by: 'shop/ns',
  },
  {
    name: 'port-level beats workload',
    policies: [{ ns: 'shop', name: 'w', mode: 'STRICT', selector: { app: 'reviews' }, ports: { 8080: 'PERMISSIVE' } }],
    want: 'PERMISSIVE', level: 'port', by: 'shop/w',
  },
  {
    name: 'port-level of another port does not apply',
    policies: [{ ns: 'shop', name: 'w', mode: 'STRICT', selector: { app: 'reviews' }, ports: { 9090: 'DISABLE' } }],
    want: 'STRICT', level: 'workload', by: 'shop/w',
  },
  {
    name: 'port-level UNSET inherits from the workload',
    policies: [{ ns: 'shop', name: 'w', mode: 'DISABLE', selector: { app: 'reviews' }, ports: { 8080: 'UNSET' } }],
    want: 'DISABLE', level: 'workload', by: 'shop/w',
  },
  {
    name: 'port-level UNSET and workload UNSET inherit down to the mesh',
    policies: [{ ns: ROOT, name: 'mesh', mode: 'STRICT' }, { ns: 'shop', name: 'w', selector: { app: 'reviews' }, ports: { 8080: 'UNSET' } }],
    want: 'STRICT', level: 'mesh', by: `${ROOT}/mesh`,
  },
  {
    name: 'two matching workload policies: the oldest wins, port modes included',
    policies: [
      { ns: 'shop', name: 'a-new', mode: 'DISABLE', selector: { app: 'reviews' }, ports: { 8080: 'DISABLE' }, age: 10 },
      { ns: 'shop', name: 'z-old', mode: 'STRICT', selector: { version: 'v2' }, age: 5 },
    ],
    want: 'STRICT', level: 'workload', by: 'shop/z-old',
  },
  {
    name: 'equal timestamps: the first name wins',
    policies: [
      { ns: 'shop', name: 'b', mode: 'DISABLE', selector: { app: 'reviews' }, age: 1 },
      { ns: 'shop', name: 'a', mode: 'STRICT', selector: { app: 'reviews' }, age: 1 },
    ],
    want: 'STRICT', level: 'workload', by: 'shop/a',
  },
  {
    name: 'a policy without timestamp (from a file) counts as newest',
    policies: [
      { ns: 'shop', name: 'a-file', mode: 'DISABLE' },
      { ns: 'shop', name: 'z-cluster', mode: 'STRICT', age: 100 },
    ],
    want: 'STRICT', level: 'namespace', by: 'shop/z-cluster',
  },
  {
    name: 'two namespace policies: the oldest wins even when it is UNSET (then the mesh decides)',
    policies: [{ ns: ROOT, name: 'mesh', mode: 'DISABLE' }, { ns: 'shop', name: 'old', age: 0 }, { ns: 'shop', name: 'new', mode: 'STRICT', age: 1 }],
    want: 'DISABLE', level: 'mesh', by: `${ROOT}/mesh`,
  },
  {
    name: 'two mesh policies: the oldest wins',
    policies: [{ ns: ROOT, name: 'b', mode: 'DISABLE', age: 2 }, { ns: ROOT, name: 'a', mode: 'STRICT', age: 3 }],
    want: 'DISABLE', level: 'mesh', by: `${ROOT}/b`,
  },
  {
    name: 'a workload in the root namespace: its namespace policy is the mesh policy',
    policies: [{ ns: ROOT, name: 'mesh', mode: 'STRICT' }], workload: inRoot, want: 'STRICT', level: 'mesh', by: `${ROOT}/mesh`,
  },
  {
    name: 'a workload in the root namespace: selector policies apply to it',
    policies: [{ ns: ROOT, name: 'mesh', mode: 'STRICT' }, { ns: ROOT, name: 'self', mode: 'PERMISSIVE', selector: { app: 'pilotfish' } }],
    workload: inRoot, want: 'PERMISSIVE', level: 'workload', by: `${ROOT}/self`,
  },
  {
    name: 'a configured root namespace replaces the default one',
    policies: [{ ns: ROOT, name: 'mesh', mode: 'DISABLE' }, { ns: 'mesh-config', name: 'mesh', mode: 'STRICT' }],
    root: 'mesh-config', want: 'STRICT', level: 'mesh', by: 'mesh-config/mesh',
  },
  {
    name: 'another workload of the namespace is not selected',
    policies: [{ ns: 'shop', name: 'w', mode: 'STRICT', selector: { app: 'reviews' } }], workload: web, want: 'PERMISSIVE', level: 'default',
  },
];

describe('model: PeerAuthentication resolution', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const policies = c.policies.map(policy);
      const got: ResolvedMtls = resolveMtls(policies, c.workload ?? reviews, c.port ?? 8080, c.root ?? ROOT);
      assert.deepEqual(got, { mode: c.want, level: c.level, ...(c.by !== undefined ? { policy: c.by } : {}) });
      assert.equal(effectiveMtlsMode(policies, c.workload ?? reviews, c.port ?? 8080, c.root ?? ROOT), c.want);
      // Order of the input never matters.
      assert.deepEqual(resolveMtls([...policies].reverse(), c.workload ?? reviews, c.port ?? 8080, c.root ?? ROOT), got);
    });
  }

  it('defaults to PERMISSIVE and to pilotfish-system as the root namespace', () => {
    assert.equal(DEFAULT_MTLS_MODE, 'PERMISSIVE');
    assert.equal(effectiveMtlsMode([policy({ ns: 'pilotfish-system', name: 'm', mode: 'STRICT' })], web, 80), 'STRICT');
  });
});

describe('model: what a server accepts and what a client sends', () => {
  const table: [ServerKind, EffectiveMtlsMode, MtlsAcceptance][] = [
    ['sidecar', 'PERMISSIVE', 'optional'], ['sidecar', 'STRICT', 'required'], ['sidecar', 'DISABLE', 'refused'],
    // A proxyless server cannot detect TLS: PERMISSIVE keeps plaintext callers working.
    ['proxyless', 'PERMISSIVE', 'refused'], ['proxyless', 'STRICT', 'required'], ['proxyless', 'DISABLE', 'refused'],
    ['none', 'PERMISSIVE', 'refused'], ['none', 'STRICT', 'refused'], ['none', 'DISABLE', 'refused'],
  ];
  for (const [server, mode, want] of table) {
    it(`${server} under ${mode}: mTLS ${want}`, () => assert.equal(mtlsAcceptance(server, mode), want));
  }

  const clients: [MtlsAcceptance[], boolean][] = [
    [[], false], [['optional'], true], [['optional', 'optional'], true], [['refused'], false], [['optional', 'refused'], false],
    [['required'], true], [['required', 'refused'], true], [['required', 'optional'], true],
  ];
  for (const [endpoints, want] of clients) {
    it(`a proxyless client facing [${endpoints.join(', ')}] sends ${want ? 'mTLS' : 'plaintext'}`, () => assert.equal(clientSendsMtls(endpoints), want));
  }
});

describe('model: SPIFFE identities', () => {
  it('are spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>', () => {
    assert.equal(spiffeId(DEFAULT_TRUST_DOMAIN, 'shop', 'reviews'), 'spiffe://cluster.local/ns/shop/sa/reviews');
    assert.ok(spiffeId('example.org', 'a', 'b').startsWith(trustDomainPrefix('example.org')));
    assert.ok(!spiffeId('example.org.evil', 'a', 'b').startsWith(trustDomainPrefix('example.org')));
  });
});
