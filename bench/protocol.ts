// Messages between the benchmark orchestrator and its proxy worker processes (over fork IPC).
import type { Expectations } from './checks.js';
import type { ProxyKind, ProxySpec, Watch } from './sim-proxy.js';

export type ToWorker =
  | {
    op: 'connect'; address: string; perConnection: number; proxies: ProxySpec[]; quietMs: number; timeoutMs: number;
    /** Several replicas: each new connection goes to one of these instead of `address` (see ConnectionPool). */
    addresses?: string[];
    /** How often a proxy reconnects before giving up (default 5; a scale-out run reconnects at every maximum age). */
    maxReconnects?: number;
  }
  /** Report once every proxy that lost its stream (not by age) is converged again, or failed. */
  | { op: 'recover'; timeoutMs: number }
  | { op: 'watch'; watch: Watch }
  /** The server has pushed: report once every expected proxy ACKed and the worker went quiet. */
  | { op: 'collect'; quietMs: number; timeoutMs: number }
  | { op: 'verify'; expectations: Expectations }
  | { op: 'disconnect' }
  | { op: 'exit' };

export interface ProxyResult {
  readonly id: string;
  readonly kind: ProxyKind;
  readonly startedAt: number;
  readonly convergedAt?: number;
  readonly failure?: string;
  /** Times its stream broke and it reconnected (the last reason in lastError). */
  readonly reconnects: number;
  readonly lastError?: string;
  readonly bytes: number;
  /** Bytes received per type URL. */
  readonly bytesByType: Readonly<Record<string, number>>;
  readonly responses: number;
  /** Not converged: the types it still waits for an answer to (or never asked). */
  readonly waitingFor?: readonly string[];
}

/** One proxy during a measurement; only proxies that were expected or got something are reported. */
export interface WatchResult {
  readonly kind: ProxyKind;
  readonly expected: boolean;
  readonly targetAckAt?: number;
  readonly lastAckAt?: number;
  readonly responses: number;
  readonly bytes: number;
  /** Bytes per type (short names: CDS, EDS, LDS, RDS). */
  readonly bytesByType: Readonly<Record<string, number>>;
  /** Responses other than the one carrying the change. */
  readonly unneeded: number;
  readonly verified?: boolean;
  readonly failure?: string;
  readonly reconnects: number;
}

/** One proxy's losses and reconnects since it connected. */
export interface LossResult {
  /** Streams lost without a reconnect asked for (a replica killed, a reset). */
  readonly lost: number;
  /** Streams ended by their connection's maximum age. */
  readonly agedOut: number;
  /** When it converged again after its last loss (epoch ms). */
  readonly recoveredAt?: number;
  /** Lost and not converged again. */
  readonly stillLost: boolean;
  readonly failure?: string;
}

export interface WorkerStats {
  /** CPU the worker spent on the command this reply answers (connect, collect). */
  readonly phaseCpuMs: number;
  /** Garbage-collection pauses of the worker's main thread over the same command (ms). */
  readonly phaseGcMs: number;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  readonly rssBytes: number;
  readonly connections: number;
  readonly sessionErrors: number;
  /** Connection attempts that failed before the server answered (a replica that is gone). */
  readonly refusedConnections: number;
  readonly deriveHits: number;
  readonly deriveMisses: number;
  readonly sampled: number;
  readonly checkedResponses: number;
  readonly checkedResources: number;
  readonly checkFailures: number;
  readonly checkErrors: readonly string[];
}

export type FromWorker =
  | { op: 'ready' }
  | { op: 'connected'; results: ProxyResult[]; timedOut: boolean; stats: WorkerStats }
  | { op: 'watching' }
  | { op: 'collected'; results: WatchResult[]; timedOut: boolean; stats: WorkerStats }
  | { op: 'verified'; stats: WorkerStats }
  | { op: 'recovered'; results: LossResult[]; timedOut: boolean; stats: WorkerStats }
  | { op: 'disconnected'; stats: WorkerStats }
  | { op: 'error'; message: string };
