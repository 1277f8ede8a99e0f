// Who a custom object is, as the model carries it so status can be written back and conflicts
// decided (the oldest object wins).
export interface ObjectIdentity {
  readonly namespace: string;
  readonly name: string;
  /** metadata.generation; absent for objects from files. Conditions report it as observedGeneration. */
  readonly generation?: number;
  readonly uid?: string;
  readonly resourceVersion?: string;
  /**
   * metadata.creationTimestamp as RFC 3339; absent for objects from files. When two objects claim
   * the same thing the older one wins; objects without a timestamp count as newest.
   */
  readonly creationTimestamp?: string;
}
