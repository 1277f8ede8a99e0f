// Sources of truth (a config directory, the REST registry, the Kubernetes API) are
// interchangeable: each reports its whole current object set, and the store merges them.
import type { ObjectSet } from './objects.js';

export interface SourceSink {
  /** The source's complete current content; replaces what it reported before. */
  replace(source: string, objects: ObjectSet): void;
  /**
   * A change was seen now and its content follows (replace) or turns out to be nothing
   * (nothingChanged): a source that waits before reading (a settling file) lets the sink's own
   * wait start at the change instead of after it.
   */
  changeComing?(source: string): void;
  nothingChanged?(source: string): void;
}

export interface Source {
  /** Unique, human-readable name used in logs ("config-dir:/etc/pilotfish", "registry"). */
  readonly name: string;
  /** Resolves once the initial content has been reported (readiness waits for it). */
  start(sink: SourceSink): Promise<void>;
  stop(): Promise<void>;
}
