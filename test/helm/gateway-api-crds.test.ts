// The optional Gateway API CRDs of the chart (gatewayAPI.installCRDs): the official
// standard-channel HTTPRoute and GRPCRoute CRDs of the pinned release, unchanged but for the
// annotation that keeps them on uninstall. Whether an existing CRD is left alone is decided with
// `lookup` against a cluster: test/e2e-cluster/gateway-api.cluster.ts checks that part.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { GATEWAY_API_BUNDLE_VERSION, GATEWAY_BUNDLE_VERSION_ANNOTATION, gatewayCrdName, GRPC_ROUTE_KIND, HTTP_ROUTE_KIND } from '../../src/api/gateway/v1/gateway-api.js';
import { CHART_DIR, render, type K8sObject } from './chart.js';

const NAMES = [gatewayCrdName(HTTP_ROUTE_KIND), gatewayCrdName(GRPC_ROUTE_KIND)];

function gatewayCrds(objects: readonly K8sObject[]): K8sObject[] {
  return objects.filter((o) => o.kind === 'CustomResourceDefinition' && NAMES.includes(o.metadata.name));
}

describe('helm chart: Gateway API CRDs (optional)', () => {
  it('are not installed unless asked for', async () => {
    assert.deepEqual(gatewayCrds(await render()), []);
  });

  it('with gatewayAPI.installCRDs=true: HTTPRoute and GRPCRoute of the pinned release, kept on uninstall, otherwise as shipped', async () => {
    const crds = gatewayCrds(await render({ set: ['gatewayAPI.installCRDs=true'] }));
    assert.deepEqual(crds.map((c) => c.metadata.name).sort(), [...NAMES].sort());
    for (const crd of crds) {
      const annotations = crd.metadata.annotations ?? {};
      assert.equal(annotations[GATEWAY_BUNDLE_VERSION_ANNOTATION], GATEWAY_API_BUNDLE_VERSION);
      assert.equal(annotations['gateway.networking.k8s.io/channel'], 'standard');
      assert.equal(annotations['helm.sh/resource-policy'], 'keep');
      const file = path.join(CHART_DIR, 'files', 'gateway-api', `gateway.networking.k8s.io_${crd.metadata.name.split('.')[0]}.yaml`);
      const shipped = YAML.parse(readFileSync(file, 'utf8')) as K8sObject;
      const { ['helm.sh/resource-policy']: _keep, ...rest } = annotations;
      assert.deepEqual({ ...crd, metadata: { ...crd.metadata, annotations: rest } }, shipped, `${crd.metadata.name} differs from the shipped file`);
    }
  });
});
