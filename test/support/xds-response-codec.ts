// Server-side encodings only tests need: whole responses with their nonce (the server sends
// them as shared parts instead), and Any wrapping for hand-made resources.
import { encodeDeltaBody, encodeSotwBody, type DeltaResponseParts, type SotwResponseParts } from '../../src/xds/server/codec.js';
import { lenField, stringField } from '../../src/xds/wire/writer.js';

/** encodeSotwBody with the resources given as already encoded runs of resources=2 fields. */
export function encodeSotwBodyOf(versionInfo: string, typeUrl: string, resourceRuns: readonly Uint8Array[]): Buffer {
  const head = versionInfo ? stringField(1, versionInfo) : new Uint8Array(0);
  return Buffer.concat([head, ...resourceRuns, stringField(4, typeUrl)]);
}

/** Appends nonce=5 to an encoded response body. */
export function withNonce(body: Uint8Array, nonce: string): Buffer {
  return Buffer.concat([body, stringField(5, nonce)]);
}

export function encodeSotwResponse(r: SotwResponseParts): Buffer {
  return withNonce(encodeSotwBody(r), r.nonce);
}

export function encodeDeltaResponse(r: DeltaResponseParts): Buffer {
  return withNonce(encodeDeltaBody(r), r.nonce);
}

/** Wraps an encoded message in a google.protobuf.Any (type_url=1, value=2), the form XdsResource.any holds. */
export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  return Buffer.concat([stringField(1, typeUrl), lenField(2, value)]);
}
