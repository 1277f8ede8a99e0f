// Whether generated xDS is something its proxy would load: every resource must round-trip through
// the Envoy protos and satisfy their validate.rules, and a proxyless gRPC client's must also pass
// @grpc/grpc-js-xds's own decoders. One place, so the goldens and the examples check the same.
import type { ProxyKind } from '../../src/model/proxy.js';
import { messageName, shortTypeName, type XdsTypeUrl } from '../../src/xds/types.js';
import { roundTripProblems } from './envoy-round-trip.js';
import { grpcRejection } from './grpc-xds-decode.js';
import { checkObject, formatViolations } from './validate-rules.js';

/**
 * Resources by type and name: a GeneratedConfig, or hand-made objects the generated types would
 * refuse (the checks exist to catch what the types cannot, and their tests feed them such).
 */
export type CheckedConfig = ReadonlyMap<XdsTypeUrl, ReadonlyMap<string, object>>;

/** A resource's fields as the proto-level checks read them. */
function fields(r: object): { [k: string]: unknown } {
  return Object.fromEntries(Object.entries(r));
}

/** Each problem names the resource: `CDS outbound|80||web.shop.svc.cluster.local: ...`. */
export function envoyProblems(config: CheckedConfig): string[] {
  const problems: string[] = [];
  for (const [t, set] of config) {
    const typeName = messageName(t);
    for (const [name, r] of set) {
      for (const p of roundTripProblems(typeName, fields(r))) problems.push(`${shortTypeName(t)} ${name}: ${p}`);
      const v = checkObject(typeName, fields(r));
      if (v.length > 0) problems.push(`${shortTypeName(t)} ${name}: validate.rules:\n${formatViolations(v)}`);
    }
  }
  return problems;
}

/** What a proxyless gRPC client would NACK, one entry per refused resource. */
export function grpcProblems(config: CheckedConfig): string[] {
  const rejected: string[] = [];
  for (const [t, set] of config) {
    for (const [name, r] of set) {
      const err = grpcRejection(messageName(t), fields(r));
      if (err !== undefined) rejected.push(`${shortTypeName(t)} ${name}: gRPC rejects it: ${err}`);
    }
  }
  return rejected;
}

/** envoyProblems, plus grpcProblems for a proxyless client. */
export function proxyProblems(kind: ProxyKind, config: CheckedConfig): string[] {
  return kind === 'grpc' ? [...envoyProblems(config), ...grpcProblems(config)] : envoyProblems(config);
}
