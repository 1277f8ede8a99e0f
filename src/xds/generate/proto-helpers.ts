// Small builders for the protobuf well-known types, in the object form protobufjs encodes.

export interface DurationObject { seconds: number; nanos: number }

export function duration(ms: number): DurationObject {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function u32(value: number): { value: number } {
  return { value };
}

export const ADS_CONFIG_SOURCE = Object.freeze({ ads: {}, resource_api_version: 'V3' });

export function typed(typeName: string, body: Record<string, unknown> = {}): Record<string, unknown> {
  return { '@type': `type.googleapis.com/${typeName}`, ...body };
}
