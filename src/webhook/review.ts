// One AdmissionReview in, one answer out. Transport-free (server.ts does HTTPS), so every branch
// is testable without sockets; the fail-open rule lives here: an error of ours admits the Pod
// unchanged (with a warning the user sees) unless the operator chose `--on-error=deny`.
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../logging.js';
import { loggerAdmissionLog, type AdmissionLog } from './admission-log.js';
import { decideInjection, injectionRequested, WARNED_SKIPS, type DecisionPolicy } from './decision.js';
import { injectPod, type InjectorConfig } from './inject.js';
import { InjectionMemo } from './injection-memo.js';
import type { NamespaceLabelSource } from './kube.js';
import type { InjectionMetrics } from './injection-counters.js';
import { podPatchBase64 } from './patch.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export type OnError = 'allow' | 'deny';

interface AdmissionRequest {
  readonly uid: string;
  readonly kind?: { readonly group?: string; readonly version?: string; readonly kind?: string };
  readonly resource?: { readonly group?: string; readonly version?: string; readonly resource?: string };
  readonly subResource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly operation?: string;
  readonly object?: unknown;
}

interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
  status?: { code: number; message: string };
}

interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export interface ReviewDeps {
  readonly injector: InjectorConfig;
  readonly policy: DecisionPolicy;
  readonly namespaces: NamespaceLabelSource;
  readonly onError: OnError;
  readonly logger: Logger;
  /** Where each admission's result goes; by default `logger` at info. */
  readonly admissionLog?: AdmissionLog;
  readonly metrics: InjectionMetrics;
  /** The webhook instance's memo of per-workload parts (injection-memo.ts); none: nothing is reused. */
  readonly memo?: InjectionMemo;
}

type ReviewOutcome =
  | { readonly status: 200; readonly body: AdmissionReviewResponse }
  | { readonly status: 400; readonly body: { readonly error: string } };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(error: string): ReviewOutcome {
  return { status: 400, body: { error } };
}

function answer(response: AdmissionResponse): ReviewOutcome {
  return { status: 200, body: { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response } };
}

/** The answer's JSON text before the patch and after it (see admissionReviewJson). */
function answerParts(body: AdmissionReviewResponse): { head: string; tail: string } {
  const r = body.response;
  // Same key order as the responses are built in (uid, allowed, then the optional ones).
  let head = `{"apiVersion":${JSON.stringify(body.apiVersion)},"kind":${JSON.stringify(body.kind)},"response":{"uid":${JSON.stringify(r.uid)},"allowed":${r.allowed}`;
  if (r.patchType !== undefined) head += `,"patchType":${JSON.stringify(r.patchType)}`;
  let tail = '';
  // Always base64 (podPatchBase64): nothing to escape.
  if (r.patch !== undefined) {
    head += ',"patch":"';
    tail = '"';
  }
  if (r.warnings !== undefined) tail += `,"warnings":${JSON.stringify(r.warnings)}`;
  if (r.status !== undefined) tail += `,"status":${JSON.stringify(r.status)}`;
  return { head, tail: `${tail}}}` };
}

/**
 * The answer as JSON text, the same as JSON.stringify(body) gives. Written by hand because the
 * base64 patch is nearly all of it (10 kB for a typical Pod) and needs no escaping, which
 * JSON.stringify cannot know: it scans it, ~15 µs per answer against ~1 µs this way.
 */
export function admissionReviewJson(body: AdmissionReviewResponse): string {
  const { head, tail } = answerParts(body);
  return `${head}${body.response.patch ?? ''}${tail}`;
}

/**
 * The same text as UTF-8 bytes, as the server sends it: one buffer, the patch copied in as the
 * ASCII it is. Sending the string instead costs a flattening of the concatenation, a UTF-8 scan
 * to measure it and another to encode it, all over the 14 kB patch.
 */
export function admissionReviewBytes(body: AdmissionReviewResponse): Buffer {
  const { head, tail } = answerParts(body);
  const patch = body.response.patch ?? '';
  const headBytes = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(headBytes + patch.length + Buffer.byteLength(tail));
  out.write(head, 0, 'utf8');
  out.write(patch, headBytes, 'latin1');
  out.write(tail, headBytes + patch.length, 'utf8');
  return out;
}

