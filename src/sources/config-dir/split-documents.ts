// Splits YAML text at its `---` lines, so each part can be parsed (and its result kept) on its own:
// editing one document of a file of hundreds then costs one document's parse. YAML forbids a
// `---` line at column 0 inside any content, so such a line always starts a document; directives
// (`%YAML`, `%TAG`) apply across the split, so text with them is not split.

interface DocumentChunk {
  readonly text: string;
  /** Lines of the file before this chunk (to report file line numbers). */
  readonly lineOffset: number;
}

const MARKER = /^---(?=[ \t\r\n]|$)/gm;

export function* splitDocuments(text: string): Generator<DocumentChunk> {
  if (/^%/m.test(text)) {
    yield { text, lineOffset: 0 };
    return;
  }
  let start = 0;
  let lineOffset = 0;
  for (const m of text.matchAll(MARKER)) {
    if (m.index === 0) continue;
    const chunk = text.slice(start, m.index);
    yield { text: chunk, lineOffset };
    lineOffset += countLines(chunk);
    start = m.index;
  }
  yield { text: text.slice(start), lineOffset };
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
