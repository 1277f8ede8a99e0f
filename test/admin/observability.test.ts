// Metrics and debug endpoints over the real serve pipeline (store -> mesh source -> xDS server)
// with raw ADS clients that ACK, withhold ACKs and NACK exactly when the test says.
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import type { ProxySync } from '../../src/admin/syncz.js';
import type { ProxyConfigDump } from '../../src/admin/sent-config.js';
import type { ModelSummary } from '../../src/admin/model-summary.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE } from '../../src/xds/types.js';
import { runProxyConfig } from '../../src/cli/proxy-config.js';
import { runProxyStatus } from '../../src/cli/proxy-status.js';
import { UsageError } from '../../src/cli/flags.js';
import { parsePrometheusText, sampleValue, type Family } from '../support/prom-text.js';
import {
  grpcNode, service, sidecarNode, slice, startStack, syncDelta, syncSotw, type Stack,
} from './stack.js';

async function metrics(stack: Stack): Promise<Map<string, Family>> {
  const res = await stack.get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.type, /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(res.text);
}

function convergenceCount(m: Map<string, Family>, type: string): number {
  return sampleValue(m, 'pilotfish_proxy_convergence_time_seconds', 'pilotfish_proxy_convergence_time_seconds_count', { type }) ?? 0;
}

function pushes(m: Map<string, Family>, type: string, reason: string): number {
  return sampleValue(m, 'pilotfish_xds_pushes_total', 'pilotfish_xds_pushes_total', { type, reason }) ?? 0;
}

async function syncz(stack: Stack): Promise<Map<string, ProxySync>> {
  const res = await stack.get('/debug/syncz');
  assert.equal(res.status, 200, res.text);
  return new Map(res.json<ProxySync[]>().map((p) => [p.id, p]));
}

function states(p: ProxySync | undefined): string[] {
  assert.ok(p, 'proxy is listed');
  return ['CDS', 'LDS', 'RDS', 'EDS'].map((t) => `${t}=${p.types[t].state}`);
}

class Sink {
  text = '';
  write(chunk: string | Uint8Array): boolean {
    this.text += chunk.toString();
    return true;
  }
}

async function cli(run: typeof runProxyStatus, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new Sink();
  const err = new Sink();
  const code = await run(argv, out as unknown as NodeJS.WritableStream, err as unknown as NodeJS.WritableStream);
  return { code, out: out.text, err: err.text };
}

