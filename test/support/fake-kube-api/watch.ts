// One open watch: a chunked HTTP response carrying newline-delimited JSON events, filtered by
// namespace and selectors the way the real server filters them (an object that stops matching is
// sent as DELETED, one that starts matching as ADDED). It can be stalled (kept open, fed nothing),
// ended cleanly (as a server-side timeout does) or reset (as a crashed server or broken network does).
import type { ServerResponse } from 'node:http';
import { apiVersionOf, typeKey } from './resources.js';
import type { Selector } from './selectors.js';
import type { ObjectStore } from './store.js';
import type { HistoryEvent, KubeObject, ResourceType, StatusObject, WatchEventType } from './types.js';

export interface WatchInfo {
  readonly id: number;
  readonly path: string;
  readonly group: string;
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly labelSelector: string | undefined;
  readonly fieldSelector: string | undefined;
  /** The resourceVersion the client asked to start from ('' when none). */
  readonly resourceVersion: string;
  readonly allowBookmarks: boolean;
}

export class WatchConnection {
  stalled = false;
  /** Events a stalled watch swallowed: lets a test prove the client cannot have seen them. */
  withheld = 0;
  delivered = 0;
  private closed = false;
  private readonly closeCallbacks: (() => void)[] = [];

  constructor(
    readonly info: WatchInfo,
    readonly rt: ResourceType,
    private readonly matches: Selector,
    private readonly res: ServerResponse,
  ) {
    res.on('close', () => this.markClosed());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClose(callback: () => void): void {
    if (this.closed) callback();
    else this.closeCallbacks.push(callback);
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const callback of this.closeCallbacks.splice(0)) callback();
  }

  private inScope(obj: KubeObject): boolean {
    return (this.info.namespace === undefined || obj.metadata.namespace === this.info.namespace) && this.matches(obj);
  }

  write(type: WatchEventType, object: KubeObject | StatusObject): void {
    if (this.closed) return;
    this.res.write(`${JSON.stringify({ type, object })}\n`);
    this.delivered++;
  }

  /** The event this watch should see for a committed change, if any (before stall handling). */
  translate(event: HistoryEvent): WatchEventType | undefined {
    switch (event.type) {
      case 'ADDED': return this.inScope(event.object) ? 'ADDED' : undefined;
      case 'DELETED': return this.inScope(event.previous ?? event.object) ? 'DELETED' : undefined;
      case 'MODIFIED': {
        const now = this.inScope(event.object);
        const before = event.previous !== undefined && this.inScope(event.previous);
        if (now && before) return 'MODIFIED';
        if (now) return 'ADDED';
        if (before) return 'DELETED';
        return undefined;
      }
    }
  }

  deliver(event: HistoryEvent): void {
    const type = this.translate(event);
    if (type === undefined) return;
    if (this.stalled) {
      this.withheld++;
      return;
    }
    this.write(type, event.object);
  }

  /** Synthetic ADDED events for the current state (a watch without a resourceVersion starts with them). */
  initial(objects: readonly KubeObject[]): void {
    for (const obj of objects) {
      if (!this.inScope(obj)) continue;
      if (this.stalled) this.withheld++;
      else this.write('ADDED', obj);
    }
  }

  bookmark(resourceVersion: string, annotations?: Record<string, string>): void {
    if (!this.info.allowBookmarks || this.stalled) return;
    const metadata: Record<string, unknown> = { resourceVersion };
    if (annotations) metadata.annotations = annotations;
    this.write('BOOKMARK', { apiVersion: apiVersionOf(this.rt), kind: this.rt.kind, metadata } as KubeObject);
  }

  /** Clean end of the chunked stream, like the server's own watch timeout. */
  end(): void {
    if (this.closed) return;
    this.res.end();
    this.markClosed();
  }

  /** Abrupt loss of the connection: the socket goes away mid-stream. */
  reset(): void {
    if (this.closed) return;
    this.res.socket?.destroy();
    this.markClosed();
  }
}

/** Which open watches a fault applies to; every field that is set must match. */
export interface WatchMatcher {
  group?: string;
  resource?: string;
  namespace?: string;
  path?: string | RegExp;
}

export function matchesWatch(info: WatchInfo, m: WatchMatcher | undefined): boolean {
  if (!m) return true;
  if (m.group !== undefined && m.group !== info.group) return false;
  if (m.resource !== undefined && m.resource !== info.resource) return false;
  if (m.namespace !== undefined && m.namespace !== info.namespace) return false;
  if (typeof m.path === 'string' && m.path !== info.path) return false;
  if (m.path instanceof RegExp && !m.path.test(info.path)) return false;
  return true;
}

/** All open watches, fed every committed change in commit order. */
export class WatchHub {
  private readonly connections = new Set<WatchConnection>();
  private nextId = 1;
  /** New watches matching this start stalled (set by stallWatches({ includeNew: true })). */
  stallNew: WatchMatcher | undefined;
  private readonly changeListeners = new Set<() => void>();

  constructor(store: ObjectStore) {
    store.subscribe((event) => {
      for (const conn of this.connections) if (typeKey(conn.rt) === event.typeKey) conn.deliver(event);
    });
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(): void {
    for (const listener of [...this.changeListeners]) listener();
  }

  open(info: Omit<WatchInfo, 'id'>, rt: ResourceType, matches: Selector, res: ServerResponse): WatchConnection {
    const conn = new WatchConnection({ ...info, id: this.nextId++ }, rt, matches, res);
    if (this.stallNew && matchesWatch(conn.info, this.stallNew)) conn.stalled = true;
    this.connections.add(conn);
    conn.onClose(() => {
      this.connections.delete(conn);
      this.changed();
    });
    this.changed();
    return conn;
  }

  find(m?: WatchMatcher): WatchConnection[] {
    return [...this.connections].filter((conn) => !conn.isClosed && matchesWatch(conn.info, m));
  }

  bookmarkAll(resourceVersion: string): void {
    for (const conn of this.connections) conn.bookmark(resourceVersion);
  }
}
