// Golden files for generated xDS: every case directory under test/golden/xds (layout and how to
// add one: test/golden/xds/README.md) is loaded through the real config-dir source and store, and
// the xDS generated for each proxy of its proxies.yaml is compared with <proxy>.golden.yaml; the
// routing status and the endpoints (the same for every proxy) have a file each. UPDATE_GOLDEN=1
// rewrites them.
//
// Every resource of every golden must also be something its proxy would load (see
// test/support/xds-resource-checks.ts), and a proxyless client must be sent nothing it cannot act on.
import assert from 'node:assert/strict';
import path from 'node:path';
import YAML from 'yaml';
import { proxyIdentityFromNode } from '../../../src/xds/cache/proxy-identity.js';
import type { MeshSnapshot } from '../../../src/model/snapshot.js';
import { generateAll, generateEndpoints, type GeneratedConfig } from '../../../src/xds/generate/index.js';
import { CLUSTER, LISTENER, ROUTE, shortTypeName, type XdsTypeUrl } from '../../../src/xds/types.js';
import { compareGolden } from '../../support/golden.js';
import { snapshotFromDir } from '../../support/mesh-snapshot.js';
import { envoyProblems, grpcProblems } from '../../support/xds-resource-checks.js';
import { ACCESS_STATUS_GOLDEN, hasAccessPolicies, staleGoldens, xdsGoldenCases } from '../../support/xds-golden-cases.js';

/** Endpoints are the same for every proxy and have their own golden file. */
const PER_PROXY: readonly XdsTypeUrl[] = [CLUSTER, LISTENER, ROUTE];

function yaml(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Keys gRPC cannot act on; none may reach a proxyless client. */
const NOT_FOR_GRPC = [
  'query_parameters', 'redirect', 'direct_response', 'request_mirror_policies', 'prefix_rewrite', 'host_rewrite_literal',
  'request_headers_to_add', 'response_headers_to_add', 'request_headers_to_remove', 'response_headers_to_remove',
  'per_try_timeout', 'timeout', 'cookie', 'connection_properties', 'outlier_detection', 'health_checks',
  'typed_extension_protocol_options', 'max_connections', 'max_pending_requests', 'max_retries',
];

function keysIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => keysIn(v, out));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      keysIn(v, out);
    }
  }
  return out;
}

for (const c of xdsGoldenCases()) {
  describe(`xDS goldens: ${c.id}`, () => {
    let snapshot: MeshSnapshot;
    before(async () => { snapshot = await snapshotFromDir(c.input); });

    it('routing status', () => {
      compareGolden(path.join(c.dir, 'routing-status.golden.yaml'), yaml(snapshot.routing.statuses));
    });

    if (hasAccessPolicies(c)) {
      it('AccessPolicy status', () => {
        compareGolden(path.join(c.dir, `${ACCESS_STATUS_GOLDEN}.golden.yaml`), yaml(snapshot.access.statuses));
      });
    }

    it('endpoints (the same for every proxy)', () => {
      const eds = [...generateEndpoints(snapshot).values()];
      compareGolden(path.join(c.dir, 'endpoints.golden.yaml'), yaml({ EDS: eds }));
    });

    it('has no golden file that no proxy of proxies.yaml writes', () => {
      assert.deepEqual(staleGoldens(c), [], `stale golden files in test/golden/xds/${c.id}: delete them or name their proxy in proxies.yaml`);
    });

    for (const p of c.proxies) {
      describe(p.name, () => {
        const identity = proxyIdentityFromNode(p.node);
        let config: GeneratedConfig;
        before(() => { config = generateAll(snapshot, identity, p.options ?? {}); });

        it('matches its golden file', () => {
          const out: Record<string, unknown> = { node: p.node, ...(p.options ? { options: p.options } : {}) };
          for (const t of PER_PROXY) out[shortTypeName(t)] = [...(config.get(t)?.values() ?? [])];
          compareGolden(path.join(c.dir, `${p.name}.golden.yaml`), yaml(out));
        });

        it('every resource round-trips through the Envoy protos and satisfies validate.rules', () => {
          const count = [...config.values()].reduce((n, set) => n + set.size, 0);
          assert.ok(count > 0, 'the case generates resources');
          assert.deepEqual(envoyProblems(config), []);
        });

        if (identity.kind === 'grpc') {
          it('@grpc/grpc-js-xds accepts every resource, and nothing gRPC cannot act on is sent', () => {
            assert.deepEqual(grpcProblems(config), []);
            const keys = keysIn([...(config.get(CLUSTER)?.values() ?? []), ...(config.get(ROUTE)?.values() ?? [])]);
            assert.deepEqual(NOT_FOR_GRPC.filter((k) => keys.has(k)), []);
            const policies = new Set([...(config.get(CLUSTER)?.values() ?? [])].map((cl) => ('lb_policy' in cl ? cl.lb_policy : undefined)));
            assert.deepEqual([...policies].filter((x) => x !== 'ROUND_ROBIN' && x !== 'RING_HASH'), []);
          });
        }
      });
    }
  });
}
