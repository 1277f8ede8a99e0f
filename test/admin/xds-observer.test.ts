// The observer's bookkeeping with a hand-driven clock: which responses count as convergence,
// how an ACK settles earlier responses, and per-proxy sync states from stream statuses.
import assert from 'node:assert/strict';
import { PilotfishMetrics } from '../../src/admin/metrics.js';
import { buildSyncz, typeState } from '../../src/admin/syncz.js';
import { XdsObserver } from '../../src/admin/xds-observer.js';
import { silentLogger } from '../../src/logging.js';
import type { NodeInfo } from '../../src/xds/node-info.js';
import type { ChangeCause } from '../../src/xds/proxy-view.js';
import type { StreamStatus, TypeStatus } from '../../src/xds/server/stream-status.js';
import { CLUSTER, ENDPOINT, LISTENER } from '../../src/xds/types.js';
import { parsePrometheusText, sampleValue } from '../support/prom-text.js';

const NODE: NodeInfo = { id: 'p1', metadata: { NAMESPACE: 'shop' } };

function setup(): { obs: XdsObserver; metrics: PilotfishMetrics; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const metrics = new PilotfishMetrics({ processMetrics: false });
  return { obs: new XdsObserver(metrics, silentLogger(), () => clock.now), metrics, clock };
}

async function convergence(metrics: PilotfishMetrics, type: string): Promise<{ count?: number; sum?: number }> {
  const m = parsePrometheusText((await metrics.render()).body);
  const name = 'pilotfish_proxy_convergence_time_seconds';
  return { count: sampleValue(m, name, `${name}_count`, { type }), sum: sampleValue(m, name, `${name}_sum`, { type }) };
}

function sent(obs: XdsObserver, typeUrl: string, nonce: string, trigger?: ChangeCause, streamId = 1): void {
  obs.sent({ streamId, node: NODE, typeUrl, version: `v-${nonce}`, nonce, resources: 1, bytes: 100, ...(trigger ? { trigger } : {}) });
}

describe('XdsObserver', () => {
  it('observes ACK time minus the change time, once per pushed response, and ignores answers to requests', async () => {
    const { obs, metrics, clock } = setup();
    obs.streamOpened({ streamId: 1, node: NODE, delta: false, authenticated: false });
    sent(obs, CLUSTER, 'n0');
    obs.acked({ streamId: 1, node: NODE, typeUrl: CLUSTER, version: 'v-n0', nonce: 'n0' });
    assert.equal((await convergence(metrics, 'CDS')).count, undefined, 'a request answer is not a push');

    const change: ChangeCause = { since: clock.now - 250, reason: 'endpoints' };
    sent(obs, ENDPOINT, 'n1', change);
    clock.now += 750;
    obs.acked({ streamId: 1, node: NODE, typeUrl: ENDPOINT, version: 'v-n1', nonce: 'n1' });
    assert.deepEqual(await convergence(metrics, 'EDS'), { count: 1, sum: 1 });

    // A repeated ACK of the same nonce counts nothing more.
    obs.acked({ streamId: 1, node: NODE, typeUrl: ENDPOINT, version: 'v-n1', nonce: 'n1' });
    assert.equal((await convergence(metrics, 'EDS')).count, 1);
  });

  it('an ACK settles every earlier pushed response of that type; a NACK settles them without observing', async () => {
    const { obs, metrics, clock } = setup();
    const first: ChangeCause = { since: clock.now, reason: 'config' };
    const second: ChangeCause = { since: clock.now + 1000, reason: 'config' };
    sent(obs, LISTENER, 'a', first);
    clock.now += 1000;
    sent(obs, LISTENER, 'b', second);
    sent(obs, CLUSTER, 'c', second);
    clock.now += 500;
    obs.acked({ streamId: 1, node: NODE, typeUrl: LISTENER, version: 'v-b', nonce: 'b' });
    assert.deepEqual(await convergence(metrics, 'LDS'), { count: 2, sum: 1.5 + 0.5 });
    assert.equal((await convergence(metrics, 'CDS')).count, undefined, 'other types are separate');

    obs.nacked({ authenticated: false, streamId: 1, node: NODE, typeUrl: CLUSTER, version: '', nonce: 'c', message: 'no', code: 3, rejectedVersion: 'v-c' });
    assert.equal((await convergence(metrics, 'CDS')).count, undefined);
    assert.deepEqual(obs.progressFor(second.since), { since: second.since, reason: 'config', sent: 2, acked: 1, nacked: 1, pending: 0 });
    assert.deepEqual(obs.progressFor(first.since), { since: first.since, reason: 'config', sent: 1, acked: 1, nacked: 0, pending: 0 });
  });

  it('forgets a closed stream\'s pending pushes and counts proxies, not streams', async () => {
    const { obs, metrics, clock } = setup();
    obs.streamOpened({ streamId: 1, node: NODE, delta: false, authenticated: false });
    obs.streamOpened({ streamId: 2, node: NODE, delta: true, authenticated: false });
    obs.streamOpened({ streamId: 3, node: { id: 'sc', metadata: { PILOTFISH_KIND: 'sidecar' } }, delta: false, authenticated: false });
    assert.deepEqual(obs.connected(), { grpc: 1, sidecar: 1 });
    sent(obs, CLUSTER, 'x', { since: clock.now, reason: 'config' }, 2);
    obs.streamClosed({ streamId: 2, node: NODE });
    obs.acked({ streamId: 2, node: NODE, typeUrl: CLUSTER, version: 'v-x', nonce: 'x' });
    assert.equal((await convergence(metrics, 'CDS')).count, undefined);
    assert.deepEqual(obs.connected(), { grpc: 1, sidecar: 1 });
    obs.streamClosed({ streamId: 1, node: NODE });
    assert.deepEqual(obs.connected(), { grpc: 0, sidecar: 1 });
  });
});

