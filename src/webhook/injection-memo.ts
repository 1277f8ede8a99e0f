// What the injections of one webhook share: the parts of an injected Pod that depend only on its
// workload's labels and annotations and on the injector's settings, built once per workload and
// reused for every replica. Owned by the webhook instance (two webhooks in one process, as tests
// run them, never share one), and bounded (memo.ts) so a stream of distinct Pods cannot grow it.
// The parts are for one settings object at a time (forSettings), so their keys need only say
// what comes from the Pod: serialising the settings into every key was most of the keys' cost.
import type { V1Container, V1Volume } from '@kubernetes/client-node';
import { FrozenJson } from './frozen-json.js';
import { BoundedMemo } from './memo.js';

/** Distinct workloads remembered per part (a memo starts over when full). */
const ENTRIES = 256;

export class InjectionMemo {
  /** Freezes the shared parts below and keeps their JSON text for the patches (frozen-json.ts). */
  readonly frozen = new FrozenJson();
  /** `--config-yaml` arguments by what the bootstrap is made of (xDS address, pod labels, probe routes). */
  readonly bootstrapArguments = new BoundedMemo<string>(ENTRIES);
  /** The containers, frozen (see frozen-json.ts), by everything they are made of. */
  readonly initContainers = new BoundedMemo<V1Container>(ENTRIES);
  readonly proxyContainers = new BoundedMemo<V1Container>(ENTRIES);
  readonly agentContainers = new BoundedMemo<V1Container>(ENTRIES);
  /** The volumes every injected Pod gets (one entry: they depend on nothing). */
  readonly agentVolumes = new BoundedMemo<readonly V1Volume[]>(1);
  private settings: object | undefined;

  /** Starts over when called with other settings than last time (a webhook has one; tests vary them). */
  forSettings(settings: object): this {
    if (settings !== this.settings) {
      this.settings = settings;
      this.bootstrapArguments.clear();
      this.initContainers.clear();
      this.proxyContainers.clear();
      this.agentContainers.clear();
      this.agentVolumes.clear();
    }
    return this;
  }
}
