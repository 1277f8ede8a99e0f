// Unit tests of the pieces the mutation is built from: annotation parsing, redirect rules,
// Kubernetes $(VAR) expansion of the inline bootstrap, the hold script, and the status annotation.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import {
  parseCidr, parseCidrList, parseHostPort, parsePortList, parsePortSelection, parseQuantity,
} from '../../src/webhook/annotations.js';
import { DEFAULT_INJECTOR_CONFIG, injectPod, quantityValue } from '../../src/webhook/inject.js';
import { InjectionMemo } from '../../src/webhook/injection-memo.js';
import { rewriteAppProbes } from '../../src/webhook/probes.js';
import { DEFAULT_REDIRECT, redirectRules } from '../../src/webhook/redirect.js';
import { escapeExpansion, holdScript } from '../../src/webhook/sidecar.js';
import { parseStatus, stripInjection } from '../../src/webhook/status.js';
import { podProblems } from './pod-schema.js';

/** Kubernetes' expansion of container command/args: $$ -> $, $(VAR) -> value when VAR is defined. */
function k8sExpand(text: string, env: Record<string, string>): string {
  return text.replace(/\$(\$|\(([A-Za-z_][A-Za-z0-9_]*)\))/g, (m: string, what: string, name: string | undefined) => {
    if (what === '$') return '$';
    return name !== undefined && name in env ? env[name] : m;
  });
}

describe('webhook/annotations', () => {
  it('parses port lists, sorted and deduplicated, and refuses bad ports', () => {
    assert.deepEqual(parsePortList(' 9090, 80,80 '), { ok: true, value: [80, 9090] });
    assert.deepEqual(parsePortList(''), { ok: true, value: [] });
    assert.equal(parsePortList('0').ok, false);
    assert.equal(parsePortList('65536').ok, false);
    assert.equal(parsePortList('http').ok, false);
    assert.deepEqual(parsePortSelection('*'), { ok: true, value: { all: true } });
    assert.deepEqual(parsePortSelection(''), { ok: true, value: { all: false, ports: [] } });
  });

  it('parses IPv4 CIDRs (a bare address is /32) and explains IPv6 and bad ones', () => {
    assert.deepEqual(parseCidr('10.0.0.1'), { ok: true, value: '10.0.0.1/32' });
    assert.deepEqual(parseCidr('10.96.0.0/12'), { ok: true, value: '10.96.0.0/12' });
    assert.match((parseCidr('fd00::/8') as { error: string }).error, /IPv6/);
    assert.equal(parseCidr('10.0.0.0/33').ok, false);
    assert.equal(parseCidr('10.0.0/8').ok, false);
    assert.equal(parseCidr('1.2.3.4/8/9').ok, false);
    assert.deepEqual(parseCidrList('10.0.0.0/8, 10.0.0.0/8'), { ok: true, value: ['10.0.0.0/8'] });
  });

  it('parses Kubernetes quantities and compares them', () => {
    for (const q of ['100m', '1', '0.5', '128Mi', '1Gi', '2e3', '1.5G']) assert.equal(parseQuantity(q).ok, true, q);
    for (const q of ['-1', 'lots', '1 Gi', '1GiB', '']) assert.equal(parseQuantity(q).ok, false, q);
    assert.ok(quantityValue('500m') < quantityValue('1'));
    assert.ok(quantityValue('1Gi') > quantityValue('1G'));
    assert.equal(quantityValue('2e3'), 2000);
  });

  it('parses host:port', () => {
    assert.deepEqual(parseHostPort('pilotfish.pilotfish-system.svc:15010'), { ok: true, value: { host: 'pilotfish.pilotfish-system.svc', port: 15010 } });
    assert.equal(parseHostPort('nohost').ok, false);
    assert.equal(parseHostPort('a:70000').ok, false);
  });
});

