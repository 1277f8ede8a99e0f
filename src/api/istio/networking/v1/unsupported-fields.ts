// What of an Istio object pilotfish leaves out, one entry per field, so nothing is dropped silently:
// validation carries the list into the object's status (analyze, config-dump, the log) and the
// leader turns it into a Kubernetes Event (Istio objects' status is not pilotfish's to write).
import type { IgnoredField } from '../../../../model/proxyless.js';
import { pathKey } from '../../../routing/v1alpha1/field-path.js';

/**
 * Entries kept per object; the rest are counted in one last entry. An object written for Istio can
 * use many fields pilotfish does not have, and every entry ends up in logs, Events and messages.
 */
export const MAX_UNSUPPORTED_FIELDS = 20;

export class UnsupportedFields {
  private readonly list: IgnoredField[] = [];
  private dropped = 0;

  add(path: string, reason: string): void {
    if (this.list.length < MAX_UNSUPPORTED_FIELDS) this.list.push({ path, reason });
    else this.dropped++;
  }

  /**
   * Reports every key of `obj` not in `handled`: with the reason `reasons` gives for it, else as a
   * field pilotfish does not know (a typo, or a field newer than this translation).
   */
  rest(obj: Readonly<Record<string, unknown>>, at: string, handled: readonly string[], reasons: Readonly<Record<string, string>> = {}): void {
    for (const key of Object.keys(obj)) {
      if (handled.includes(key)) continue;
      const path = `${at}.${pathKey(key)}`;
      this.add(path, Object.hasOwn(reasons, key) ? reasons[key] as string : 'not a field pilotfish translates; ignored');
    }
  }

  result(): readonly IgnoredField[] {
    if (this.dropped === 0) return [...this.list];
    return [...this.list, { path: '', reason: `and ${this.dropped} more unsupported field(s)` }];
  }
}
