// `pilotfish bootstrap`: prints the bootstrap a proxy needs to reach this control plane.
import { grpcBootstrap } from '../xds/bootstrap/grpc.js';
import { parseFlags, requireFlag, UsageError } from './flags.js';

export function runBootstrap(argv: string[], out: NodeJS.WritableStream): void {
  const { values } = parseFlags(argv, {
    'node-id': { type: 'string' },
    'xds-address': { type: 'string', default: '127.0.0.1:15010' },
    namespace: { type: 'string', default: 'default' },
    zone: { type: 'string' },
    kind: { type: 'string', default: 'grpc' },
  }, 'bootstrap');
  const nodeId = requireFlag(values['node-id'], 'node-id', 'bootstrap');
  if (values.kind !== 'grpc') {
    throw new UsageError(`pilotfish bootstrap: --kind ${values.kind} is not supported yet (supported: grpc)`);
  }
  const b = grpcBootstrap({
    nodeId, xdsAddress: values['xds-address']!, namespace: values.namespace, zone: values.zone,
  });
  out.write(`${JSON.stringify(b, null, 2)}\n`);
}
