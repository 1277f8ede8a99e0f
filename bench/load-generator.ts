// An HTTPS load generator for the webhook benchmark, run in its own process (the server must not
// share an event loop with its load). Two modes:
//
// - closed loop (no --rate): every connection sends its next request as soon as the previous
//   answer is in, like autocannon; latency is from the write to the end of the answer.
// - open loop (--rate R): request i is due at start + i/R whatever happened before (the API
//   server does not wait for one admission to finish before sending the next). A due request
//   goes out on an idle keep-alive connection, or waits for one; its latency is measured from
//   when it was DUE, so time spent waiting behind a slow answer counts (coordinated omission
//   corrected by construction, not by adding estimated samples afterwards).
//
// autocannon's fixed rate (-R) is not used for latency because it is neither: each connection
// sends its per-second share back to back as fast as answers come, then idles until its 1 s
// interval ends, so the server sees every connection at full speed for the first part of each
// second; its correction then adds samples as if requests were due every ceil(1000 / share) ms
// (1 ms for 62/s per connection), and it records whole milliseconds.
//
// Timing: due times come from a worker thread that sleeps with Atomics.wait (sub-millisecond, not
// rounded to libuv's 1 ms timers, and no busy spin stealing a core from the server) and wakes
// this thread, which sends everything due by its own monotonic clock. Latencies are kept as
// individual samples in microseconds and sorted at the end (exact percentiles, no histogram
// buckets). Every request carries its own AdmissionReview uid and every answer must be a 200 that
// echoes it; the first answer must hold a JSONPatch.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface LoadGeneratorOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** PEM of the CA the server's certificate must chain to. */
  readonly caFile: string;
  readonly servername: string;
  /** The request body; every occurrence of `uidPlaceholder` is replaced by a fresh uid per request. */
  readonly bodyFile: string;
  readonly uidPlaceholder: string;
  readonly connections: number;
  readonly seconds: number;
  /** Requests per second (open loop); undefined: closed loop, as fast as the connections go. */
  readonly rate?: number;
  /**
   * What the first answer must be: an injection (a JSONPatch, the default), or only `allowed`
   * (the bare HTTPS floor the webhook is compared with, which patches nothing).
   */
  readonly expect?: 'injection' | 'allowed';
}

export interface LoadReport {
  readonly mode: 'open-loop' | 'closed-loop';
  readonly connections: number;
  readonly rate?: number;
  readonly durationSeconds: number;
  /** Requests answered with a verified 200. */
  readonly total: number;
  readonly requestsPerSecond: number;
  /** Open loop: from due time; closed loop: from the write. Milliseconds, microsecond resolution. */
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number };
  /** Open loop only: how late requests went on the wire after they were due (queueing + timer). */
  readonly sendLagMs?: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Open loop only: from the write to the answer (what a closed-loop tool would report). */
  readonly serviceMs?: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Connection errors, timeouts, answers that were not a parseable response or lacked the uid. */
  readonly errors: number;
  readonly non2xx: number;
  /** Idle connections the server closed (keep-alive timeout), reopened without losing a request. */
  readonly reconnects: number;
  readonly firstError?: string;
}

const TIMEOUT_MS = 10_000;
const UID_LENGTH = 36;