function type(typeUrl: string, t: Partial<TypeStatus>): TypeStatus {
  return { typeUrl, wildcard: false, subscribed: [], sends: 0, acks: 0, nacks: 0, ...t };
}

function stream(streamId: number, nodeId: string, types: TypeStatus[]): StreamStatus {
  return {
    streamId, nodeId, node: { id: nodeId }, delta: false, method: '/ads', peer: 'ipv4:127.0.0.1:1',
    connectedAt: '2024-01-01T00:00:00.000Z', types,
  };
}

describe('syncz', () => {
  it('derives the state from the newest sent nonce', () => {
    assert.equal(typeState(undefined), 'NOT SENT');
    assert.equal(typeState(type(CLUSTER, {})), 'NOT SENT');
    assert.equal(typeState(type(CLUSTER, { lastSentNonce: '2', lastAckedNonce: '2' })), 'SYNCED');
    assert.equal(typeState(type(CLUSTER, { lastSentNonce: '2', lastAckedNonce: '1' })), 'STALE');
    const nack = { message: 'bad', code: 3, version: 'v1', rejectedVersion: 'v2', nonce: '2', at: '2024-01-01T00:00:01.000Z' };
    assert.equal(typeState(type(CLUSTER, { lastSentNonce: '2', lastAckedNonce: '1', lastNack: nack })), 'NACKED');
    assert.equal(typeState(type(CLUSTER, { lastSentNonce: '3', lastAckedNonce: '1', lastNack: nack })), 'STALE', 'a newer response is pending');
  });

  it('merges a proxy\'s streams, newest first per type, and names the newest NACK', () => {
    const older = { message: 'old', code: 3, version: '', rejectedVersion: 'v', nonce: 'a', at: '2024-01-01T00:00:01.000Z' };
    const newer = { message: 'new', code: 3, version: '', rejectedVersion: 'v', nonce: 'e', at: '2024-01-01T00:00:02.000Z' };
    const out = buildSyncz([
      stream(1, 'p', [type(CLUSTER, { lastSentNonce: 'a', lastNack: older }), type(LISTENER, { lastSentNonce: 'l', lastAckedNonce: 'l' })]),
      stream(4, 'p', [type(CLUSTER, { lastSentNonce: 'c', lastAckedNonce: 'c' }), type(ENDPOINT, { lastSentNonce: 'e', lastNack: newer })]),
      stream(2, 'b', []),
    ]);
    assert.deepEqual(out.map((p) => p.id), ['b', 'p']);
    const p = out[1];
    assert.deepEqual(p.streams.map((s) => s.id), [4, 1]);
    assert.equal(p.types.CDS.state, 'SYNCED');
    assert.equal(p.types.CDS.streamId, 4);
    assert.equal(p.types.LDS.state, 'SYNCED');
    assert.equal(p.types.EDS.state, 'NACKED');
    assert.equal(p.types.RDS.state, 'NOT SENT');
    assert.equal(p.lastNack?.message, 'new');
    assert.equal(p.lastNack?.type, 'EDS');
  });
});
