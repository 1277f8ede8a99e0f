// PEM blocks: finding them in a bundle and writing them in one canonical form, so certificates
// compare as strings and files written twice come out byte-identical.

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

/** Every PEM block in `text`, in order; text between blocks (comments, `openssl x509 -text` output) is ignored. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) out.push({ label: m[1], der: Buffer.from(m[2].replace(/\s+/g, ''), 'base64') });
  return out;
}

/** One block in canonical form: 64-column base64, LF line ends, a final newline. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The certificates of a bundle, each in canonical form. */
export function certificatePems(text: string): string[] {
  return pemBlocks(text).filter((b) => b.label === 'CERTIFICATE').map((b) => toPem('CERTIFICATE', b.der));
}

/** Canonical PEMs joined into one file's content. */
export function joinPems(pems: readonly string[]): string {
  return pems.join('');
}
