// The lean per-admission line must be the line winston writes for the same record (same keys in
// the same order, same values; only the timestamp differs), honour the level, and batch the lines
// of one flush period (or 64 KiB) into one write.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { createLogger } from '../../src/logging.js';
import { JsonLinesAdmissionLog, loggerAdmissionLog, type AdmissionRecord } from '../../src/webhook/admission-log.js';

const RECORDS: AdmissionRecord[] = [
  {
    namespace: 'shop', name: 'web-7d9f-<generated>', uid: 'u-1', result: 'injected', reason: 'namespace label pilotfish.io/inject=enabled',
    reinjected: false, operations: 8, warnings: ['annotation x ignored: "bad" \\ value'],
  },
  { namespace: 'plain', name: 'quiet', uid: 'u-2', result: 'skipped', reason: 'namespace plain not labelled pilotfish.io/inject=enabled' },
];

class Capture extends Writable {
  readonly writes: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.writes.push(chunk.toString());
    this.emit('written');
    cb();
  }
}

const TIMESTAMP = /"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/;

describe('webhook/admission-log', () => {
  it('writes exactly the line winston writes, timestamp aside', async () => {
    const viaWinston = new PassThrough();
    const winstonLines: string[] = [];
    viaWinston.on('data', (d: Buffer) => winstonLines.push(...d.toString().split('\n').filter((l) => l !== '')));
    const winstonLog = loggerAdmissionLog(createLogger('info', viaWinston).child({ component: 'webhook' }));
    const capture = new Capture();
    const lean = new JsonLinesAdmissionLog(capture, 'webhook', 'info');
    for (const r of RECORDS) {
      winstonLog.record(r);
      lean.record(r);
    }
    lean.flush();
    while (winstonLines.length < RECORDS.length) await once(viaWinston, 'data');
    const leanLines = capture.writes.join('').split('\n').filter((l) => l !== '');
    assert.equal(leanLines.length, RECORDS.length);
    for (let i = 0; i < RECORDS.length; i++) {
      assert.match(leanLines[i], TIMESTAMP);
      assert.equal(leanLines[i].replace(TIMESTAMP, '"timestamp":"T"'), winstonLines[i].replace(TIMESTAMP, '"timestamp":"T"'));
    }
    assert.equal(JSON.parse(leanLines[0]).message, 'sidecar injected');
    assert.equal(JSON.parse(leanLines[1]).message, 'sidecar not injected');
  });

  it('writes the lines of one flush period at once, at its end, or at once when they pass 64 KiB', async () => {
    const capture = new Capture();
    const lean = new JsonLinesAdmissionLog(capture, 'webhook', 'debug', 20);
    const written = once(capture, 'written');
    for (const r of RECORDS) lean.record(r);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(capture.writes.length, 0, 'nothing written within the period');
    await written;
    assert.equal(capture.writes.length, 1);
    assert.equal(capture.writes[0].split('\n').filter((l) => l !== '').length, 2);
    // Lines past 64 KiB go out without waiting.
    const big: AdmissionRecord = { ...RECORDS[1], reason: 'r'.repeat(16 * 1024) };
    for (let i = 0; i < 4; i++) lean.record(big);
    assert.equal(capture.writes.length, 2);
    assert.equal(capture.writes[1].split('\n').filter((l) => l !== '').length, 4);
  });

  it('stamps each line with the time it was recorded, as Date#toISOString writes it', async () => {
    const capture = new Capture();
    const lean = new JsonLinesAdmissionLog(capture, 'webhook', 'info');
    const stamps: { before: number; after: number }[] = [];
    // Across at least one change of second, so a stale text up to the second would show.
    const until = Math.floor(Date.now() / 1000) * 1000 + 1000;
    while (Date.now() <= until + 2) {
      const before = Date.now();
      lean.record(RECORDS[1]);
      stamps.push({ before, after: Date.now() });
      if (stamps.length % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    lean.flush();
    const lines = capture.writes.join('').split('\n').filter((l) => l !== '');
    assert.equal(lines.length, stamps.length);
    lines.forEach((l, i) => {
      const text = (JSON.parse(l) as { timestamp: string }).timestamp;
      const t = Date.parse(text);
      assert.equal(new Date(t).toISOString(), text);
      assert.ok(t >= stamps[i].before && t <= stamps[i].after, `line ${i}: ${text} outside [${stamps[i].before}, ${stamps[i].after}]`);
    });
  });

  it('writes nothing below info', async () => {
    const capture = new Capture();
    const lean = new JsonLinesAdmissionLog(capture, 'webhook', 'warn');
    lean.record(RECORDS[0]);
    lean.flush();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(capture.writes, []);
  });
});
