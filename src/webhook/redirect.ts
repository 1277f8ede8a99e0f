// The traffic redirect the init container installs in the Pod's network namespace: iptables nat
// rules in iptables-restore format, generated here and run verbatim by `sh` + `iptables-restore`
// in the container, so the test that runs them in a real network namespace runs exactly these.
import type { CidrSelection, PortSelection } from './annotations.js';
import {
  INIT_CONTAINER_NAME, PORT_AGENT_STATUS, PORT_INBOUND, PORT_OUTBOUND, PROXY_GID, PROXY_PORTS, PROXY_UID,
} from './injection-names.js';
import type { V1Container } from '@kubernetes/client-node';

export interface RedirectConfig {
  readonly proxyUid: number;
  readonly proxyGid: number;
  readonly outboundPort: number;
  readonly inboundPort: number;
  /** Destinations whose outbound traffic goes to the proxy (`*`: all). */
  readonly includeOutboundIPRanges: CidrSelection;
  readonly excludeOutboundIPRanges: readonly string[];
  readonly excludeOutboundPorts: readonly number[];
  /** Pod ports whose inbound traffic goes to the proxy (`*`: all but the excluded and the proxy's own). */
  readonly includeInboundPorts: PortSelection;
  readonly excludeInboundPorts: readonly number[];
}

export const DEFAULT_REDIRECT: RedirectConfig = {
  proxyUid: PROXY_UID,
  proxyGid: PROXY_GID,
  outboundPort: PORT_OUTBOUND,
  inboundPort: PORT_INBOUND,
  includeOutboundIPRanges: { all: true },
  excludeOutboundIPRanges: [],
  excludeOutboundPorts: [],
  includeInboundPorts: { all: true },
  excludeInboundPorts: [],
};

const CHAIN_INBOUND = 'PILOTFISH_INBOUND';
const CHAIN_IN_REDIRECT = 'PILOTFISH_IN_REDIRECT';
const CHAIN_OUTPUT = 'PILOTFISH_OUTPUT';
const CHAIN_REDIRECT = 'PILOTFISH_REDIRECT';

/** iptables-restore input for the nat table. Pure: same config, same text. */
export function redirectRules(c: RedirectConfig): string {
  const lines: string[] = ['*nat'];
  for (const chain of [CHAIN_INBOUND, CHAIN_IN_REDIRECT, CHAIN_OUTPUT, CHAIN_REDIRECT]) {
    lines.push(`:${chain} - [0:0]`);
  }
  lines.push(`-A ${CHAIN_IN_REDIRECT} -p tcp -j REDIRECT --to-ports ${c.inboundPort}`);
  lines.push(`-A ${CHAIN_REDIRECT} -p tcp -j REDIRECT --to-ports ${c.outboundPort}`);

  // Inbound: the proxy's own ports (readiness, metrics, the capture ports) always bypass capture,
  // otherwise the kubelet's probe of the proxy would be looped into the proxy's inbound listener;
  // likewise the agent's status port, which the kubelet probes for the agent's readiness.
  const neverInbound = new Set<number>([...PROXY_PORTS, PORT_AGENT_STATUS, c.outboundPort, c.inboundPort, ...c.excludeInboundPorts]);
  if (c.includeInboundPorts.all) {
    lines.push(`-A PREROUTING -p tcp -j ${CHAIN_INBOUND}`);
    for (const port of [...neverInbound].sort((a, b) => a - b)) {
      lines.push(`-A ${CHAIN_INBOUND} -p tcp --dport ${port} -j RETURN`);
    }
    lines.push(`-A ${CHAIN_INBOUND} -p tcp -j ${CHAIN_IN_REDIRECT}`);
  } else {
    const ports = c.includeInboundPorts.ports.filter((p) => !neverInbound.has(p));
    if (ports.length > 0) lines.push(`-A PREROUTING -p tcp -j ${CHAIN_INBOUND}`);
    for (const port of ports) lines.push(`-A ${CHAIN_INBOUND} -p tcp --dport ${port} -j ${CHAIN_IN_REDIRECT}`);
  }

  // Outbound: the proxy's own traffic (by uid and gid) leaves untouched, or it would loop forever.
  lines.push(`-A OUTPUT -p tcp -j ${CHAIN_OUTPUT}`);
  lines.push(`-A ${CHAIN_OUTPUT} -m owner --uid-owner ${c.proxyUid} -j RETURN`);
  lines.push(`-A ${CHAIN_OUTPUT} -m owner --gid-owner ${c.proxyGid} -j RETURN`);
  lines.push(`-A ${CHAIN_OUTPUT} -d 127.0.0.1/32 -j RETURN`);
  for (const port of c.excludeOutboundPorts) lines.push(`-A ${CHAIN_OUTPUT} -p tcp --dport ${port} -j RETURN`);
  for (const cidr of c.excludeOutboundIPRanges) lines.push(`-A ${CHAIN_OUTPUT} -d ${cidr} -j RETURN`);
  if (c.includeOutboundIPRanges.all) {
    lines.push(`-A ${CHAIN_OUTPUT} -j ${CHAIN_REDIRECT}`);
  } else {
    for (const cidr of c.includeOutboundIPRanges.cidrs) lines.push(`-A ${CHAIN_OUTPUT} -d ${cidr} -j ${CHAIN_REDIRECT}`);
  }
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

/**
 * The script the init container runs with the rules as `$1`. Re-running it in a namespace that
 * already has the chains does nothing: a restarted init container must not append the jumps twice.
 */
const INIT_SCRIPT = [
  'set -e',
  `if iptables -t nat -S ${CHAIN_OUTPUT} >/dev/null 2>&1; then echo "pilotfish-init: redirect already installed"; exit 0; fi`,
  'printf \'%s\' "$1" | iptables-restore --noflush',
  'echo "pilotfish-init: redirect installed"',
  'iptables -t nat -S',
].join('\n');

interface InitContainerOptions {
  readonly image: string;
  readonly imagePullPolicy?: string;
  readonly redirect: RedirectConfig;
}

export function initContainer(o: InitContainerOptions): V1Container {
  const c: V1Container = {
    name: INIT_CONTAINER_NAME,
    image: o.image,
    command: ['sh', '-c', INIT_SCRIPT, INIT_CONTAINER_NAME, redirectRules(o.redirect)],
    resources: {
      requests: { cpu: '10m', memory: '16Mi' },
      limits: { cpu: '100m', memory: '64Mi' },
    },
    // Root with exactly the two capabilities iptables needs, and nothing else.
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
  if (o.imagePullPolicy) c.imagePullPolicy = o.imagePullPolicy;
  return c;
}

/** The rules text inside a generated init container (the last command argument). */
export function rulesOfInitContainer(c: V1Container): string {
  const cmd = c.command ?? [];
  if (cmd[0] !== 'sh' || cmd[1] !== '-c' || cmd.length !== 5) {
    throw new Error(`container ${c.name} is not a pilotfish init container`);
  }
  return cmd[4];
}