describe('webhook/redirect rules', () => {
  it('captures everything but the proxy by default', () => {
    const rules = redirectRules(DEFAULT_REDIRECT);
    assert.match(rules, /^\*nat\n/);
    assert.match(rules, /\nCOMMIT\n$/);
    assert.ok(rules.includes('-A PILOTFISH_OUTPUT -m owner --uid-owner 1337 -j RETURN'));
    assert.ok(rules.includes('-A PILOTFISH_OUTPUT -j PILOTFISH_REDIRECT'));
    assert.ok(rules.includes('-A PILOTFISH_REDIRECT -p tcp -j REDIRECT --to-ports 15001'));
    assert.ok(rules.includes('-A PILOTFISH_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006'));
    for (const p of [15000, 15001, 15006, 15020, 15021, 15090]) assert.ok(rules.includes(`-A PILOTFISH_INBOUND -p tcp --dport ${p} -j RETURN`));
  });

  it('an include list of inbound ports never includes the proxy ports, and an empty one captures nothing', () => {
    const only = redirectRules({ ...DEFAULT_REDIRECT, includeInboundPorts: { all: false, ports: [8080, 15020, 15021] }, excludeInboundPorts: [] });
    assert.ok(only.includes('-A PILOTFISH_INBOUND -p tcp --dport 8080 -j PILOTFISH_IN_REDIRECT'));
    assert.ok(!only.includes('--dport 15021 -j PILOTFISH_IN_REDIRECT'));
    assert.ok(!only.includes('--dport 15020 -j PILOTFISH_IN_REDIRECT'), 'the agent\'s status port is never captured');
    const none = redirectRules({ ...DEFAULT_REDIRECT, includeInboundPorts: { all: false, ports: [] } });
    assert.ok(!none.includes('-A PREROUTING'));
  });
});

