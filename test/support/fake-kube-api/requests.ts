// What the fake was asked, and which faults it should inject: tests assert on the first ("exactly
// one status write happened") and script the second ("the next two lists fail with 500").
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface RequestRecord {
  readonly id: number;
  readonly method: string;
  /** URL path without the query. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly verb: Verb;
  /** '' for the core group and for non-resource paths (/version, /healthz, discovery). */
  readonly group: string;
  readonly version: string;
  /** '' for non-resource paths. */
  readonly resource: string;
  readonly subresource: string | undefined;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly contentType: string | undefined;
  /** HTTP status answered (for a watch: the status its headers carried); 0 for a hung request. */
  status: number;
  /** Set when an injected fault produced the answer. */
  faulted: boolean;
}

export interface RequestMatcher {
  method?: string;
  verb?: Verb | readonly Verb[];
  group?: string;
  resource?: string;
  /** 'status' for /status writes; null to match only requests to the main resource. */
  subresource?: string | null;
  namespace?: string;
  name?: string;
  /** Exact URL path, or a pattern tested against it. */
  path?: string | RegExp;
  status?: number;
}

export function matchesRequest(record: RequestRecord, m: RequestMatcher): boolean {
  if (m.method !== undefined && m.method.toUpperCase() !== record.method) return false;
  if (m.verb !== undefined) {
    const verbs: readonly Verb[] = typeof m.verb === 'string' ? [m.verb] : m.verb;
    if (!verbs.includes(record.verb)) return false;
  }
  if (m.group !== undefined && m.group !== record.group) return false;
  if (m.resource !== undefined && m.resource !== record.resource) return false;
  if (m.subresource !== undefined && (m.subresource ?? undefined) !== record.subresource) return false;
  if (m.namespace !== undefined && m.namespace !== record.namespace) return false;
  if (m.name !== undefined && m.name !== record.name) return false;
  if (m.status !== undefined && m.status !== record.status) return false;
  if (typeof m.path === 'string' && m.path !== record.path) return false;
  if (m.path instanceof RegExp && !m.path.test(record.path)) return false;
  return true;
}

export interface FaultSpec {
  /** HTTP status to answer with (429, 500, 503, 410, ...); ignored with `hang`. */
  status: number;
  /**
   * Accept the request and never answer, not even headers: only the client's own timeout (if it has
   * one) or closing the server ends it. The record is listed with status 0.
   */
  hang?: boolean;
  /** How many matching requests fail; default 1. */
  count?: number;
  message?: string;
  /** Sent as Retry-After and in the Status details (what the client should wait before retrying). */
  retryAfterSeconds?: number;
  /**
   * For watches only: answer 200, send one ERROR event carrying a Status with this code, then end the
   * stream. That is how the real server reports an expired resourceVersion (410) on a watch.
   */
  asWatchEvent?: boolean;
}

export interface Fault {
  readonly matcher: RequestMatcher;
  readonly spec: FaultSpec;
  /** Matching requests still to fail. */
  remaining: number;
  /** Requests this fault has answered so far. */
  fired: number;
}

export class FaultTable {
  private readonly faults: Fault[] = [];

  add(matcher: RequestMatcher, spec: FaultSpec): Fault {
    const fault: Fault = { matcher, spec, remaining: spec.count ?? 1, fired: 0 };
    this.faults.push(fault);
    return fault;
  }

  /** The fault that claims this request, consuming one of its uses. */
  take(record: RequestRecord): Fault | undefined {
    const fault = this.faults.find((f) => f.remaining > 0 && matchesRequest(record, { ...f.matcher, status: undefined }));
    if (!fault) return undefined;
    fault.remaining--;
    fault.fired++;
    return fault;
  }

  clear(): void {
    this.faults.length = 0;
  }
}

/** Every request, in arrival order; listeners hear about each one once it has been answered. */
export class RequestLog {
  private readonly records: RequestRecord[] = [];
  private readonly answered = new WeakSet<RequestRecord>();
  private nextId = 1;
  private readonly listeners = new Set<(record: RequestRecord) => void>();

  begin(fields: Omit<RequestRecord, 'id' | 'status' | 'faulted'>): RequestRecord {
    const record: RequestRecord = { ...fields, id: this.nextId++, status: 0, faulted: false };
    this.records.push(record);
    return record;
  }

  finish(record: RequestRecord, status: number): void {
    if (this.answered.has(record)) return;
    this.answered.add(record);
    record.status = status;
    for (const listener of [...this.listeners]) listener(record);
  }

  /** Answered requests matching `m` (all when omitted). */
  find(m?: RequestMatcher): RequestRecord[] {
    return this.records.filter((r) => this.answered.has(r) && (!m || matchesRequest(r, m)));
  }

  clear(): void {
    this.records.length = 0;
  }

  onFinish(listener: (record: RequestRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
