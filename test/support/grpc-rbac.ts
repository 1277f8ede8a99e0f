// @grpc/grpc-js-xds 1.14 enforces RBAC HTTP filters (gRFC A41) only when the process starts with
// GRPC_XDS_EXPERIMENTAL_RBAC=true; without it a server NACKs a Listener that has them. Tests run
// many files in one process, so the flag cannot be relied on being set before the package loads:
// this turns it on and registers the filter, through the package files (it exports no API for it).
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpcXds from '@grpc/grpc-js-xds';

const require = createRequire(import.meta.url);
const grpcXdsSrc = path.dirname(require.resolve('@grpc/grpc-js-xds'));

export function enableGrpcRbac(): void {
  process.env.GRPC_XDS_EXPERIMENTAL_RBAC = 'true';
  grpcXds.register();
  const environment = require(path.join(grpcXdsSrc, 'environment.js')) as { EXPERIMENTAL_RBAC: boolean };
  if (environment.EXPERIMENTAL_RBAC) return;
  environment.EXPERIMENTAL_RBAC = true;
  (require(path.join(grpcXdsSrc, 'http-filter', 'rbac-filter.js')) as { setup(): void }).setup();
}