describe('webhook/sidecar', () => {
  const pod: V1Pod = {
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
    spec: { containers: [{ name: 'web', image: 'x', readinessProbe: { httpGet: { path: '/price$', port: 8080 } } }] },
  };

  it("replicas share a webhook instance's built containers; another instance (or none) builds its own", () => {
    const sidecars = (memo?: InjectionMemo): V1Container[] => (injectPod(pod, DEFAULT_INJECTOR_CONFIG, memo).pod.spec?.initContainers ?? [])
      .filter((c) => c.name === 'pilotfish-proxy' || c.name === 'pilotfish-agent');
    const one = new InjectionMemo();
    const first = sidecars(one);
    assert.equal(first.length, 2);
    const replica = sidecars(one);
    first.forEach((c, i) => assert.equal(replica[i], c, `${c.name}: built once per workload in one instance`));
    const other = sidecars(new InjectionMemo());
    first.forEach((c, i) => {
      assert.notEqual(other[i], c, `${c.name}: a second instance does not see the first one's memo`);
      assert.deepEqual(other[i], c);
    });
    assert.notEqual(sidecars()[0], sidecars()[0], 'without a memo nothing is kept between injections');
  });

  it("one instance's memo never hands a workload another's parts: settings, users, resources, annotations all count", () => {
    const memo = new InjectionMemo();
    const built = (p: V1Pod, config = DEFAULT_INJECTOR_CONFIG): V1Container[] => injectPod(p, config, memo).pod.spec?.initContainers ?? [];
    const named = (cs: V1Container[], name: string): V1Container => cs.find((c) => c.name === name)!;
    const withMeta = (annotations: Record<string, string>, runAsUser?: number | string): V1Pod => ({
      ...pod,
      metadata: { ...pod.metadata, annotations },
      spec: { ...pod.spec!, containers: pod.spec!.containers.map((c) => ({ ...c, ...(runAsUser !== undefined ? { securityContext: { runAsUser: runAsUser as number } } : {}) })) },
    });
    // Each case against the same memo, in turn, and each compared with a fresh injection of its own.
    const cases: Array<{ p: V1Pod; config?: typeof DEFAULT_INJECTOR_CONFIG }> = [
      { p: withMeta({}) },
      { p: withMeta({ 'sidecar.pilotfish.io/proxyCPU': '300m' }) },
      { p: withMeta({ 'sidecar.pilotfish.io/agentCPU': '30m' }) },
      { p: withMeta({ 'traffic.sidecar.pilotfish.io/excludeOutboundPorts': '3306' }) },
      { p: withMeta({ 'proxy.pilotfish.io/kind': 'grpc' }, 1000) },
      { p: withMeta({ 'proxy.pilotfish.io/kind': 'grpc' }, 1001) },
      { p: withMeta({ 'proxy.pilotfish.io/kind': 'grpc' }, '1001') },
      { p: withMeta({}), config: { ...DEFAULT_INJECTOR_CONFIG, agentImage: 'example/agent:2', proxyImage: 'example/proxy:2' } },
      { p: withMeta({}) },
    ];
    for (const [i, c] of cases.entries()) {
      const got = built(c.p, c.config);
      const fresh = injectPod(c.p, c.config ?? DEFAULT_INJECTOR_CONFIG).pod.spec?.initContainers ?? [];
      assert.deepEqual(got, fresh, `case ${i}`);
    }
    assert.equal(named(built(cases[0].p), 'pilotfish-agent'), named(built(cases[8].p), 'pilotfish-agent'), 'the same workload again: the same parts');
  });

  it('the bootstrap in args is exact JSON after Kubernetes expands the downward-API vars', () => {
    const proxy = injectPod(pod, DEFAULT_INJECTOR_CONFIG).pod.spec!.initContainers!.find((c) => c.name === 'pilotfish-proxy')!;
    const args = proxy.args!;
    assert.equal(args[0], '--config-yaml');
    const env = { POD_NAME: 'web-7f9c', POD_NAMESPACE: 'shop', INSTANCE_IP: '10.1.2.3', SERVICE_ACCOUNT: 'web' };
    const declared = new Set(proxy.env!.map((e) => e.name));
    for (const v of Object.keys(env)) assert.ok(declared.has(v), `env ${v} is declared`);
    const b = JSON.parse(k8sExpand(args[1], env)) as {
      node: { id: string; metadata: Record<string, unknown> };
      static_resources: { listeners: Array<{ filter_chains: Array<{ filters: Array<{ typed_config: { route_config: { virtual_hosts: Array<{ routes: Array<{ route: { prefix_rewrite: string } }> }> } } }> }> }> };
    };
    assert.equal(b.node.id, 'sidecar~10.1.2.3~web-7f9c.shop~shop.svc.cluster.local');
    assert.equal(b.node.metadata.SERVICE_ACCOUNT, 'web');
    const routes = b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes;
    assert.equal(routes[1].route.prefix_rewrite, '/price$', 'a $ of the user reaches Envoy unchanged');
  });

  it('escapes every $ that is not one of our references', () => {
    assert.equal(escapeExpansion('$(POD_NAME) $(HOME) $x $$'), '$(POD_NAME) $$(HOME) $$x $$$$');
    assert.equal(k8sExpand(escapeExpansion('a$(HOME)b$'), {}), 'a$(HOME)b$');
  });

  it('probes: named ports resolve, https and host probes are reported, unknown named ports too', () => {
    const containers: V1Container[] = [{
      name: 'a', image: 'x', ports: [{ name: 'http', containerPort: 8080 }],
      livenessProbe: { httpGet: { port: 'http', path: 'live' } },
      readinessProbe: { httpGet: { port: 'missing', path: '/r' } },
      startupProbe: { httpGet: { port: 443, scheme: 'HTTPS' } },
    }];
    const r = rewriteAppProbes(containers);
    assert.deepEqual(r.routes, [{ path: '/app-health/a/livez', port: 8080, appPath: '/live' }]);
    assert.equal(r.warnings.length, 2);
    assert.match(r.warnings[0], /readinessProbe of container a uses port missing/);
    assert.match(r.warnings[1], /startupProbe of container a uses HTTPS/);
    assert.deepEqual(containers[0].livenessProbe, { httpGet: { port: 'http', path: 'live' } }, 'input untouched');
  });

  it('the hold script waits until the readiness port answers 200, and gives up after its tries', async function () {
    const urls: string[] = [];
    const server = http.createServer((req, res) => {
      urls.push(req.url ?? '');
      res.writeHead(urls.length >= 3 ? 200 : 503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const runBash = (script: string): Promise<{ code: number | null; stderr: string }> => new Promise((resolve, reject) => {
      const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    try {
      const ok = await runBash(holdScript(port, 20));
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(urls, ['/healthz/ready', '/healthz/ready', '/healthz/ready']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const gaveUp = await runBash(holdScript(port, 2));
    assert.equal(gaveUp.code, 1);
    assert.match(gaveUp.stderr, /pilotfish-proxy did not become ready/);
    assert.ok(!holdScript().includes('$('), 'no $( for Kubernetes to expand');
  });
});

describe('webhook/status', () => {
  it('strip restores the original Pod exactly, probes included', () => {
    const original: V1Pod = {
      metadata: { name: 'a', labels: { app: 'a' } },
      spec: { containers: [{ name: 'a', image: 'x', livenessProbe: { httpGet: { path: '/l', port: 80 } } }] },
    };
    for (const nativeSidecars of [true, false]) {
      const injected = injectPod(original, { ...DEFAULT_INJECTOR_CONFIG, nativeSidecars }).pod;
      assert.deepEqual(stripInjection(injected), original);
    }
  });

  it('strip removes the agent, its volumes and the mounts it added to a proxyless app, and keeps the Pod\'s own', () => {
    const original: V1Pod = {
      metadata: { name: 'g', annotations: { 'proxy.pilotfish.io/kind': 'grpc' } },
      spec: {
        securityContext: { runAsUser: 1000 },
        containers: [{ name: 'g', image: 'x', volumeMounts: [{ name: 'data', mountPath: '/data' }] }, { name: 'h', image: 'y' }],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    };
    for (const nativeSidecars of [true, false]) {
      const injected = injectPod(original, { ...DEFAULT_INJECTOR_CONFIG, nativeSidecars }).pod;
      const all = [...(injected.spec?.initContainers ?? []), ...(injected.spec?.containers ?? [])];
      assert.deepEqual(all.map((c) => c.name).filter((n) => n.startsWith('pilotfish-')), ['pilotfish-agent'], 'no proxy, no redirect');
      assert.deepEqual(injected.spec?.containers.find((c) => c.name === 'h')?.volumeMounts, [{ name: 'pilotfish-run', mountPath: '/var/run/pilotfish' }]);
      assert.deepEqual(stripInjection(injected), original);
    }
  });

  it('a sidecar\'s agent runs as the proxy\'s UID whatever the app runs as; a proxyless one as the app\'s (root apps excepted)', () => {
    const agentUid = (annotations: Record<string, string>, runAsUser: number): number | undefined => {
      const pod: V1Pod = { metadata: { name: 'p', annotations }, spec: { securityContext: { runAsUser }, containers: [{ name: 'a', image: 'x' }] } };
      return injectPod(pod, DEFAULT_INJECTOR_CONFIG).pod.spec?.initContainers?.find((c) => c.name === 'pilotfish-agent')?.securityContext?.runAsUser;
    };
    assert.equal(agentUid({}, 1000), 1337);
    assert.equal(agentUid({ 'proxy.pilotfish.io/kind': 'grpc' }, 1000), 1000);
    assert.equal(agentUid({ 'proxy.pilotfish.io/kind': 'grpc' }, 0), 1337, 'never root: a root app reads 1337\'s files anyway');
    assert.equal(agentUid({ 'proxy.pilotfish.io/kind': 'envoy' }, 1000), 1337, 'any other kind is a sidecar');
  });

  it('refuses an unreadable status instead of guessing what to remove', () => {
    const pod: V1Pod = { metadata: { annotations: { 'sidecar.pilotfish.io/status': '{oops' } }, spec: { containers: [] } };
    assert.throws(() => stripInjection(pod), /sidecar.pilotfish.io\/status is not JSON/);
    assert.throws(() => parseStatus('{"version":2}'), /unknown format/);
    assert.throws(() => parseStatus('{"version":1,"containers":"x"}'), /containers must be a list/);
  });
});

describe('webhook/pod-schema (the check the goldens rely on)', () => {
  it('catches the volume mistakes an injection could make', () => {
    const injected = injectPod({ metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x' }] } }, DEFAULT_INJECTOR_CONFIG).pod;
    assert.deepEqual(podProblems(injected), []);
    const broken = structuredClone(injected);
    const spec = broken.spec!;
    spec.volumes!.push({ name: 'pilotfish-run', emptyDir: {} });
    spec.volumes!.push({ name: 'two', emptyDir: {}, configMap: { name: 'c' } });
    spec.volumes!.push({ name: 'tok', projected: { sources: [{ serviceAccountToken: { path: '/abs', expirationSeconds: 60 } }] } });
    spec.containers[0].volumeMounts = [{ name: 'missing', mountPath: '/m' }, { name: 'two', mountPath: '/m' }];
    const problems = podProblems(broken).join('\n');
    assert.match(problems, /duplicate volume name pilotfish-run/);
    assert.match(problems, /two\): must have exactly one source/);
    assert.match(problems, /expirationSeconds must be at least 600/);
    assert.match(problems, /path must be relative/);
    assert.match(problems, /volumeMount missing names no volume/);
    assert.match(problems, /duplicate mountPath \/m/);
  });
});
