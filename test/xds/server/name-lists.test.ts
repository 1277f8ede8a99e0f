// Long resource_names lists (ACKs restating a sidecar's EDS subscription) decode once per
// distinct list; the request a stream sees is the same as a plain protobuf decode gives.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { encodeSotwRequest } from '../../support/xds-client-codec.js';
import { decodeSotwRequest, discoveryTypes } from '../../../src/xds/server/codec.js';
import { NameInterner } from '../../../src/xds/server/intern.js';
import { listSpan, NameLists } from '../../../src/xds/server/name-lists.js';
import { setVersion } from '../../../src/xds/server/version.js';
import { ENDPOINT } from '../../../src/xds/types.js';

const names = (n: number, tag = ''): string[] =>
  Array.from({ length: n }, (_, i) => `outbound|8080||svc-${i}${tag}.ns-${i % 10}.svc.cluster.local`);

function plain(buf: Buffer): { names: string[]; version: string; nonce: string; node?: string } {
  const m = discoveryTypes().sotwRequest.decode(buf) as unknown as {
    resource_names: string[]; version_info: string; response_nonce: string; node?: { id: string };
  };
  return { names: m.resource_names, version: m.version_info, nonce: m.response_nonce, node: m.node?.id };
}

describe('xDS codec: long SotW name lists', () => {
  const lists = new NameLists(new NameInterner(1 << 20), 1 << 24);
  const holder = lists.holder();
  afterEach(() => holder.releaseAll());

  it('decodes like protobufjs, node and error detail included', () => {
    const buf = encodeSotwRequest({
      typeUrl: ENDPOINT, resourceNames: names(300), versionInfo: 'v1', responseNonce: 'n1', node: { id: 'proxy-1' },
      errorDetail: { code: 3, message: 'bad' },
    });
    assert.ok(listSpan(buf, 3), 'the list is long enough to be looked up');
    const r = decodeSotwRequest(buf, holder);
    const p = plain(buf);
    assert.deepEqual([...r.resourceNames], p.names);
    assert.equal(r.versionInfo, 'v1');
    assert.equal(r.responseNonce, 'n1');
    assert.equal(r.node?.id, 'proxy-1');
    assert.deepEqual(r.errorDetail, { code: 3, message: 'bad' });
  });

  it('hands out the same array for the same list, and another for a different one', () => {
    const a1 = decodeSotwRequest(encodeSotwRequest({ typeUrl: ENDPOINT, resourceNames: names(300), responseNonce: 'x' }), holder);
    const a2 = decodeSotwRequest(encodeSotwRequest({ typeUrl: ENDPOINT, resourceNames: names(300), versionInfo: 'v2', responseNonce: 'y' }), holder);
    assert.equal(a1.resourceNames, a2.resourceNames);
    assert.equal(a2.responseNonce, 'y');
    const b = decodeSotwRequest(encodeSotwRequest({ typeUrl: ENDPOINT, resourceNames: names(300, 'b'), responseNonce: 'z' }), holder);
    assert.notEqual(b.resourceNames, a1.resourceNames);
    assert.equal(b.resourceNames[0], names(1, 'b')[0]);
  });

  it('leaves short lists and split lists to the plain decoder', () => {
    assert.equal(listSpan(encodeSotwRequest({ typeUrl: ENDPOINT, resourceNames: names(3) }), 3), undefined);
    const head = encodeSotwRequest({ typeUrl: ENDPOINT, resourceNames: names(150) });
    const tail = encodeSotwRequest({ typeUrl: '', resourceNames: names(150, 't'), versionInfo: 'between' });
    const split = Buffer.concat([head, tail]);
    assert.equal(listSpan(split, 3), undefined, 'names interrupted by other fields');
    assert.deepEqual([...decodeSotwRequest(split, holder).resourceNames], plain(split).names);
    assert.equal(listSpan(Buffer.from([0x1a, 0xff]), 3), undefined, 'malformed input is for the real decoder');
  });

  it('recognises a known list only where it is the whole run of names', () => {
    const known = names(200, 'k');
    decodeSotwRequest(encodeSotwRequest({ typeUrl: ENDPOINT, resourceNames: known, responseNonce: 'a' }), holder);
    // Other streams send the near misses: the known list stays held by the first one.
    const other = lists.holder();
    for (const list of [names(201, 'k'), names(199, 'k'), [...known, 'extra']]) {
      const buf = encodeSotwRequest({ typeUrl: ENDPOINT, resourceNames: list, versionInfo: 'v', responseNonce: 'b' });
      assert.deepEqual([...decodeSotwRequest(buf, lists.holder()).resourceNames], plain(buf).names, `${list.length} names`);
    }
    // The known list, then other fields, then more names: every name counts.
    const head = encodeSotwRequest({ typeUrl: ENDPOINT, resourceNames: known });
    const split = Buffer.concat([head, encodeSotwRequest({ typeUrl: '', resourceNames: ['later'], versionInfo: 'v' })]);
    const r = decodeSotwRequest(split, other);
    assert.deepEqual([...r.resourceNames], plain(split).names);
    assert.equal(r.resourceNames.at(-1), 'later');
  });
});

