// `pilotfish bootstrap`: prints the bootstrap a proxy needs to reach this control plane — JSON for
// a proxyless gRPC client, Envoy YAML (Delta ADS) for a sidecar.
import path from 'node:path';
import YAML from 'yaml';
import { splitHostPort } from '../host-port.js';
import { proxyIdentityFromNode } from '../xds/cache/proxy-identity.js';
import { sidecarBootstrap } from '../webhook/envoy-bootstrap.js';
import { grpcBootstrap } from '../xds/bootstrap/grpc-bootstrap.js';
import type { ParsedLine } from './command-line.js';
import type { bootstrapCommand } from './commands.js';
import { parseLabels, requireFlag, UsageError } from './flags.js';

export async function bootstrap({ values }: ParsedLine<typeof bootstrapCommand.flags>, out: NodeJS.WritableStream): Promise<number> {
  const nodeId = requireFlag(values['node-id'], 'node-id', 'bootstrap');
  if (values.kind === 'grpc') {
    const b = grpcBootstrap({
      nodeId, xdsAddress: values['xds-address']!, namespace: values.namespace ?? 'default', zone: values.zone,
      ...(values['cert-dir'] ? { certificates: { directory: path.resolve(values['cert-dir']) } } : {}),
      ...(values['xds-server'] ? { xdsServer: true } : {}),
    });
    out.write(`${JSON.stringify(b, null, 2)}\n`);
    return 0;
  }
  for (const flag of ['cert-dir', 'xds-server'] as const) {
    if (values[flag]) throw new UsageError(`pilotfish bootstrap: --${flag} is for --kind grpc (a sidecar gets its certificates over SDS)`);
  }
  if (values.kind !== 'sidecar') {
    throw new UsageError(`pilotfish bootstrap: --kind must be grpc or sidecar (got "${values.kind}")`);
  }
  let xds: { host: string; port: number };
  try {
    xds = splitHostPort(values['xds-address']!);
  } catch (err) {
    throw new UsageError(`pilotfish bootstrap: --xds-address: ${(err as Error).message}`);
  }
  // An Istio-style node id (sidecar~ip~pod.ns~ns.svc.cluster.local) supplies what flags leave out.
  const fromId = proxyIdentityFromNode({ id: nodeId, metadata: { PILOTFISH_KIND: 'sidecar' } });
  const namespace = values.namespace ?? fromId.namespace;
  const labels = parseLabels(values.labels, 'bootstrap');
  const b = sidecarBootstrap({
    nodeId,
    cluster: values.cluster ?? (labels.app ? `${labels.app}.${namespace}` : namespace),
    namespace,
    podName: values['pod-name'] ?? fromId.podName ?? nodeId,
    instanceIp: values.ip ?? fromId.ip ?? '127.0.0.1',
    serviceAccount: values['service-account'] ?? 'default',
    labels,
    xds,
  });
  out.write(YAML.stringify(b, { lineWidth: 0, aliasDuplicateObjects: false }));
  return 0;
}
