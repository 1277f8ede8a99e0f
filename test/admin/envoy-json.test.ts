// Canonical proto3 JSON for well-known types, as Envoy's config_dump writes them.
import assert from 'node:assert/strict';
import { anyToEnvoyJson, durationText } from '../../src/admin/envoy-json.js';
import { decodeAny } from '../../src/admin/sent-config.js';
import { lookupType } from '../../src/xds/protos.js';

function encodeAny(typeName: string, value: Record<string, unknown>): Uint8Array {
  const type = lookupType(typeName);
  const Any = lookupType('google.protobuf.Any');
  return Any.encode(Any.create({ type_url: `type.googleapis.com/${typeName}`, value: type.encode(type.fromObject(value)).finish() })).finish();
}

describe('envoy-json: config_dump form of well-known types', () => {
  it('writes durations with 0, 3, 6 or 9 fraction digits', () => {
    assert.equal(durationText(2, 0), '2s');
    assert.equal(durationText(0, 0), '0s');
    assert.equal(durationText(0, 500_000_000), '0.500s');
    assert.equal(durationText(1, 1000), '1.000001s');
    assert.equal(durationText(1, 1), '1.000000001s');
    assert.equal(durationText(-1, -500_000_000), '-1.500s');
  });

  it('turns Duration and wrapper fields of a real resource into plain values, and nothing else', () => {
    const any = encodeAny('envoy.config.cluster.v3.Cluster', {
      name: 'c',
      connect_timeout: { seconds: 2 },
      per_connection_buffer_limit_bytes: { value: 1024 },
      common_lb_config: { healthy_panic_threshold: { value: 50 } },
      metadata: { filter_metadata: { x: { fields: { value: { string_value: 'kept' } } } } },
    });
    const raw = decodeAny(any);
    assert.deepEqual(raw.connect_timeout, { seconds: '2' }, 'protobufjs alone writes the message form');
    const out = anyToEnvoyJson(raw);
    assert.equal(out['@type'], 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
    assert.equal(out.connect_timeout, '2s');
    assert.equal(out.per_connection_buffer_limit_bytes, 1024);
    assert.deepEqual(out.common_lb_config, { healthy_panic_threshold: { value: 50 } }, 'Percent is a message, not a wrapper: kept');
    assert.deepEqual(out.metadata, raw.metadata, 'a Struct field named value is left alone');
  });

  it('a zero wrapper (encoded as an empty message) becomes the zero value', () => {
    const out = anyToEnvoyJson(decodeAny(encodeAny('envoy.config.cluster.v3.Cluster', { name: 'c', per_connection_buffer_limit_bytes: {} })));
    assert.equal(out.per_connection_buffer_limit_bytes, 0);
  });

  it('an Any of a type this build does not know is returned unchanged', () => {
    const v = { '@type': 'type.googleapis.com/unknown.Thing', seconds: '2' };
    assert.deepEqual(anyToEnvoyJson(v), v);
  });
});
