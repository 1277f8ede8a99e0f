// --log-format: JSON lines by default (what the chart and log collectors read), one readable line
// per entry with `text` — whatever the entry holds.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logging.js';
import { PilotfishProcess } from '../support/pilotfish-process.js';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(chunk.toString()); done(); } });
  return { stream, text: () => chunks.join('') };
}

describe('e2e: log formats', function () {
  this.timeout(60_000);

  it('text: level, component, message, then key=value, one line even for multi-line values', async () => {
    const out = capture();
    const logger = createLogger('info', out.stream, 'text');
    logger.child({ component: 'store' }).warn('routing object not applied', {
      object: 'TrafficRoute shop/a', reason: 'Conflict', count: 2, serving: null, detail: 'line one\nline "two"', nested: { a: [1] },
    });
    logger.debug('not at info');
    await new Promise<void>((resolve) => setImmediate(resolve));
    const lines = out.text().split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, out.text());
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warn {2}store: routing object not applied /);
    assert.ok(lines[0]!.endsWith(' object="TrafficRoute shop/a" reason=Conflict count=2 serving=null detail="line one\\nline \\"two\\"" nested={"a":[1]}'), lines[0]);
  });

  it('serve --log-format text writes readable lines; the default is JSON', async () => {
    const args = ['serve', '--xds-address', '127.0.0.1:0', '--http-address', '127.0.0.1:0'];
    const text = PilotfishProcess.start([...args, '--log-format', 'text']);
    try {
      const serving = await text.waitForLog((l) => / info {2}serving xdsAddress=127\.0\.0\.1:\d+ httpAddress=127\.0\.0\.1:\d+/.test(l.message), 'the text "serving" line');
      assert.equal(serving.level, 'raw', 'not JSON');
      assert.ok(text.logs.every((l) => l.level === 'raw'), JSON.stringify(text.logs));
    } finally {
      await text.stop();
    }
    const json = PilotfishProcess.start(args);
    try {
      await json.serving();
      assert.ok(json.logs.every((l) => l.level !== 'raw' && typeof l.timestamp === 'string'), JSON.stringify(json.logs));
    } finally {
      await json.stop();
    }
  });
});
