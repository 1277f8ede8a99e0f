// Small builders for the protobuf well-known types, in the object form protobufjs encodes.
// Values are always written out (`{ value: false }` rather than `{}`) so goldens read plainly;
// the round-trip test knows that proto3 does not put default scalars on the wire.
import type {
  Any, envoy_config_core_v3_Address as Address, envoy_config_core_v3_ConfigSource as ConfigSource,
  envoy_type_v3_FractionalPercent as FractionalPercent, EnvoyMessages, google_protobuf_BoolValue as BoolValue,
  google_protobuf_Duration as Duration, google_protobuf_UInt32Value as UInt32Value,
} from '../envoy-types.js';

export function duration(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return nanos === 0 ? { seconds } : { seconds, nanos };
}

export function u32(value: number): UInt32Value {
  return { value };
}

export function bool(value: boolean): BoolValue {
  return { value };
}

export const ADS_CONFIG_SOURCE: Readonly<ConfigSource> = Object.freeze({ ads: {}, resource_api_version: 'V3' });

/** An Any of `typeName`, its body checked against that message's generated type. */
export function typed<N extends keyof EnvoyMessages>(typeName: N, body?: EnvoyMessages[N]): Any {
  return { '@type': `type.googleapis.com/${typeName}`, ...body };
}

/**
 * A percentage (0..100, fractions allowed) as a FractionalPercent: per hundred when whole,
 * per million otherwise (four decimals survive, more than the CRD needs).
 */
export function fractionalPercent(percent: number): FractionalPercent {
  if (Number.isInteger(percent)) return { numerator: percent };
  return { numerator: Math.round(percent * 10_000), denominator: 'MILLION' };
}

export function socketAddress(address: string, port: number): Address {
  return { socket_address: { address, port_value: port } };
}
