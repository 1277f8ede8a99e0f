// `pilotfish bootstrap --kind sidecar`, run as a user would: an Envoy bootstrap in YAML that
// Envoy's own protos accept, pointing at the control plane over Delta ADS.
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { lookupType } from '../../src/xds/protos.js';
import { protoJsonRoundTrip, type Json } from '../support/proto-json.js';
import { runPilotfish } from '../support/pilotfish-process.js';
import { checkEncoded, formatViolations } from '../support/validate-rules.js';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';

describe('e2e: pilotfish bootstrap --kind sidecar', function () {
  this.timeout(30_000);

  it('prints an Envoy bootstrap YAML with Delta ADS, identity from an Istio-style node id', async () => {
    const id = 'sidecar~10.0.0.5~web-1.shop~shop.svc.cluster.local';
    const out = await runPilotfish(['bootstrap', '--kind', 'sidecar', '--node-id', id,
      '--xds-address', 'pilotfish.pilotfish-system.svc:15010', '--labels', 'app=web,version=v1']);
    assert.equal(out.code, 0, out.stderr);
    const b = YAML.parse(out.stdout) as {
      node: { id: string; cluster: string; metadata: Record<string, unknown> };
      dynamic_resources: { ads_config: { api_type: string } };
      static_resources: { clusters: { name: string; type: string }[] };
    };
    assert.equal(b.node.id, id);
    assert.equal(b.node.cluster, 'web.shop');
    assert.deepEqual(b.node.metadata, {
      PILOTFISH_KIND: 'sidecar', NAMESPACE: 'shop', POD_NAME: 'web-1', INSTANCE_IP: '10.0.0.5', SERVICE_ACCOUNT: 'default',
      LABELS: { app: 'web', version: 'v1' },
    });
    assert.equal(b.dynamic_resources.ads_config.api_type, 'DELTA_GRPC');
    const xds = b.static_resources.clusters.find((c) => c.name === 'xds-grpc');
    assert.equal(xds?.type, 'STRICT_DNS', 'a host name is resolved by DNS');
    // Envoy reads the YAML through the proto3 JSON mapping (durations as "1s", node.metadata as any
    // JSON object), so that is how it is checked: mapped, encoded, decoded back unchanged, and
    // the encoded message against the validate rules.
    const { bytes, back } = protoJsonRoundTrip(lookupType(BOOTSTRAP), b as unknown as Json);
    assert.deepEqual(back, b);
    const v = checkEncoded(BOOTSTRAP, bytes);
    assert.deepEqual(v, [], formatViolations(v));
  });

  it('rejects an unknown kind and a malformed address with a usage error', async () => {
    const kind = await runPilotfish(['bootstrap', '--kind', 'envoy', '--node-id', 'x']);
    assert.equal(kind.code, 2);
    assert.match(kind.stderr, /--kind must be grpc or sidecar \(got "envoy"\)/);
    const addr = await runPilotfish(['bootstrap', '--kind', 'sidecar', '--node-id', 'x', '--xds-address', 'nohost']);
    assert.equal(addr.code, 2);
    assert.match(addr.stderr, /--xds-address: invalid address "nohost"/);
  });
});
