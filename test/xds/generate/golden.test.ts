// Golden files for generated xDS: every TrafficRoute and TrafficPolicy field, the sidecar
// topology (virtualOutbound, per-port listeners, virtualInbound, inbound clusters) and proxyless
// output, each proxy in its own file under test/golden/xds/<case>/. UPDATE_GOLDEN=1 rewrites them.
//
// Every resource of every golden must also encode with the Envoy protos of @grpc/grpc-js-xds,
// decode back to the same value, name only types those protos define, satisfy their
// validate.rules annotations, and — for proxyless clients — pass @grpc/grpc-js-xds's own checks.
import assert from 'node:assert/strict';
import path from 'node:path';
import * as grpcXds from '@grpc/grpc-js-xds';
import YAML from 'yaml';
import { META_KIND, META_LABELS, META_NAMESPACE, type NodeInfo } from '../../../src/xds/node-info.js';
import { proxyIdentityFromNode } from '../../../src/xds/cache/proxy-identity.js';
import type { MeshSnapshot } from '../../../src/model/snapshot.js';
import { generateAll, generateEndpoints, type GenerateOptions } from '../../../src/xds/generate/index.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, messageName, shortTypeName, type XdsTypeUrl } from '../../../src/xds/types.js';
import { checkObject, formatViolations } from '../../support/validate-rules.js';
import { compareGolden, REPO_ROOT } from '../../webhook/golden.js';
import { grpcRejection, roundTripProblems, snapshotFromDir } from './support.js';

grpcXds.register();

const GOLDEN = path.join(REPO_ROOT, 'test/golden/xds');

interface ProxyCase {
  readonly name: string;
  readonly node: NodeInfo;
  readonly options?: GenerateOptions;
}

interface GoldenCase {
  readonly dir: string;
  readonly proxies: readonly ProxyCase[];
}

const sidecar = (id: string, labels: Record<string, string>): NodeInfo => ({ id, metadata: { [META_KIND]: 'sidecar', [META_LABELS]: labels } });
const grpcClient = (id: string, namespace: string): NodeInfo => ({ id, metadata: { [META_KIND]: 'grpc', [META_NAMESPACE]: namespace } });

const CASES: readonly GoldenCase[] = [
  {
    dir: 'full',
    proxies: [
      { name: 'sidecar-web', node: sidecar('sidecar~10.1.9.1~web-5d8f7-x2x4k.shop~shop.svc.cluster.local', { app: 'web' }) },
      {
        name: 'sidecar-reviews-v2',
        node: sidecar('sidecar~10.1.0.2~reviews-v2-a.shop~shop.svc.cluster.local', { app: 'reviews', version: 'v2', track: 'canary' }),
      },
      { name: 'grpc-shop', node: grpcClient('grpc-client-shop', 'shop') },
      { name: 'grpc-other', node: grpcClient('grpc-client-other', 'other') },
    ],
  },
  {
    dir: 'outbound-policy',
    proxies: [
      { name: 'sidecar-locked', node: sidecar('sidecar~10.2.0.1~app-1.locked~locked.svc.cluster.local', { app: 'app' }) },
      {
        name: 'sidecar-open-mesh-registry-only',
        node: sidecar('sidecar~10.3.0.1~app-1.open~open.svc.cluster.local', { app: 'app' }),
        options: { outboundTrafficPolicy: 'REGISTRY_ONLY' },
      },
      {
        name: 'sidecar-plain-mesh-registry-only',
        node: sidecar('sidecar~10.4.0.1~app-1.plain~plain.svc.cluster.local', { app: 'app' }),
        options: { outboundTrafficPolicy: 'REGISTRY_ONLY' },
      },
    ],
  },
];

const TYPES: readonly XdsTypeUrl[] = [CLUSTER, ENDPOINT, LISTENER, ROUTE];
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

for (const c of CASES) {
  describe(`xDS goldens: ${c.dir}`, () => {
    let snapshot: MeshSnapshot;
    before(async () => { snapshot = await snapshotFromDir(path.join(GOLDEN, c.dir, 'input')); });

    it('routing status', () => {
      compareGolden(path.join(GOLDEN, c.dir, 'routing-status.golden.yaml'), yaml(snapshot.routing.statuses));
    });

    it('endpoints (the same for every proxy)', () => {
      const eds = [...generateEndpoints(snapshot).values()];
      compareGolden(path.join(GOLDEN, c.dir, 'endpoints.golden.yaml'), yaml({ EDS: eds }));
    });

    for (const p of c.proxies) {
      describe(p.name, () => {
        it('matches its golden file', () => {
          const config = generateAll(snapshot, proxyIdentityFromNode(p.node), p.options ?? {});
          const out: Record<string, unknown> = { node: p.node, ...(p.options ? { options: p.options } : {}) };
          for (const t of PER_PROXY) out[shortTypeName(t)] = [...(config.get(t)?.values() ?? [])];
          compareGolden(path.join(GOLDEN, c.dir, `${p.name}.golden.yaml`), yaml(out));
        });

        it('every resource round-trips through the Envoy protos and satisfies validate.rules', () => {
          const config = generateAll(snapshot, proxyIdentityFromNode(p.node), p.options ?? {});
          const problems: string[] = [];
          let count = 0;
          for (const t of TYPES) {
            for (const [name, r] of config.get(t) ?? []) {
              count++;
              const typeName = messageName(t);
              for (const pr of roundTripProblems(typeName, r)) problems.push(`${shortTypeName(t)} ${name}: ${pr}`);
              const v = checkObject(typeName, r);
              if (v.length > 0) problems.push(`${shortTypeName(t)} ${name}: validate.rules:\n${formatViolations(v)}`);
            }
          }
          assert.ok(count > 0, 'the case generates resources');
          assert.deepEqual(problems, []);
        });

        if (proxyIdentityFromNode(p.node).kind === 'grpc') {
          it('@grpc/grpc-js-xds accepts every resource, and nothing gRPC cannot act on is sent', () => {
            const config = generateAll(snapshot, proxyIdentityFromNode(p.node), p.options ?? {});
            const rejected: string[] = [];
            for (const t of TYPES) {
              for (const [name, r] of config.get(t) ?? []) {
                const err = grpcRejection(messageName(t), r);
                if (err !== undefined) rejected.push(`${shortTypeName(t)} ${name}: ${err}`);
              }
            }
            assert.deepEqual(rejected, []);
            const keys = keysIn([...(config.get(CLUSTER)?.values() ?? []), ...(config.get(ROUTE)?.values() ?? [])]);
            assert.deepEqual(NOT_FOR_GRPC.filter((k) => keys.has(k)), []);
            const policies = new Set([...(config.get(CLUSTER)?.values() ?? [])].map((cl) => cl.lb_policy));
            assert.deepEqual([...policies].filter((x) => x !== 'ROUND_ROBIN' && x !== 'RING_HASH'), []);
          });
        }
      });
    }
  });
}
