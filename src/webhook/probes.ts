// App HTTP probes when inbound traffic is captured. Choice: rewrite them through the sidecar.
// The kubelet then probes `/app-health/<container>/<livez|readyz|startupz>` on the proxy's
// readiness port (15021, excluded from capture) and the proxy's static route forwards to the
// app's original port and path. Excluding probe ports from capture instead would also exclude
// the app's real traffic whenever it serves probes on its main port, which is the common case,
// and would stop working once inbound traffic requires mTLS.
//
// Rewritten: httpGet probes with scheme HTTP and no explicit host. Left alone (and reported):
// HTTPS probes, probes with a host, and named ports that the container does not declare.
// tcpSocket, grpc and exec probes are untouched: exec runs inside the container, and TCP/gRPC
// probes pass through the inbound capture like any other connection.
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import type { AppProbeRoute } from './envoy-bootstrap.js';
import { APP_HEALTH_PREFIX, PORT_READINESS } from './injection-names.js';
import type { ProbeKind } from './status.js';
import { PROBE_KINDS } from './status.js';

const SUFFIX: Record<ProbeKind, string> = { livenessProbe: 'livez', readinessProbe: 'readyz', startupProbe: 'startupz' };

interface ProbeRewrite {
  /** Containers with their probes pointed at the proxy; the input's own objects where nothing changed. */
  readonly containers: V1Container[];
  readonly routes: AppProbeRoute[];
  /** Originals of what was rewritten (the input's objects), for the status annotation. */
  readonly originals: Record<string, Partial<Record<ProbeKind, V1Probe>>>;
  readonly warnings: string[];
}

function resolvePort(c: V1Container, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

export function rewriteAppProbes(containers: readonly V1Container[], readinessPort = PORT_READINESS): ProbeRewrite {
  const out: V1Container[] = [];
  const routes: AppProbeRoute[] = [];
  const originals: Record<string, Partial<Record<ProbeKind, V1Probe>>> = {};
  const warnings: string[] = [];
  for (const c of containers) {
    // Copy-on-write: a container whose probes stay as they are is passed on as it is (the caller
    // must not modify the result, as it never modifies its input), so the patch need not look into it.
    let rewritten: V1Container | undefined;
    for (const kind of PROBE_KINDS) {
      const probe = c[kind];
      const http = probe?.httpGet;
      if (!probe || !http) continue;
      const where = `${kind} of container ${c.name}`;
      if (http.scheme && http.scheme.toUpperCase() !== 'HTTP') {
        warnings.push(`${where} uses ${http.scheme} and is not rewritten through the proxy`);
        continue;
      }
      if (http.host) {
        warnings.push(`${where} sets host ${http.host} and is not rewritten through the proxy`);
        continue;
      }
      const port = resolvePort(c, http.port as number | string);
      if (port === undefined || port < 1 || port > 65535) {
        warnings.push(`${where} uses port ${String(http.port)}, which container ${c.name} does not declare; not rewritten`);
        continue;
      }
      const path = `${APP_HEALTH_PREFIX}/${c.name}/${SUFFIX[kind]}`;
      const appPath = !http.path ? '/' : http.path.startsWith('/') ? http.path : `/${http.path}`;
      routes.push({ path, port, appPath });
      (originals[c.name] ??= {})[kind] = probe;
      const httpGet: NonNullable<V1Probe['httpGet']> = { path, port: readinessPort, scheme: 'HTTP' };
      if (http.httpHeaders) httpGet.httpHeaders = http.httpHeaders;
      rewritten ??= { ...c };
      rewritten[kind] = { ...probe, httpGet };
    }
    out.push(rewritten ?? c);
  }
  return { containers: out, routes, originals, warnings };
}
