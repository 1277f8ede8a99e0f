// The wire shape of a NodeInfo, for clients (tests, benchmarks) that send requests: the reverse
// of src/xds/server/node.ts, which only ever reads nodes.
import type { NodeInfo } from '../../src/xds/node-info.js';
import type { ProtoNode, ProtoStruct, ProtoValue } from '../../src/xds/server/node.js';
import { lookupType } from '../../src/xds/protos.js';

let camelCase: boolean | undefined;

/** The Value member name in the spelling the loaded google.protobuf.Value uses. */
function member(snake: 'null_value' | 'number_value' | 'string_value' | 'bool_value' | 'struct_value' | 'list_value'): string {
  camelCase ??= 'stringValue' in lookupType('google.protobuf.Value').fields;
  return camelCase ? snake.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase()) : snake;
}

export function jsonToValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { [member('null_value')]: 0 };
  if (typeof v === 'string') return { [member('string_value')]: v };
  if (typeof v === 'number') return { [member('number_value')]: v };
  if (typeof v === 'boolean') return { [member('bool_value')]: v };
  if (Array.isArray(v)) return { [member('list_value')]: { values: v.map(jsonToValue) } };
  if (typeof v === 'object') return { [member('struct_value')]: jsonToStruct(v as Record<string, unknown>) };
  return { [member('string_value')]: String(v) };
}

export function jsonToStruct(o: Readonly<Record<string, unknown>>): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = jsonToValue(v);
  return { fields };
}

/** The wire shape of a NodeInfo, for clients (tests, benchmarks) that send requests. */
export function nodeInfoToProto(node: NodeInfo): ProtoNode {
  const out: ProtoNode = { id: node.id };
  if (node.cluster) out.cluster = node.cluster;
  if (node.metadata) out.metadata = jsonToStruct(node.metadata);
  return out;
}
