// Converts the xDS Node (as decoded by protobufjs) into the plain NodeInfo the rest of
// pilotfish reads; metadata is a google.protobuf.Struct on the wire and a JSON object here.
import type { NodeInfo } from '../node-info.js';

/**
 * google.protobuf.Value as protobufjs holds it. protobufjs ships its own struct.proto with
 * camelCase field names (stringValue, ...), which wins over the keepCase loading of the Envoy
 * protos; the oneof getter `kind` names whichever member is set, in whichever spelling.
 */
export interface ProtoValue {
  readonly kind?: string;
  readonly [field: string]: unknown;
}

export interface ProtoStruct {
  fields?: Record<string, ProtoValue> | null;
}

export interface ProtoNode {
  id?: string | null;
  cluster?: string | null;
  metadata?: ProtoStruct | null;
}

function valueToJson(v: ProtoValue): unknown {
  const kind = v.kind;
  if (!kind) return null;
  const member = v[kind];
  switch (kind) {
    case 'structValue': case 'struct_value': return structToJson((member ?? {}) as ProtoStruct);
    case 'listValue': case 'list_value':
      return (((member ?? {}) as { values?: ProtoValue[] | null }).values ?? []).map(valueToJson);
    case 'nullValue': case 'null_value': return null;
    default: return member;
  }
}

function structToJson(s: ProtoStruct): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

/** The node of a request, or undefined when it is absent or has no id (nothing to serve it by). */
export function nodeInfoFromProto(node: ProtoNode | null | undefined): NodeInfo | undefined {
  if (!node || !node.id) return undefined;
  const info: { id: string; cluster?: string; metadata?: Record<string, unknown> } = { id: node.id };
  if (node.cluster) info.cluster = node.cluster;
  if (node.metadata) info.metadata = structToJson(node.metadata);
  return info;
}
