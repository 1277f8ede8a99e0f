// A push sends every Delta proxy the same few changed resources (a new service's cluster, its
// assignment, the route configuration of its port: ~130 kB): the version and encoding are made
// once per content, not per stream. Keyed by what the response says (names, versions, removals).
import type { XdsResource } from '../proxy-view.js';
import { encodeDeltaBody } from './codec.js';
import { IdleTimer } from './idle-timer.js';
import { deltaVersion } from './version.js';

/** Responses carrying at most this many resources are shared by content. */
export const SHARED_CHANGE_MAX = 16;
/** Bounded by bytes, least recently used out: enough for the responses of one push. */
const CHANGE_CACHE_BYTES = 8 << 20;

interface ChangeResponse {
  readonly version: string;
  readonly body: Buffer;
}

export class DeltaChanges {
  private readonly responses = new Map<string, ChangeResponse>();
  private bytes = 0;
  /** Emptied when a push is over, like the shared bodies (see BodyCache). */
  private readonly idle = new IdleTimer(2_000, () => {
    this.responses.clear();
    this.bytes = 0;
  });

  response(typeUrl: string, send: readonly XdsResource[], removed: readonly string[]): ChangeResponse {
    this.idle.touch();
    let key = typeUrl;
    for (const r of send) key += `\n${r.name}\t${r.version}`;
    for (const name of removed) key += `\n-${name}`;
    let hit = this.responses.get(key);
    if (hit) {
      this.responses.delete(key);
      this.responses.set(key, hit);
      return hit;
    }
    const version = deltaVersion(send, removed);
    hit = { version, body: encodeDeltaBody({ systemVersionInfo: version, typeUrl, resources: send, removed }) };
    this.responses.set(key, hit);
    this.bytes += hit.body.length + key.length;
    while (this.bytes > CHANGE_CACHE_BYTES && this.responses.size > 1) {
      const [oldKey, old] = this.responses.entries().next().value as [string, ChangeResponse];
      this.responses.delete(oldKey);
      this.bytes -= old.body.length + oldKey.length;
    }
    return hit;
  }
}
