// Starts a real xDS server on 127.0.0.1 over a FakeProxyViews, records its events and logs,
// and opens clients against it.
import { EventEmitter, once } from 'node:events';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/logging.js';
import type { NodeInfo } from '../../../src/xds/node-info.js';
import type { XdsEvents } from '../../../src/xds/server/events.js';
import { startXdsServer, type XdsServer } from '../../../src/xds/server/index.js';
import { AdsClient, DeltaAdsClient, type ConnectOptions } from '../../support/ads-client.js';
import { FakeProxyViews } from '../../support/fake-proxy-views.js';

type EventName = keyof XdsEvents;
type EventInfo<K extends EventName> = Parameters<NonNullable<XdsEvents[K]>>[0];

/** Every XdsEvents callback, kept in order and awaitable. */
export class RecordedEvents extends EventEmitter implements XdsEvents {
  readonly log: { kind: EventName; info: unknown }[] = [];

  private record<K extends EventName>(kind: K, info: EventInfo<K>): void {
    this.log.push({ kind, info });
    this.emit(kind, info);
  }

  streamOpened(i: EventInfo<'streamOpened'>): void { this.record('streamOpened', i); }
  streamClosed(i: EventInfo<'streamClosed'>): void { this.record('streamClosed', i); }
  sent(i: EventInfo<'sent'>): void { this.record('sent', i); }
  acked(i: EventInfo<'acked'>): void { this.record('acked', i); }
  nacked(i: EventInfo<'nacked'>): void { this.record('nacked', i); }

  all<K extends EventName>(kind: K): EventInfo<K>[] {
    return this.log.filter((e) => e.kind === kind).map((e) => e.info as EventInfo<K>);
  }

  /** Resolves on the first (past or future) event of this kind that matches. */
  async waitFor<K extends EventName>(kind: K, match: (i: EventInfo<K>) => boolean = () => true): Promise<EventInfo<K>> {
    const past = this.all(kind).find(match);
    if (past) return past;
    for (;;) {
      const [info] = (await once(this, kind)) as [EventInfo<K>];
      if (match(info)) return info;
    }
  }
}

export interface Harness {
  readonly server: XdsServer;
  readonly source: FakeProxyViews;
  readonly events: RecordedEvents;
  /** Every log entry the server wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  readonly address: string;
  sotw(node?: NodeInfo | null, opts?: ConnectOptions): Promise<AdsClient>;
  delta(node?: NodeInfo | null, opts?: ConnectOptions): Promise<DeltaAdsClient>;
  stop(): Promise<void>;
}

export const NODE: NodeInfo = {
  id: 'sidecar~10.0.0.7~web-1.shop~shop.svc.cluster.local',
  cluster: 'web',
  metadata: { NAMESPACE: 'shop', LABELS: { app: 'web' }, PILOTFISH_KIND: 'sidecar' },
};

export async function startHarness(source = new FakeProxyViews()): Promise<Harness> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const events = new RecordedEvents();
  const server = await startXdsServer({
    address: '127.0.0.1:0', source, events, logger: createLogger('debug', sink), shutdownGraceMs: 2000,
  });
  const address = `127.0.0.1:${server.port}`;
  const clients: { close(): void }[] = [];
  return {
    server, source, events, logs, address,
    async sotw(node = NODE, opts) {
      const c = await AdsClient.connect(address, node ?? undefined, opts);
      clients.push(c);
      return c;
    },
    async delta(node = NODE, opts) {
      const c = await DeltaAdsClient.connect(address, node ?? undefined, opts);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await server.close();
    },
  };
}
