// Stands in for the Kubernetes Service in front of the control plane's replicas, as the proxies
// see it: each new connection goes to one replica, the one with the fewest connections (kube-
// proxy's IPVS `lc` scheduler), skipping the ones this client just failed to reach. A connection
// counts from the moment it is picked (as IPVS counts it from its SYN), so a burst of reconnects
// does not all land on the same replica; the test releases it when it closes or fails.
export class ReplicaPicker {
  private readonly counts: number[];
  private turn = 0;

  constructor(readonly addresses: readonly string[]) {
    this.counts = addresses.map(() => 0);
  }

  /** The replica for a new connection (counted there until released), or undefined when every replica is in `exclude`. */
  pick(exclude: ReadonlySet<number> = new Set()): number | undefined {
    let best: number | undefined;
    // Ties go round robin, so equal replicas share a burst of new connections.
    for (let k = 0; k < this.addresses.length; k++) {
      const i = (this.turn + k) % this.addresses.length;
      if (exclude.has(i)) continue;
      if (best === undefined || this.counts[i] < this.counts[best]) best = i;
    }
    if (best !== undefined) {
      this.turn = (best + 1) % this.addresses.length;
      this.counts[best]++;
    }
    return best;
  }

  /** The connection picked for `replica` failed or closed. */
  release(replica: number): void {
    this.counts[replica]--;
  }

  /** Open connections per replica. */
  distribution(): readonly number[] {
    return [...this.counts];
  }
}