/** The envelope's problems, or the request. */
function parseReview(body: unknown): { request: AdmissionRequest } | { error: string } {
  if (!isObject(body)) return { error: 'body is not a JSON object' };
  if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview') {
    return { error: `expected apiVersion ${ADMISSION_API_VERSION} kind AdmissionReview, got ${String(body.apiVersion)} ${String(body.kind)}` };
  }
  const request = body.request;
  if (!isObject(request)) return { error: 'AdmissionReview has no request' };
  if (typeof request.uid !== 'string' || request.uid === '') return { error: 'AdmissionReview request has no uid' };
  return { request: request as unknown as AdmissionRequest };
}

function podRef(req: AdmissionRequest, pod: V1Pod | undefined): { namespace: string; name: string } {
  const meta = pod?.metadata;
  const namespace = req.namespace || meta?.namespace || 'default';
  const name = meta?.name || req.name || (meta?.generateName ? `${meta.generateName}<generated>` : '<unnamed>');
  return { namespace, name };
}

export async function reviewAdmission(body: unknown, deps: ReviewDeps): Promise<ReviewOutcome> {
  const parsed = parseReview(body);
  if ('error' in parsed) return bad(parsed.error);
  const req = parsed.request;
  const { logger, metrics } = deps;
  const admissionLog = deps.admissionLog ?? loggerAdmissionLog(logger);

  const isPod = (req.kind?.group ?? '') === '' && req.kind?.kind === 'Pod';
  if (!isPod) {
    metrics.inc('ignored', 'not-a-pod');
    logger.debug('admission request ignored', { uid: req.uid, kind: req.kind?.kind, reason: 'not a Pod' });
    return answer({ uid: req.uid, allowed: true });
  }
  if (req.operation !== 'CREATE' || req.subResource) {
    metrics.inc('ignored', 'not-create');
    return answer({ uid: req.uid, allowed: true });
  }
  if (!isObject(req.object) || !isObject(req.object.spec)) {
    return bad('AdmissionReview request for a Pod CREATE has no Pod object with a spec');
  }
  const pod = req.object as unknown as V1Pod;
  const ref = podRef(req, pod);

  try {
    const namespaceLabels = await deps.namespaces.labels(ref.namespace);
    const input = { pod, namespace: ref.namespace, namespaceLabels };
    const decision = decideInjection(input, deps.policy);
    if (!decision.inject) {
      metrics.inc('skipped', decision.code);
      // Asked for a sidecar but set up so it cannot get one: say why where kubectl shows it.
      const warnings = WARNED_SKIPS.has(decision.code) && injectionRequested(input)
        ? [`pilotfish: sidecar not injected: ${decision.reason}`] : undefined;
      admissionLog.record({ ...ref, uid: req.uid, result: 'skipped', reason: decision.reason, ...(warnings ? { warnings } : {}) });
      return answer({ uid: req.uid, allowed: true, ...(warnings ? { warnings } : {}) });
    }
    const memo = deps.memo ?? new InjectionMemo();
    const result = injectPod(pod, deps.injector, memo);
    const patch = podPatchBase64(pod, result.pod, memo.frozen);
    metrics.inc('injected', decision.code);
    admissionLog.record({
      ...ref, uid: req.uid, result: 'injected', reason: decision.reason, reinjected: decision.reinject,
      operations: patch.operations, warnings: result.warnings,
    });
    const response: AdmissionResponse = { uid: req.uid, allowed: true };
    if (patch.operations > 0) {
      response.patchType = 'JSONPatch';
      response.patch = patch.base64;
    }
    if (result.warnings.length > 0) response.warnings = result.warnings.map((w) => `pilotfish: ${w}`);
    return answer(response);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    metrics.inc('error', 'internal');
    logger.error('sidecar injection failed', { ...ref, uid: req.uid, error: message, onError: deps.onError });
    if (deps.onError === 'deny') {
      return answer({ uid: req.uid, allowed: false, status: { code: 500, message: `pilotfish sidecar injection failed: ${message}` } });
    }
    return answer({ uid: req.uid, allowed: true, warnings: [`pilotfish: sidecar not injected because of an error: ${message}`] });
  }
}
