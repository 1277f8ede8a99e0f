// Where the CA material lives. Several pilotfish replicas start at once and must end up with one
// root, so creation is create-if-absent: the first writer wins and everybody else, the first
// writer included, goes on with what is stored. A store never overwrites material it finds
// (an operator's plugged-in CA, or another replica's root).
import type { CaFiles } from './ca-files.js';

export interface CaStore {
  /** For messages: "directory /var/lib/pilotfish/ca", "Secret pilotfish-system/pilotfish-ca". */
  readonly description: string;
  /** The stored material (possibly incomplete: validation says what is missing), or undefined when nothing is stored. */
  read(): Promise<CaFiles | undefined>;
  /** Stores `files` unless material is already there; returns what is stored afterwards. */
  createIfAbsent(files: CaFiles): Promise<CaFiles>;
  /**
   * Calls `onChange` when the material may have changed (a hint: the reader reads and compares);
   * returns the function that stops watching. Absent when the store has no change events (a Secret
   * read with GET only): the reloader's poll covers it.
   */
  watch?(onChange: () => void): () => void;
}