describe('observability: metrics and debug endpoints', function () {
  this.timeout(30_000);
  let stack: Stack;
  afterEach(async () => { await stack?.stop(); });

  it('syncz reports SYNCED, STALE while an ACK is withheld, NACKED with the message, and NOT SENT', async () => {
    stack = await startStack();
    const a = await stack.sotw(grpcNode('a'));
    await syncSotw(stack, a, 'a');
    const d = await stack.delta(sidecarNode('d'));
    const dId = sidecarNode('d').id;
    await syncDelta(stack, d, dId);

    const slow = await stack.sotw(grpcNode('slow'));
    slow.request(CLUSTER, []);
    const slowCds = await slow.next(CLUSTER);
    await stack.events.waitFor('sent', (e) => e.node.id === 'slow' && e.nonce === slowCds.nonce);

    const picky = await stack.sotw(grpcNode('picky'));
    picky.request(CLUSTER, []);
    picky.nack(await picky.next(CLUSTER), 'cluster outbound|50051||web.shop.svc.cluster.local: bad lb policy');
    await stack.events.waitFor('nacked', (e) => e.node.id === 'picky');

    let s = await syncz(stack);
    assert.deepEqual(states(s.get('a')), ['CDS=SYNCED', 'LDS=SYNCED', 'RDS=SYNCED', 'EDS=SYNCED']);
    assert.deepEqual(states(s.get(dId)), ['CDS=SYNCED', 'LDS=SYNCED', 'RDS=SYNCED', 'EDS=SYNCED']);
    assert.deepEqual(states(s.get('slow')), ['CDS=STALE', 'LDS=NOT SENT', 'RDS=NOT SENT', 'EDS=NOT SENT']);
    assert.deepEqual(states(s.get('picky')), ['CDS=NACKED', 'LDS=NOT SENT', 'RDS=NOT SENT', 'EDS=NOT SENT']);
    assert.equal(s.get('picky')?.lastNack?.message, 'cluster outbound|50051||web.shop.svc.cluster.local: bad lb policy');
    assert.equal(s.get('picky')?.lastNack?.type, 'CDS');
    assert.equal(s.get('a')?.kind, 'grpc');
    assert.equal(s.get(dId)?.kind, 'sidecar');
    assert.equal(s.get(dId)?.pod, 'd');
    const cds = s.get('a')!.types.CDS;
    assert.equal(cds.sentNonce, cds.ackedNonce);
    assert.equal(cds.sentVersion, cds.ackedVersion);
    assert.equal(s.get('slow')!.types.CDS.sentNonce, slowCds.nonce);
    assert.equal(s.get('slow')!.types.CDS.ackedNonce, undefined);

    // A config change: every CDS subscriber is STALE until it ACKs the new version.
    await stack.change([service('web'), service('api')], [slice('web', ['10.0.0.1'])]);
    const newCds = await a.next(CLUSTER);
    s = await syncz(stack);
    assert.equal(s.get('a')!.types.CDS.state, 'STALE');
    assert.equal(s.get('picky')!.types.CDS.state, 'STALE', 'a new version after a NACK is pending, not NACKED');
    a.ack(newCds);
    await stack.events.waitFor('acked', (e) => e.node.id === 'a' && e.nonce === newCds.nonce);
    s = await syncz(stack);
    assert.equal(s.get('a')!.types.CDS.state, 'SYNCED');

    const one = await stack.get('/debug/syncz?proxy=slow');
    assert.deepEqual(one.json<ProxySync[]>().map((p) => p.id), ['slow']);
  });

  it('the convergence histogram counts every pushed (proxy, type) once ACKed, EDS-only pushes included, and not answers to requests', async () => {
    stack = await startStack();
    const a = await stack.sotw(grpcNode('a'));
    await syncSotw(stack, a, 'a');
    const dNode = sidecarNode('d');
    const d = await stack.delta(dNode);
    await syncDelta(stack, d, dNode.id);

    let m = await metrics(stack);
    for (const t of ['CDS', 'LDS', 'RDS', 'EDS']) {
      assert.equal(convergenceCount(m, t), 0, `${t}: answers to a proxy's own requests are not convergence`);
      assert.ok(pushes(m, t, 'request') >= 2, `${t}: initial answers count as pushes with reason=request`);
    }

    // Endpoints only: both proxies get EDS alone, and each ACK is one observation.
    const eps = await stack.change([service('web')], [slice('web', ['10.0.0.1', '10.0.0.2'])]);
    assert.equal(eps.trigger, 'endpoints');
    assert.deepEqual(eps.changedTypes, [ENDPOINT]);
    const aEds = await a.next(ENDPOINT);
    const dEds = await d.next(ENDPOINT);
    a.ack(aEds);
    d.ack(dEds);
    await stack.events.waitFor('acked', (e) => e.node.id === 'a' && e.nonce === aEds.nonce);
    await stack.events.waitFor('acked', (e) => e.node.id === dNode.id && e.nonce === dEds.nonce);
    m = await metrics(stack);
    assert.equal(convergenceCount(m, 'EDS'), 2);
    assert.equal(pushes(m, 'EDS', 'endpoints'), 2);
    for (const t of ['CDS', 'LDS', 'RDS']) assert.equal(convergenceCount(m, t), 0, `${t} was not pushed`);
    assert.equal(a.buffered(), 0, 'nothing but EDS was sent');

    // A config change reaches every type it touches; a NACKed push is not convergence.
    const cfg = await stack.change([service('web', [50051, 50052])], [slice('web', ['10.0.0.1', '10.0.0.2'])]);
    assert.equal(cfg.trigger, 'config');
    const aCds = await a.next(CLUSTER);
    const aLds = await a.next(LISTENER);
    const dCds = await d.next(CLUSTER);
    a.ack(aCds);
    a.ack(aLds);
    d.nack(dCds, 'rejecting on purpose');
    await stack.events.waitFor('acked', (e) => e.node.id === 'a' && e.nonce === aCds.nonce);
    await stack.events.waitFor('acked', (e) => e.node.id === 'a' && e.nonce === aLds.nonce);
    await stack.events.waitFor('nacked', (e) => e.node.id === dNode.id && e.nonce === dCds.nonce);
    m = await metrics(stack);
    assert.equal(convergenceCount(m, 'CDS'), 1, 'a ACKed CDS; d NACKed it');
    assert.equal(convergenceCount(m, 'LDS'), 1);
    assert.equal(convergenceCount(m, 'EDS'), 2);
    assert.equal(sampleValue(m, 'pilotfish_xds_nacks_total', 'pilotfish_xds_nacks_total', { type: 'CDS' }), 1);
    assert.equal(pushes(m, 'CDS', 'config'), 2);
    const sum = sampleValue(m, 'pilotfish_proxy_convergence_time_seconds', 'pilotfish_proxy_convergence_time_seconds_sum', { type: 'EDS' });
    assert.ok(sum !== undefined && sum >= 0);
    assert.equal(sampleValue(m, 'pilotfish_debounce_time_seconds', 'pilotfish_debounce_time_seconds_count'), 2, 'two published changes after startup');
    assert.equal(sampleValue(m, 'pilotfish_xds_push_time_seconds', 'pilotfish_xds_push_time_seconds_count', { trigger: 'endpoints' }), 1);
    assert.equal(sampleValue(m, 'pilotfish_xds_push_time_seconds', 'pilotfish_xds_push_time_seconds_count', { trigger: 'config' }), 2,
      'the startup generation and the config change');

    const status = (await stack.get('/debug/push_status')).json<{
      lastPush: { trigger: string; snapshotVersion: number; proxies: number; durationMs: number; debounceMs: number };
      convergence: { sent: number; acked: number; nacked: number; pending: number };
      connected: { proxies: { grpc: number; sidecar: number } };
    }>();
    assert.equal(status.lastPush.trigger, 'config');
    assert.equal(status.lastPush.proxies, 2);
    assert.ok(status.lastPush.durationMs >= 0 && status.lastPush.debounceMs >= 0);
    assert.equal(status.convergence.acked, 2);
    assert.equal(status.convergence.nacked, 1);
    assert.equal(status.convergence.sent, status.convergence.acked + status.convergence.nacked + status.convergence.pending);
    assert.deepEqual(status.connected.proxies, { grpc: 1, sidecar: 1 });
  });

  it('/metrics is valid Prometheus text with every family the issue lists, process metrics included', async () => {
    stack = await startStack();
    const a = await stack.sotw(grpcNode('a'));
    await syncSotw(stack, a, 'a');
    const b = await stack.sotw(grpcNode('b'));
    await syncSotw(stack, b, 'b');
    const s1 = await stack.sotw(sidecarNode('s1'));
    s1.request(CLUSTER, []);
    await s1.next(CLUSTER);
    stack.obs.metrics.webhookInjections.inc({ result: 'injected' });
    stack.obs.metrics.webhookLatency.observe({ result: 'injected' }, 0.004);
    stack.obs.metrics.informerEvents.inc({ kind: 'Service', event: 'add' });
    stack.obs.metrics.informerRelists.inc({ kind: 'Service' });

    const m = await metrics(stack);
    const expect: [string, string][] = [
      ['pilotfish_xds_connected_proxies', 'gauge'],
      ['pilotfish_xds_pushes_total', 'counter'],
      ['pilotfish_xds_push_time_seconds', 'histogram'],
      ['pilotfish_proxy_convergence_time_seconds', 'histogram'],
      ['pilotfish_debounce_time_seconds', 'histogram'],
      ['pilotfish_xds_nacks_total', 'counter'],
      ['pilotfish_xds_resources_encoded_total', 'counter'],
      ['pilotfish_xds_resources_reused_total', 'counter'],
      ['pilotfish_xds_sent_bytes_total', 'counter'],
      ['pilotfish_webhook_injections_total', 'counter'],
      ['pilotfish_webhook_injection_duration_seconds', 'histogram'],
      ['pilotfish_informer_events_total', 'counter'],
      ['pilotfish_informer_relists_total', 'counter'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
    ];
    for (const [name, type] of expect) {
      assert.equal(m.get(name)?.type, type, `${name} is exported as a ${type}`);
      assert.ok(m.get(name)?.help, `${name} has HELP`);
    }
    assert.equal(sampleValue(m, 'pilotfish_xds_connected_proxies', 'pilotfish_xds_connected_proxies', { kind: 'grpc' }), 2);
    assert.equal(sampleValue(m, 'pilotfish_xds_connected_proxies', 'pilotfish_xds_connected_proxies', { kind: 'sidecar' }), 1);
    assert.ok((sampleValue(m, 'pilotfish_xds_resources_encoded_total', 'pilotfish_xds_resources_encoded_total') ?? 0) > 0);
    assert.ok((sampleValue(m, 'pilotfish_xds_sent_bytes_total', 'pilotfish_xds_sent_bytes_total', { type: 'CDS' }) ?? 0) > 0);
    assert.equal(sampleValue(m, 'pilotfish_webhook_injections_total', 'pilotfish_webhook_injections_total', { result: 'injected' }), 1);
    assert.equal(sampleValue(m, 'pilotfish_informer_relists_total', 'pilotfish_informer_relists_total', { kind: 'Service' }), 1);

    // A closed stream stops counting as connected.
    b.close();
    await stack.events.waitFor('streamClosed', (e) => e.node.id === 'b');
    const after = await metrics(stack);
    assert.equal(sampleValue(after, 'pilotfish_xds_connected_proxies', 'pilotfish_xds_connected_proxies', { kind: 'grpc' }), 1);
  });

  it('config_dump returns what the proxy was sent, decoded from the bytes; 400 without a proxy, 404 for an unknown one', async () => {
    stack = await startStack();
    const a = await stack.sotw(grpcNode('a'));
    const got = await syncSotw(stack, a, 'a');
    const res = await stack.get('/debug/config_dump?proxy=a');
    assert.equal(res.status, 200, res.text);
    const dump = res.json<ProxyConfigDump>();
    assert.equal(dump.proxy, 'a');
    for (const [typeUrl, type] of [[CLUSTER, 'CDS'], [LISTENER, 'LDS'], [ROUTE, 'RDS'], [ENDPOINT, 'EDS']] as const) {
      const sent = dump.types[type];
      assert.equal(sent.state, 'SYNCED');
      assert.equal(sent.version, got.get(typeUrl)!.versionInfo);
      assert.deepEqual(sent.resources.map((r) => r.name), got.get(typeUrl)!.names);
    }
    const cluster = dump.types.CDS.resources[0].resource;
    assert.equal(cluster['@type'], CLUSTER);
    assert.equal(cluster.name, 'outbound|50051||web.shop.svc.cluster.local');
    assert.equal(cluster.type, 'EDS');
    const listener = dump.types.LDS.resources[0].resource as { api_listener: { api_listener: Record<string, unknown> } };
    assert.match(String(listener.api_listener.api_listener['@type']), /HttpConnectionManager$/, 'nested Anys are decoded too');
    const cla = dump.types.EDS.resources[0].resource as { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[] }[] };
    assert.deepEqual(cla.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: '10.0.0.1', port_value: 8080 });

    assert.equal((await stack.get('/debug/config_dump')).status, 400);
    const missing = await stack.get('/debug/config_dump?proxy=nobody');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /nobody/);
  });

  it('/debug/model summarizes the current snapshot', async () => {
    stack = await startStack({ services: [service('web'), service('api')], slices: [slice('web', ['10.0.0.1', '10.0.0.2'])] });
    const model = (await stack.get('/debug/model')).json<ModelSummary>();
    assert.equal(model.version, stack.store.current().version);
    assert.deepEqual(model.services.map((s) => [s.key, s.endpoints, s.ready]), [['api.shop', 0, 0], ['web.shop', 2, 2]]);
    assert.deepEqual(model.services[1].ports, ['grpc-50051:50051/grpc']);
    assert.ok(model.changedAt && !Number.isNaN(Date.parse(model.changedAt)));
  });

  it('with debug endpoints off, /debug/* is 404 and /metrics still answers', async () => {
    stack = await startStack({ debug: false });
    for (const p of ['/debug/syncz', '/debug/config_dump?proxy=a', '/debug/push_status', '/debug/model']) {
      assert.equal((await stack.get(p)).status, 404, p);
    }
    await metrics(stack);
  });

  describe('CLI against the admin server', () => {
    it('proxy-status prints one row per proxy with each type\'s state and the last NACK; -o json gives syncz', async () => {
      stack = await startStack();
      const a = await stack.sotw(grpcNode('a'));
      await syncSotw(stack, a, 'a');
      const p = await stack.sotw(grpcNode('picky'));
      p.request(CLUSTER, []);
      p.nack(await p.next(CLUSTER), 'no thanks:\nsecond line');
      await stack.events.waitFor('nacked', (e) => e.node.id === 'picky');

      const r = await cli(runProxyStatus, ['--server', stack.base]);
      assert.equal(r.code, 0, r.err);
      const lines = r.out.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
      assert.deepEqual(lines[0], ['NAME', 'KIND', 'CDS', 'LDS', 'RDS', 'EDS', 'LAST NACK']);
      assert.deepEqual(lines[1], ['a', 'grpc', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);
      assert.deepEqual(lines[2], ['picky', 'grpc', 'NACKED', 'NOT SENT', 'NOT SENT', 'NOT SENT', 'CDS: no thanks: second line']);

      const j = await cli(runProxyStatus, ['--server', stack.base, '-o', 'json', 'picky']);
      assert.equal(j.code, 0, j.err);
      assert.deepEqual((JSON.parse(j.out) as ProxySync[]).map((x) => x.types.CDS.state), ['NACKED']);

      const none = await cli(runProxyStatus, ['--server', stack.base, 'nobody']);
      assert.equal(none.code, 1);
      assert.match(none.err, /proxy "nobody" has no open xDS stream/);
    });

    it('proxy-config prints a table, JSON or YAML of what the proxy was sent', async () => {
      stack = await startStack({ services: [service('web')], slices: [slice('web', ['10.0.0.1', '10.0.0.2'])] });
      const a = await stack.sotw(grpcNode('a'));
      await syncSotw(stack, a, 'a');

      const c = await cli(runProxyConfig, ['cluster', '--proxy', 'a', '--server', stack.base]);
      assert.equal(c.code, 0, c.err);
      assert.deepEqual(c.out.trimEnd().split('\n').map((l) => l.split(/\s{2,}/)), [
        ['NAME', 'TYPE', 'LB POLICY', 'EDS SERVICE'],
        ['outbound|50051||web.shop.svc.cluster.local', 'EDS', 'ROUND_ROBIN', 'outbound|50051||web.shop.svc.cluster.local'],
      ]);
      const e = await cli(runProxyConfig, ['endpoints', 'a', '--server', stack.base]);
      assert.equal(e.code, 0, e.err);
      assert.match(e.out, /outbound\|50051\|\|web\.shop\.svc\.cluster\.local\s+2\s+10\.0\.0\.1:8080 \w+, 10\.0\.0\.2:8080 \w+/);
      const l = await cli(runProxyConfig, ['listener', '--proxy', 'a', '--server', stack.base]);
      assert.match(l.out, /^web\.shop\.svc\.cluster\.local:50051\s+api_listener\s+HttpConnectionManager\s+RDS /m);
      const rt = await cli(runProxyConfig, ['route', '--proxy', 'a', '--server', stack.base]);
      assert.match(rt.out, /^ROUTE CONFIG\s+DOMAINS\s+NAME\s+MATCH\s+DESTINATION\s+FROM$/m);
      assert.match(rt.out, /^web\.shop\.svc\.cluster\.local:50051\s+web\.shop\.svc\.cluster\.local:50051 \+\d+\s+default\s+prefix \/\s+outbound\|50051\|\|web\.shop\.svc\.cluster\.local\s+-$/m);

      const j = await cli(runProxyConfig, ['cluster', '--proxy', 'a', '--server', stack.base, '-o', 'json']);
      const clusters = JSON.parse(j.out) as { name: string; '@type': string }[];
      assert.deepEqual(clusters.map((x) => x.name), ['outbound|50051||web.shop.svc.cluster.local']);
      const y = await cli(runProxyConfig, ['cluster', '--proxy', 'a', '--server', stack.base, '-o', 'yaml']);
      assert.deepEqual(parseYaml(y.out), clusters);

      const unknown = await cli(runProxyConfig, ['cluster', '--proxy', 'nobody', '--server', stack.base]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.err, /proxy "nobody" has no open xDS stream/);
    });

    it('explains an unreachable server, a server without debug endpoints, and bad arguments', async () => {
      stack = await startStack({ debug: false });
      const off = await cli(runProxyStatus, ['--server', stack.base]);
      assert.equal(off.code, 1);
      assert.match(off.err, /does not serve \/debug\/syncz: debug endpoints are off/);
      await stack.stop();
      const down = await cli(runProxyStatus, ['--server', stack.base]);
      assert.equal(down.code, 1);
      assert.match(down.err, /cannot reach the pilotfish control plane at http:\/\/127\.0\.0\.1:\d+: .*is it running\?/);
      stack = await startStack();
      await assert.rejects(cli(runProxyConfig, ['secrets', '--proxy', 'a']), (e: unknown) => e instanceof UsageError && /all, bootstrap, cluster, listener, route, endpoint/.test(e.message));
      await assert.rejects(cli(runProxyConfig, ['cluster']), (e: unknown) => e instanceof UsageError && /--proxy ID is required/.test(e.message));
      await assert.rejects(cli(runProxyConfig, ['cluster', '--proxy', 'a', '-o', 'xml']), UsageError);
      await assert.rejects(cli(runProxyStatus, ['-o', 'yaml']), UsageError);
      const badUrl = await cli(runProxyStatus, ['--server', 'not a url']);
      assert.equal(badUrl.code, 1);
      assert.match(badUrl.err, /is not a URL/);
    });
  });
});
