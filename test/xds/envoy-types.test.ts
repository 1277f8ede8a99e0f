// src/xds/envoy-types.ts is what the generator makes of the protos we load, and the generator
// types each kind of proto field the way protobufjs `fromObject` takes it. What tsc then accepts
// and rejects is test/xds/envoy-types.typetest.ts, checked by the build.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ENVOY_TYPE_ROOTS, renderEnvoyTypes } from '../../scripts/envoy-types.js';
import { envoyRoot } from '../../src/xds/protos.js';

/** This file runs as dist/test/xds/envoy-types.test.js. */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const i = x.findIndex((line, n) => line !== y[n]);
  const at = i === -1 ? x.length : i;
  return `line ${at + 1}: checked in ${JSON.stringify(x[at])}, generated ${JSON.stringify(y[at])}`;
}

const SMALL = `
syntax = "proto3";
package t.v1;
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/wrappers.proto";

message Top {
  enum Mode { OFF = 0; ON = 1; }
  string name = 1;
  int64 big = 2;
  bytes blob = 3;
  repeated Leaf leaves = 4;
  map<string, Leaf> by_name = 5;
  Mode mode = 6;
  google.protobuf.UInt32Value limit = 7;
  google.protobuf.Duration timeout = 8;
  google.protobuf.Any config = 9;
  oneof choice {
    string a = 10;
    Leaf b = 11;
  }
  string old = 12 [deprecated = true];
  repeated uint64 bigs = 13;
}
message Leaf { Empty e = 1; }
message Empty {}
message Unreached { string x = 1; }
`;

function smallRoot(extra = ''): protobuf.Root {
  const root = new protobuf.Root();
  for (const f of ['google/protobuf/any.proto', 'google/protobuf/duration.proto', 'google/protobuf/wrappers.proto']) {
    const common = protobuf.common.get(f);
    if (common?.nested === undefined) throw new Error(`protobufjs has no bundled ${f}`);
    root.addJSON(common.nested);
  }
  protobuf.parse(SMALL, root, { keepCase: true });
  if (extra) protobuf.parse(extra, root, { keepCase: true });
  root.resolveAll();
  return root;
}

describe('Envoy resource types', () => {
  it('src/xds/envoy-types.ts is what scripts/gen-envoy-types.ts generates from the loaded protos', () => {
    const file = path.join(REPO_ROOT, 'src/xds/envoy-types.ts');
    const checkedIn = readFileSync(file, 'utf8');
    const generated = renderEnvoyTypes(envoyRoot());
    assert.ok(checkedIn === generated, `${path.relative(REPO_ROOT, file)} is stale (${firstDifference(checkedIn, generated)}): run npm run gen:envoy-types`);
  });

  it('has a type and an EnvoyMessages entry for every root', () => {
    const text = renderEnvoyTypes(envoyRoot());
    for (const r of ENVOY_TYPE_ROOTS) {
      const id = r.type.replace(/\./g, '_');
      assert.ok(text.includes(`\nexport type ${r.alias} = ${id};\n`), r.alias);
      assert.ok(text.includes(`\n  '${r.type}': ${id};\n`), r.type);
      assert.match(text, new RegExp(`\\nexport (interface|type) ${id} `), id);
    }
  });

  describe('the generator, on a small proto', () => {
    const text = renderEnvoyTypes(smallRoot(), [{ alias: 'Top', type: 't.v1.Top' }]);

    it('types each kind of field as fromObject takes it, every field optional', () => {
      const top = /\nexport interface t_v1_Top \{\n([^}]*)\}\n/.exec(text)?.[1];
      assert.equal(top, [
        '  name?: string;',
        '  big?: number | string;',
        '  blob?: Uint8Array | string;',
        '  leaves?: readonly t_v1_Leaf[];',
        '  by_name?: Readonly<Record<string, t_v1_Leaf>>;',
        '  mode?: t_v1_Top_Mode;',
        '  limit?: google_protobuf_UInt32Value;',
        '  timeout?: google_protobuf_Duration;',
        '  config?: google_protobuf_Any;',
        '  a?: string;',
        '  b?: t_v1_Leaf;',
        '  /** @deprecated */',
        '  old?: string;',
        '  bigs?: readonly (number | string)[];',
        '',
      ].join('\n'));
    });

    it('gives enums by name or number, wrappers a required value, Duration required seconds, an empty message no fields', () => {
      assert.ok(text.includes("\nexport type t_v1_Top_Mode = 'OFF' | 'ON' | number;\n"));
      assert.ok(text.includes('\nexport interface google_protobuf_UInt32Value {\n  value: number;\n}\n'));
      assert.ok(text.includes('\nexport interface google_protobuf_Duration {\n  seconds: number | string;\n  nanos?: number;\n}\n'));
      assert.ok(text.includes('\nexport type t_v1_Empty = Readonly<Record<string, never>>;\n'));
      assert.ok(text.includes("\nexport type google_protobuf_Any = { '@type': string } & Record<string, unknown>;\n"));
    });

    it('emits the closure of the roots only, sorted by full name, and the same text every time', () => {
      const declared = [...text.matchAll(/\nexport (?:interface|type) (\w+) /g)].map((m) => m[1]);
      assert.deepEqual(declared, [
        'Top', 'Any', 'EnvoyMessages',
        'google_protobuf_Any', 'google_protobuf_Duration', 'google_protobuf_UInt32Value',
        't_v1_Empty', 't_v1_Leaf', 't_v1_Top', 't_v1_Top_Mode',
      ]);
      assert.ok(!text.includes('type_url'), "an Any's own fields are not typed");
      assert.equal(renderEnvoyTypes(smallRoot(), [{ alias: 'Top', type: 't.v1.Top' }]), text);
    });

    it('refuses two full names that become one identifier', () => {
      const clash = 'syntax = "proto3"; package t.v1_Top; message Mode { string x = 1; }';
      assert.throws(
        () => renderEnvoyTypes(smallRoot(clash), [{ alias: 'Top', type: 't.v1.Top' }, { alias: 'M', type: 't.v1_Top.Mode' }]),
        /t\.v1_Top\.Mode and t\.v1\.Top\.Mode both become the identifier t_v1_Top_Mode/,
      );
    });
  });
});
