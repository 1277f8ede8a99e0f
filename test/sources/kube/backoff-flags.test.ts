// Backoff arithmetic, and the `pilotfish controller` flags and their environment defaults.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { Backoff } from '../../../src/kube/backoff.js';
import { microTime } from '../../../src/leader/lease-store.js';
import { parseControllerFlags } from '../../../src/cli/controller.js';
import { UsageError } from '../../../src/cli/flags.js';

describe('controller/kube Backoff', () => {
  it('doubles up to the cap, spreads by ±jitter, and starts over after reset', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.2, random: () => 0 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => low.next()), [80, 160, 320, 640, 800, 800]);
    const high = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.2, random: () => 0.999999 });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => high.next()), [120, 240, 480, 960, 1200]);
    assert.equal(high.attempts, 5);
    high.reset();
    assert.equal(high.attempts, 0);
    assert.equal(high.next(), 120);
  });
});

describe('Lease MicroTime', () => {
  it('has six fractional digits, as the API server requires', () => {
    assert.equal(microTime(Date.parse('2026-01-02T03:04:05.678Z')), '2026-01-02T03:04:05.678000Z');
  });
});

describe('pilotfish controller flags', () => {
  it('defaults: ports, lease, namespace and identity from the Pod environment', () => {
    const s = parseControllerFlags([], { POD_NAMESPACE: 'mesh', POD_NAME: 'pilotfish-7d9f-abcde' });
    assert.equal(s.xdsAddress, undefined, 'plaintext xDS is off in the controller unless asked for');
    assert.equal(s.xdsTls.address, '0.0.0.0:15012');
    assert.equal(s.xdsTls.trustDomain, 'cluster.local');
    assert.deepEqual(s.xdsTls.hosts, ['pilotfish.mesh.svc', 'pilotfish.mesh.svc.cluster.local']);
    assert.equal(s.httpAddress, '0.0.0.0:15014');
    assert.equal(s.webhookAddress, '0.0.0.0:15017');
    assert.equal(s.namespace, 'mesh');
    assert.equal(s.identity, 'pilotfish-7d9f-abcde');
    assert.equal(s.leaseName, 'pilotfish-leader');
    assert.equal(s.leaseDurationMs, 15_000);
    assert.equal(s.kubeconfig, undefined);
    assert.deepEqual(s.meshIdentity, { trustDomain: 'cluster.local', rootNamespace: 'mesh' }, 'mesh-wide policies live in the control plane\'s namespace');
  });

  it('--trust-domain and --mesh-root-namespace set the identity options, and bad ones are refused', () => {
    const s = parseControllerFlags(['--trust-domain', 'example.org', '--mesh-root-namespace', 'mesh-config'], { POD_NAMESPACE: 'mesh' });
    assert.deepEqual(s.meshIdentity, { trustDomain: 'example.org', rootNamespace: 'mesh-config' });
    assert.throws(() => parseControllerFlags(['--trust-domain', 'Example.org'], {}), (e: Error) => e instanceof UsageError && /--trust-domain: .*lowercase/.test(e.message));
    assert.throws(() => parseControllerFlags(['--mesh-root-namespace', 'Bad_NS'], {}), (e: Error) => e instanceof UsageError && /--mesh-root-namespace must be a namespace name/.test(e.message));
  });

  it('outside a Pod: pilotfish-system and the host name', () => {
    const s = parseControllerFlags([], {});
    assert.equal(s.namespace, 'pilotfish-system');
    assert.equal(s.identity, hostname());
  });

  it('flags win over the environment; durations take units or plain seconds', () => {
    const s = parseControllerFlags(['--namespace', 'x', '--identity', 'me', '--lease-duration', '1m', '--kubeconfig', '/k'], { POD_NAMESPACE: 'mesh' });
    assert.equal(s.namespace, 'x');
    assert.equal(s.identity, 'me');
    assert.equal(s.leaseDurationMs, 60_000);
    assert.equal(s.kubeconfig, '/k');
    assert.equal(parseControllerFlags(['--lease-duration', '20'], {}).leaseDurationMs, 20_000);
  });

  it('bad values are usage errors that say what is wrong', () => {
    assert.throws(() => parseControllerFlags(['--lease-duration', '500ms'], {}), (e: Error) => e instanceof UsageError && /at least 1s/.test(e.message));
    assert.throws(() => parseControllerFlags(['--xds-address', 'nope'], {}), (e: Error) => e instanceof UsageError && /xds-address/.test(e.message));
    assert.throws(() => parseControllerFlags(['--lease-name', 'Bad_Name'], {}), (e: Error) => e instanceof UsageError && /lease-name/.test(e.message));
    assert.throws(() => parseControllerFlags(['--bogus'], {}), UsageError);
  });
});