/** Monotonic clock in milliseconds with sub-microsecond resolution, the same in every thread. */
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A uid of the same length as a UUID, unique per request of a run. */
export function requestUid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentileOf(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** One request's bytes: a template with the uid's offsets, so a request is one copy and a few small writes. */
export class RequestTemplate {
  private readonly bytes: Buffer;
  private readonly uidOffsets: number[] = [];

  constructor(host: string, path: string, body: string, uidPlaceholder: string) {
    if (uidPlaceholder.length !== UID_LENGTH) throw new Error(`uid placeholder must be ${UID_LENGTH} characters, got ${uidPlaceholder.length}`);
    const bodyBytes = Buffer.from(body);
    const head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\naccept: application/json\r\n` +
      `content-length: ${bodyBytes.length}\r\n\r\n`;
    this.bytes = Buffer.concat([Buffer.from(head), bodyBytes]);
    const needle = Buffer.from(uidPlaceholder);
    for (let at = this.bytes.indexOf(needle); at >= 0; at = this.bytes.indexOf(needle, at + needle.length)) this.uidOffsets.push(at);
    if (this.uidOffsets.length === 0) throw new Error(`request body does not contain the uid placeholder ${uidPlaceholder}`);
  }

  build(uid: string): Buffer {
    const out = Buffer.from(this.bytes);
    for (const at of this.uidOffsets) out.write(uid, at, 'latin1');
    return out;
  }
}

export interface ParsedResponse {
  readonly status: number;
  readonly body: Buffer;
}

/**
 * Incremental HTTP/1.1 response reader for one keep-alive connection: answers with a
 * Content-Length (what fastify sends). Returns the responses completed by a chunk.
 */
export class ResponseReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ParsedResponse[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: ParsedResponse[] = [];
    for (;;) {
      const end = this.buffered.indexOf('\r\n\r\n');
      if (end < 0) return out;
      const head = this.buffered.toString('latin1', 0, end);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (!status) throw new Error(`not an HTTP/1.1 response: ${JSON.stringify(head.slice(0, 80))}`);
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!length) throw new Error(`response without content-length (chunked answers are not supported): ${JSON.stringify(head.slice(0, 200))}`);
      const total = end + 4 + Number(length[1]);
      if (this.buffered.length < total) return out;
      out.push({ status: Number(status[1]), body: this.buffered.subarray(end + 4, total) });
      this.buffered = this.buffered.subarray(total);
    }
  }
}

/** The first answer must be an AdmissionReview allowing the Pod with a non-empty JSONPatch (or, expecting `allowed`, allowing it). */
export function checkInjection(body: Buffer, uid: string, expect: 'injection' | 'allowed' = 'injection'): string | undefined {
  try {
    const review = JSON.parse(body.toString()) as { response?: { uid?: string; allowed?: boolean; patchType?: string; patch?: string } };
    const r = review.response;
    if (r?.uid !== uid) return `answer has uid ${String(r?.uid)}, expected ${uid}`;
    if (expect === 'allowed') return r.allowed === true ? undefined : `answer does not allow the Pod: ${body.toString().slice(0, 300)}`;
    if (!r.allowed || r.patchType !== 'JSONPatch' || !r.patch) return `answer is not an injection: ${body.toString().slice(0, 300)}`;
    const ops = JSON.parse(Buffer.from(r.patch, 'base64').toString()) as unknown;
    if (!Array.isArray(ops) || ops.length === 0) return 'answer has an empty JSONPatch';
    return undefined;
  } catch (err) {
    return `answer is not an AdmissionReview: ${String(err)}: ${body.toString().slice(0, 300)}`;
  }
}

interface InFlight {
  readonly uid: string;
  /** `"uid":"<uid>"` as the answer must contain it. */
  readonly echo: Buffer;
  /** When the request was due (open loop) or written (closed loop). */
  readonly from: number;
  readonly sentAt: number;
}

class Connection {
  private socket: tls.TLSSocket | undefined;
  private reader = new ResponseReader();
  inFlight: InFlight | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: LoadGeneratorOptions,
    private readonly ca: string,
    private readonly events: {
      ready(c: Connection): void;
      answer(c: Connection, req: InFlight, res: ParsedResponse): void;
      failure(c: Connection, reason: string): void;
      closedIdle(c: Connection): void;
    },
  ) {}

  connect(): void {
    this.reader = new ResponseReader();
    const socket = tls.connect({ host: this.o.host, port: this.o.port, ca: this.ca, servername: this.o.servername });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.once('secureConnect', () => this.events.ready(this));
    socket.on('data', (chunk: Buffer) => {
      let answers: ParsedResponse[];
      try {
        answers = this.reader.push(chunk);
      } catch (err) {
        this.fail(String(err));
        return;
      }
      for (const res of answers) {
        const req = this.inFlight;
        if (!req) {
          this.fail('answer without a request');
          return;
        }
        this.inFlight = undefined;
        clearTimeout(this.timer);
        this.events.answer(this, req, res);
      }
    });
    socket.on('error', (err) => this.fail(err.message));
    socket.on('close', () => {
      // An idle keep-alive connection the server closed is not a failed request: reconnect.
      if (this.inFlight) this.fail('connection closed by the server with a request in flight');
      else this.reconnectIdle();
    });
  }

  private reconnectIdle(): void {
    this.close();
    this.events.closedIdle(this);
    this.connect();
  }

  send(req: InFlight, bytes: Buffer): void {
    this.inFlight = req;
    this.socket!.write(bytes);
    this.timer = setTimeout(() => this.fail(`no answer within ${TIMEOUT_MS} ms`), TIMEOUT_MS);
  }

  /** A request in flight is lost (not retried: the API server would not see its answer either). */
  private fail(reason: string): void {
    if (!this.socket) return;
    this.close();
    this.inFlight = undefined;
    this.events.failure(this, reason);
  }

  close(): void {
    clearTimeout(this.timer);
    if (!this.socket) return;
    this.socket.removeAllListeners();
    this.socket.on('error', () => { /* closing */ });
    this.socket.destroy();
    this.socket = undefined;
  }
}

interface TickerPlan {
  readonly startMs: number;
  readonly intervalMs: number;
  readonly count: number;
}

/** The due-time ticker: wakes the main thread at each request's due time, sleeping in between. */
function runTicker(d: TickerPlan): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < d.count; i++) {
    const wait = d.startMs + i * d.intervalMs - nowMs();
    if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
    parentPort!.postMessage(i);
  }
}

/** Gives up after this many failures (a server that is down would otherwise be reconnected forever). */
const MAX_ERRORS = 100;

export async function generateLoad(o: LoadGeneratorOptions): Promise<LoadReport> {
  const ca = readFileSync(o.caFile, 'utf8');
  const template = new RequestTemplate(`${o.host}:${o.port}`, o.path, readFileSync(o.bodyFile, 'utf8'), o.uidPlaceholder);
  const rate = o.rate;
  const open = rate !== undefined;
  const intervalMs = open ? 1000 / rate : 0;
  const planned = open ? Math.round(rate * o.seconds) : Number.POSITIVE_INFINITY;
  let latencies = new Float64Array(open ? planned : 1 << 16);
  const lags = new Float64Array(open ? planned : 0);
  const services = new Float64Array(open ? planned : 0);
  let answered = 0, errors = 0, non2xx = 0, reconnects = 0, issued = 0, madeDue = 0, verifiedFirst = false;
  let firstError: string | undefined;

  const idle: Connection[] = [];
  const due: number[] = [];
  let dueHead = 0;
  let started = false, stopped = false;
  let startMs = 0, stopIssuingAt = Number.POSITIVE_INFINITY;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => { finish = r; });
  let allReady: () => void = () => {};
  const connected = new Promise<void>((r) => { allReady = r; });
  let readyCount = 0;

  const dropIdle = (c: Connection): void => {
    const at = idle.indexOf(c);
    if (at >= 0) idle.splice(at, 1);
  };
  const noteError = (reason: string): void => {
    errors++;
    firstError ??= reason;
  };
  const sendOn = (c: Connection, from: number): void => {
    const uid = requestUid(issued++);
    const bytes = template.build(uid);
    c.send({ uid, echo: Buffer.from(`"uid":"${uid}"`), from, sentAt: nowMs() }, bytes);
  };
  const maybeFinish = (): void => {
    if (stopped) return;
    const done = errors >= MAX_ERRORS || (open ? issued >= planned : nowMs() >= stopIssuingAt);
    if (done && (errors >= MAX_ERRORS || conns.every((c) => !c.inFlight))) {
      stopped = true;
      finish();
    }
  };
  const pump = (): void => {
    if (!started || stopped) return;
    if (open) {
      const now = nowMs();
      while (madeDue < planned && startMs + madeDue * intervalMs <= now) due.push(startMs + madeDue++ * intervalMs);
      while (dueHead < due.length && idle.length > 0) {
        const from = due[dueHead++];
        lags[issued] = nowMs() - from;
        sendOn(idle.pop()!, from);
      }
      if (dueHead === due.length) { due.length = 0; dueHead = 0; }
    } else {
      while (idle.length > 0 && nowMs() < stopIssuingAt) sendOn(idle.pop()!, nowMs());
    }
    maybeFinish();
  };

  const conns: Connection[] = Array.from({ length: o.connections }, () => new Connection(o, ca, {
    ready(c) {
      idle.push(c);
      if (started) pump();
      else if (++readyCount === o.connections) allReady();
    },
    answer(c, req, res) {
      const end = nowMs();
      if (res.status < 200 || res.status >= 300) {
        non2xx++;
        firstError ??= `HTTP ${res.status}: ${res.body.toString().slice(0, 200)}`;
      } else if (res.body.indexOf(req.echo) < 0) {
        noteError(`answer does not echo uid ${req.uid}: ${res.body.toString().slice(0, 200)}`);
      } else {
        if (!verifiedFirst) {
          verifiedFirst = true;
          const problem = checkInjection(res.body, req.uid, o.expect);
          if (problem) noteError(problem);
        }
        if (answered === latencies.length) {
          const bigger = new Float64Array(latencies.length * 2);
          bigger.set(latencies);
          latencies = bigger;
        }
        if (open) services[answered] = end - req.sentAt;
        latencies[answered++] = end - req.from;
      }
      idle.push(c);
      pump();
    },
    closedIdle(c) {
      reconnects++;
      dropIdle(c);
    },
    failure(c, reason) {
      dropIdle(c);
      noteError(reason);
      if (stopped) return;
      if (errors < MAX_ERRORS) c.connect();
      maybeFinish();
    },
  }));
  for (const c of conns) c.connect();
  await connected;
  // Measured from here, with every connection up: TLS handshakes are not part of an admission.
  started = true;
  startMs = nowMs() + 20;
  let ticker: Worker | undefined;
  if (open) {
    const plan: TickerPlan = { startMs, intervalMs, count: planned };
    ticker = new Worker(new URL(import.meta.url), { workerData: plan });
    ticker.on('message', pump);
    ticker.on('error', (err) => { noteError(`ticker: ${err.message}`); stopped = true; finish(); });
  } else {
    stopIssuingAt = startMs + o.seconds * 1000;
    const begin = setTimeout(pump, 20);
    const end = setTimeout(maybeFinish, 20 + o.seconds * 1000 + 1);
    void finished.then(() => { clearTimeout(begin); clearTimeout(end); });
  }
  await finished;
  const elapsed = (open ? Math.max(nowMs(), startMs + o.seconds * 1000) : stopIssuingAt) - startMs;
  if (ticker) await ticker.terminate();
  for (const c of conns) c.close();

  const sorted = latencies.slice(0, answered).sort();
  const pick = (p: number): number => Math.round(percentileOf(sorted, p) * 1000) / 1000;
  const report: LoadReport = {
    mode: open ? 'open-loop' : 'closed-loop', connections: o.connections, rate,
    durationSeconds: elapsed / 1000, total: answered, requestsPerSecond: answered / (elapsed / 1000),
    latencyMs: { p50: pick(50), p90: pick(90), p99: pick(99), p999: pick(99.9), max: pick(100) },
    errors, non2xx, reconnects, firstError,
  };
  if (!open) return report;
  const summary = (values: Float64Array): { p50: number; p99: number; max: number } => {
    const v = values.sort();
    const at = (p: number): number => Math.round(percentileOf(v, p) * 1000) / 1000;
    return { p50: at(50), p99: at(99), max: at(100) };
  };
  return { ...report, sendLagMs: summary(lags.slice(0, issued)), serviceMs: summary(services.slice(0, answered)) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string' }, path: { type: 'string', default: '/' },
      ca: { type: 'string' }, servername: { type: 'string', default: 'localhost' },
      body: { type: 'string' }, 'uid-placeholder': { type: 'string' },
      connections: { type: 'string', default: '16' }, seconds: { type: 'string', default: '10' }, rate: { type: 'string' },
      expect: { type: 'string', default: 'injection' },
    },
  });
  const need = (name: string, v: string | undefined): string => {
    if (v === undefined) throw new Error(`load-generator: --${name} is required`);
    return v;
  };
  const report = await generateLoad({
    host: values.host!, port: Number(need('port', values.port)), path: values.path!, caFile: need('ca', values.ca),
    servername: values.servername!, bodyFile: need('body', values.body), uidPlaceholder: need('uid-placeholder', values['uid-placeholder']),
    connections: Number(values.connections), seconds: Number(values.seconds),
    rate: values.rate === undefined ? undefined : Number(values.rate),
    expect: values.expect === 'allowed' ? 'allowed' : 'injection',
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (!isMainThread) {
  runTicker(workerData as TickerPlan);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