describe('xDS name lists: owned by the streams, bounded by bytes', () => {
  const list = (n: number, tag: string): Buffer => encodeSotwRequest({ typeUrl: ENDPOINT, resourceNames: names(n, tag), responseNonce: 'n' });

  it('keeps a list while a stream holds it, shares it, and drops it when the last holder lets go', () => {
    const lists = new NameLists(new NameInterner(1 << 20), 1 << 24);
    const a = lists.holder(), b = lists.holder();
    const ra = decodeSotwRequest(list(300, 'x'), a);
    const rb = decodeSotwRequest(list(300, 'x'), b);
    assert.equal(ra.resourceNames, rb.resourceNames, 'the second stream is handed the kept list');
    assert.equal(lists.count, 1);
    const held = lists.heldBytes;
    assert.ok(held > 2 * 300 * 40, `${held} bytes counted for the list`);
    a.releaseAll();
    assert.equal(lists.count, 1, 'still held by the other stream');
    // A new list for the same type replaces the stream's old one.
    decodeSotwRequest(list(300, 'y'), b);
    assert.equal(lists.count, 1);
    b.releaseAll();
    assert.equal(lists.count, 0);
    assert.equal(lists.heldBytes, 0);
  });

  it('keeps no list past its byte budget, and decodes such lists as they come', () => {
    let full = 0;
    const lists = new NameLists(new NameInterner(1 << 20), 40_000, () => full++);
    const h = lists.holder();
    const first = decodeSotwRequest(list(300, 'p'), h);
    assert.equal(lists.count, 1);
    const bigger = list(600, 'q');
    const r = decodeSotwRequest(bigger, h);
    assert.deepEqual([...r.resourceNames], plain(bigger).names);
    assert.ok(lists.heldBytes <= 40_000, `${lists.heldBytes} bytes held`);
    assert.equal(full, 1, 'the refusal is counted');
    assert.equal(Object.isFrozen(first.resourceNames), true);
    h.releaseAll();
    assert.equal(lists.heldBytes, 0);
  });

  it('interns names up to a byte budget, then starts over; never a name longer than the cap', () => {
    const interner = new NameInterner(100, 20);
    const a = 'a'.repeat(10);
    assert.equal(interner.intern(a), a);
    assert.equal(interner.intern('b'.repeat(30)).length, 30);
    assert.equal(interner.size, 1, 'a name over the cap is not kept');
    for (let i = 0; i < 20; i++) interner.intern(`name-${i}-pad`);
    assert.ok(interner.heldBytes <= 100, `${interner.heldBytes} bytes held`);
  });
});

describe('xDS versions', () => {
  it('hash the sorted (name, version) pairs as they always did', () => {
    const rs = [{ name: 'b', version: '2', any: new Uint8Array() }, { name: 'a', version: '1', any: new Uint8Array() }];
    const h = createHash('sha256');
    for (const r of [rs[1], rs[0]]) h.update(r.name).update('\0').update(r.version).update('\n');
    assert.equal(setVersion(rs), h.digest('hex').slice(0, 16));
  });
});
