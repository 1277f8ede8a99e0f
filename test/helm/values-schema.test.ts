// values.schema.json through the real helm: wrong types, unknown values and typos in keys fail
// `helm template` (so `helm install`) with a message naming the value and the reason; and the
// enums are exactly the values pilotfish's own flag parser accepts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseWebhookFlags } from '../../src/cli/webhook-command.js';
import { LOG_LEVELS } from '../../src/logging.js';
import { OUTBOUND_TRAFFIC_POLICIES } from '../../src/model/outbound-policy.js';
import { DEFAULT_SCOPES } from '../../src/model/traffic-scope.js';
import { helm } from '../support/k8s-tools.js';
import { CHART_DIR, render, templateArgs } from './chart.js';

interface SchemaNode { enum?: unknown[]; anyOf?: SchemaNode[]; properties?: Record<string, SchemaNode> }
const schema = JSON.parse(readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;

function node(...keys: string[]): SchemaNode {
  let n = schema;
  for (const k of keys) {
    const next = n.properties?.[k];
    assert.ok(next, `values.schema.json has no ${keys.join('.')}`);
    n = next;
  }
  return n;
}

function enumOf(n: SchemaNode): unknown[] {
  const values = n.enum ?? n.anyOf?.flatMap((a) => a.enum ?? []);
  assert.ok(values && values.length > 0, 'schema node has no enum');
  return values;
}

async function rejected(set: string): Promise<string> {
  const args = templateArgs({ set: [set] });
  const r = await helm(args);
  assert.notEqual(r.code, 0, `helm accepted --set ${set}`);
  return r.stderr;
}

describe('helm chart: values.schema.json', () => {
  const cases: Array<{ set: string; message: RegExp }> = [
    { set: 'replicas=two', message: /at '\/replicas': got string, want integer/ },
    { set: 'replicas=0', message: /at '\/replicas': minimum: got 0, want 1/ },
    { set: 'logLevel=verbose', message: /at '\/logLevel': value must be one of 'error', 'warn', 'info', 'debug'/ },
    { set: 'outboundTrafficPolicy=DENY', message: /at '\/outboundTrafficPolicy': value must be one of 'ALLOW_ANY', 'REGISTRY_ONLY'/ },
    { set: 'defaultScope=cluster', message: /at '\/defaultScope': value must be one of 'namespace', 'mesh'/ },
    { set: 'injection.onError=maybe', message: /at '\/injection\/onError': value must be one of 'allow', 'deny'/ },
    { set: 'injection.nativeSidecars=sometimes', message: /at '\/injection\/nativeSidecars'/ },
    { set: 'webhook.failurePolicy=Never', message: /at '\/webhook\/failurePolicy': value must be one of 'Fail', 'Ignore'/ },
    { set: 'webhook.timeoutSeconds=60', message: /at '\/webhook\/timeoutSeconds': maximum: got 60, want 30/ },
    { set: 'proxy.resources.requests.memory=lots', message: /at '\/proxy\/resources\/requests\/memory'/ },
    { set: 'podDisruptionBudget.enabled=yes', message: /at '\/podDisruptionBudget\/enabled': got string, want boolean/ },
    { set: 'xds.plaintext.enabled=yes', message: /at '\/xds\/plaintext\/enabled': got string, want boolean/ },
    { set: 'xds.plaintext.port=15010', message: /at '\/xds\/plaintext': additional properties 'port' not allowed/ },
    { set: 'autoscaling.enabled=yes', message: /at '\/autoscaling\/enabled': got string, want boolean/ },
    { set: 'autoscaling.targetConnectedProxies=-1', message: /at '\/autoscaling\/targetConnectedProxies': minimum: got -1, want 0/ },
    { set: 'autoscaling.targetMemory=80', message: /at '\/autoscaling': additional properties 'targetMemory' not allowed/ },
    { set: 'xds.maxConnectionAge=forever', message: /at '\/xds\/maxConnectionAge'/ },
    { set: 'replica=3', message: /additional properties 'replica' not allowed/ },
    { set: 'metrics.serviceMonitor.enable=true', message: /at '\/metrics\/serviceMonitor': additional properties 'enable' not allowed/ },
  ];
  for (const c of cases) {
    it(`rejects --set ${c.set} with a clear message`, async () => {
      const stderr = await rejected(c.set);
      assert.match(stderr, /values don't meet the specifications of the schema/);
      assert.match(stderr, c.message);
    });
  }

  it('accepts values written the way --set types them (numbers for quantities, booleans for nativeSidecars)', async () => {
    const objects = await render({ set: ['proxy.resources.limits.cpu=2', 'proxy.resources.requests.cpu=0.5', 'injection.nativeSidecars=true'] });
    const args = JSON.stringify(objects);
    assert.match(args, /--proxy-cpu-limit=2"/);
    assert.match(args, /--proxy-cpu=0\.5"/);
    assert.match(args, /--native-sidecars=true"/);
  });

  it('offers exactly the log levels pilotfish accepts', () => {
    assert.deepEqual(enumOf(node('logLevel')), [...LOG_LEVELS]);
  });

  it('offers exactly the outbound traffic policies pilotfish accepts', () => {
    assert.deepEqual(enumOf(node('outboundTrafficPolicy')), [...OUTBOUND_TRAFFIC_POLICIES]);
  });

  it('offers exactly the default scopes pilotfish accepts', () => {
    assert.deepEqual(enumOf(node('defaultScope')), [...DEFAULT_SCOPES]);
  });

  it('passes a discovery selector to the controller, and none when it is empty', async () => {
    const withSelector = JSON.stringify(await render({ set: ['discoverySelector=env=prod'] }));
    assert.match(withSelector, /"--discovery-selector=env=prod"/);
    assert.doesNotMatch(JSON.stringify(await render()), /--discovery-selector/);
  });

  it('offers exactly the injection settings the flag parser accepts, and the parser rejects the rest', () => {
    const flags: Array<{ keys: string[]; flag: string; outside: string }> = [
      { keys: ['injection', 'onError'], flag: 'on-error', outside: 'maybe' },
      { keys: ['injection', 'nativeSidecars'], flag: 'native-sidecars', outside: 'yes' },
      { keys: ['injection', 'imagePullPolicy'], flag: 'image-pull-policy', outside: 'Sometimes' },
    ];
    for (const f of flags) {
      for (const v of enumOf(node(...f.keys))) {
        if (v === '') continue; // empty: the chart leaves the flag out
        assert.doesNotThrow(() => parseWebhookFlags([`--${f.flag}=${String(v)}`, '--kubernetes=on']), `--${f.flag}=${String(v)}`);
      }
      assert.throws(() => parseWebhookFlags([`--${f.flag}=${f.outside}`]), new RegExp(`--${f.flag}`));
    }
  });
});
