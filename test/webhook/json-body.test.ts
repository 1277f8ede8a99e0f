// The webhook's JSON body parser: JSON.parse, plus the refusal of keys that could replace an
// object's prototype if the value were ever merged into another object.
import assert from 'node:assert/strict';
import { parseJsonBody } from '../../src/webhook/json-body.js';

describe('webhook/json-body', () => {
  it('parses JSON, escapes and all', () => {
    assert.deepEqual(parseJsonBody('{"a":[1,{"b":"caf\\u00e9"}],"c":null}'), { ok: true, value: { a: [1, { b: 'café' }], c: null } });
    assert.deepEqual(parseJsonBody('"just a string"'), { ok: true, value: 'just a string' });
  });

  it('refuses text that is not JSON, saying so', () => {
    for (const text of ['', '{"a":', 'not json', '{"a":1}x']) {
      const r = parseJsonBody(text);
      assert.equal(r.ok, false, text);
      assert.match(!r.ok ? r.error : '', /^body is not valid JSON: /);
    }
  });

  it('bounds the parser message it passes on (it quotes the text)', () => {
    const r = parseJsonBody(`{"a":"${'x'.repeat(10_000)}`);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.length <= 'body is not valid JSON: '.length + 160, !r.ok ? r.error : '');
  });

  it('refuses __proto__ keys at any depth and in any spelling', () => {
    const cases = [
      '{"__proto__":{"polluted":true}}',
      '{"a":{"b":[{"__proto__":1}]}}',
      '{"a":{"\\u005f\\u005fproto\\u005f\\u005f":{}}}',
      '[{"x":{"__pr\\u006fto__":null}}]',
    ];
    for (const text of cases) assert.deepEqual(parseJsonBody(text), { ok: false, error: 'body is refused: it holds a __proto__ key' }, text);
  });

  it('refuses a constructor key holding a prototype, and allows other constructor keys', () => {
    assert.deepEqual(parseJsonBody('{"a":[{"constructor":{"prototype":{"x":1}}}]}'), { ok: false, error: 'body is refused: it holds a constructor.prototype key' });
    assert.deepEqual(parseJsonBody('{"\\u0063onstructor":{"prototype":{}}}'), { ok: false, error: 'body is refused: it holds a constructor.prototype key' });
    assert.deepEqual(parseJsonBody('{"constructor":"x","labels":{"constructor":{"other":1}}}'),
      { ok: true, value: { constructor: 'x', labels: { constructor: { other: 1 } } } });
    // The words in values, not keys, are nothing.
    assert.deepEqual(parseJsonBody('{"a":"__proto__","b":["constructor"]}'), { ok: true, value: { a: '__proto__', b: ['constructor'] } });
  });
});
