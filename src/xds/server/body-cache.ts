// Encoded response bodies shared by the streams that send the same thing (the proxies of one
// class, all connecting or all being pushed to at once). Bounded by bytes, least recently used
// first out: a mesh with a thousand workload classes would otherwise keep a megabyte-sized
// body per class alive for as long as the class exists, long after the burst that needed it.
import type { ResourceMap } from '../proxy-view.js';
import { IdleTimer } from './idle-timer.js';

export class BodyCache {
  /** Insertion order is recency order: a hit moves the map's entry to the end. */
  private readonly byMap = new Map<ResourceMap, Map<string, Buffer>>();
  private bytes = 0;
  private readonly idle: IdleTimer;

  /**
   * Bodies are shared within a burst (a push, a connect storm); once nothing has used the cache
   * for `idleMs`, it is emptied, so a mesh at rest does not keep the last burst's megabytes.
   */
  constructor(private readonly maxBytes: number, idleMs = 2_000, onIdleClear: () => void = () => undefined) {
    this.idle = new IdleTimer(idleMs, () => {
      this.clear();
      onIdleClear();
    });
  }

  clear(): void {
    this.byMap.clear();
    this.bytes = 0;
  }

  get(map: ResourceMap, key: string): Buffer | undefined {
    this.idle.touch();
    const inner = this.byMap.get(map);
    const body = inner?.get(key);
    if (inner && body) {
      this.byMap.delete(map);
      this.byMap.set(map, inner);
    }
    return body;
  }

  set(map: ResourceMap, key: string, body: Buffer): void {
    this.idle.touch();
    let inner = this.byMap.get(map);
    if (inner) this.byMap.delete(map);
    else inner = new Map();
    const old = inner.get(key);
    if (old) this.bytes -= old.length;
    inner.set(key, body);
    this.byMap.set(map, inner);
    this.bytes += body.length;
    while (this.bytes > this.maxBytes && this.byMap.size > 1) {
      const [oldest, entries] = this.byMap.entries().next().value as [ResourceMap, Map<string, Buffer>];
      if (oldest === map) break;
      for (const b of entries.values()) this.bytes -= b.length;
      this.byMap.delete(oldest);
    }
  }

  /** Returns the cached body or encodes, caches and returns it. */
  getOrSet(map: ResourceMap, key: string, encode: () => Buffer): Buffer {
    let body = this.get(map, key);
    if (!body) {
      body = encode();
      this.set(map, key, body);
    }
    return body;
  }

  get size(): number {
    return this.bytes;
  }
}
