// What the injections of one webhook share: the parts of an injected Pod that depend only on its
// workload's labels and annotations and on the injector's settings, built once per workload and
// reused for every replica. Owned by the webhook instance (two webhooks in one process, as tests
// run them, never share one), and bounded (memo.ts) so a stream of distinct Pods cannot grow it.
import type { V1Container } from '@kubernetes/client-node';
import { BoundedMemo } from './memo.js';

/** Distinct workloads remembered per part (a memo starts over when full). */
const ENTRIES = 256;

export class InjectionMemo {
  /** `--config-yaml` arguments by what the bootstrap is made of (xDS address, pod labels, probe routes). */
  readonly bootstrapArguments = new BoundedMemo<string>(ENTRIES);
  /** The containers, frozen (see frozen-json.ts), by everything they are made of. */
  readonly initContainers = new BoundedMemo<V1Container>(ENTRIES);
  readonly proxyContainers = new BoundedMemo<V1Container>(ENTRIES);
  readonly agentContainers = new BoundedMemo<V1Container>(ENTRIES);
}
