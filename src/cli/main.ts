#!/usr/bin/env node
// The pilotfish command line. The only module that reads argv and the environment.
// Commands are imported when chosen: a one-shot command such as `bootstrap` should not pay for
// loading the gRPC server, the Envoy protos and the Kubernetes client.
import { UsageError } from './flags.js';

const USAGE = `pilotfish — a small, fast service-mesh control plane

Usage:
  pilotfish serve [--config-dir DIR] [--xds-address HOST:PORT] [--http-address HOST:PORT] [--log-level L]
                  [--no-debug-endpoints] [--outbound-traffic-policy ALLOW_ANY|REGISTRY_ONLY]
      Serve xDS from Kubernetes YAML files in DIR (watched) and the REST registry.
  pilotfish controller [--kubeconfig FILE] [--namespace NS] [--identity NAME]
                       [--xds-address HOST:PORT] [--http-address HOST:PORT] [--webhook-address HOST:PORT]
                       [--lease-name NAME] [--lease-duration 15s] [--log-level L] [--no-debug-endpoints]
                       [--no-webhook | injector flags of \`pilotfish webhook\`, with --proxy-xds-address HOST:PORT]
      Watch the Kubernetes API (in-cluster, or --kubeconfig / KUBECONFIG / ~/.kube/config) and serve
      xDS from it; the replica holding the Lease writes TrafficRoute/TrafficPolicy status.
  pilotfish bootstrap --node-id ID [--xds-address HOST:PORT] [--namespace NS] [--kind grpc|sidecar]
                      [--pod-name P] [--ip IP] [--labels k=v,...] [--service-account SA] [--cluster C]
      Print the xDS bootstrap: JSON for a proxyless gRPC client, Envoy YAML (Delta ADS) for a sidecar.
  pilotfish config-dump --config-dir DIR --node-id ID [--namespace NS] [--kind grpc|sidecar] [--labels k=v,...]
                        [--pod-name P] [--outbound-traffic-policy ALLOW_ANY|REGISTRY_ONLY]
      Print, as JSON, the resources the given proxy would receive and the status of every routing object.
  pilotfish webhook [--webhook-address HOST:PORT] [--tls-cert-file F --tls-key-file F] [--on-error allow|deny] ...
      Run only the sidecar injector (HTTPS AdmissionReview v1 on POST /inject).
  pilotfish inject -f FILE|-
      Inject the sidecar offline into Pods and the pod templates of workloads (multi-document YAML in, YAML out).
  pilotfish proxy-status [PROXY_ID] [--server URL] [-o table|json]
      Per connected proxy, whether CDS/LDS/RDS/EDS are SYNCED, STALE, NOT SENT or NACKED
      (asks a running control plane; --server defaults to http://127.0.0.1:15014).
  pilotfish proxy-config cluster|listener|route|endpoint --proxy ID [--server URL] [-o table|json|yaml]
      What that proxy was sent, as the running control plane's streams last sent it.
  pilotfish help
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      await (await import('./serve.js')).runServe(rest);
      return 0;
    case 'controller':
      await (await import('./controller.js')).runController(rest);
      return 0;
    case 'webhook':
      await (await import('./webhook-command.js')).runWebhookCommand(rest);
      return 0;
    case 'inject':
      return (await import('./inject.js')).runInject(rest, process);
    case 'bootstrap':
      (await import('./bootstrap.js')).runBootstrap(rest, process.stdout);
      return 0;
    case 'config-dump':
      return (await import('./config-dump.js')).runConfigDump(rest, process.stdout, process.stderr);
    case 'proxy-status':
      return (await import('./proxy-status.js')).runProxyStatus(rest, process.stdout, process.stderr);
    case 'proxy-config':
      return (await import('./proxy-config.js')).runProxyConfig(rest, process.stdout, process.stderr);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => { if (code !== 0) process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`pilotfish: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
