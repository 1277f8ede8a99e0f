// RE2 semantics for the regexes users write: what Envoy and gRPC accept is accepted, what they
// refuse is refused with RE2's message, and Envoy's program-size limit is applied to an estimate
// that is checked here against the real RE2.
import assert from 'node:assert/strict';
import { RE2JS } from 're2js';
import { MAX_RE2_PROGRAM_SIZE, re2Problem, re2SyntaxProblem } from '../../../src/api/routing/v1alpha1/re2.js';
import { estimateProgramSize } from '../../../src/api/routing/v1alpha1/re2-program-size.js';

/**
 * RE2::ProgramSize() of C++ RE2 2022-06-01 (Debian libre2-9), the figure Envoy compares with
 * `re2.max_program_size.error_level`. Measured once with a 10-line C++ program
 * (`RE2 re(line, RE2::Quiet); std::cout << re.ProgramSize();` linked with -lre2); kept as data so
 * the suite needs no C++ toolchain.
 */
const LIBRE2_PROGRAM_SIZE: readonly [string, number][] = [
  ["(?:a)", 5],
  ["(?i)/api/.*", 17],
  ["(?i)[a-z]", 10],
  ["(?i)[a-z]+", 11],
  ["(?i)\\pL", 1198],
  ["(?i)^bearer [a-z0-9._-]+$", 14],
  ["(?i)a", 5],
  ["(?i)jason", 11],
  ["(?i)k", 8],
  ["(?i)s", 7],
  ["(?i)\u00e9", 7],
  ["(?s).", 11],
  ["(GET|POST|PUT)", 15],
  ["(a)", 7],
  ["(abc){20}", 104],
  [".", 12],
  [".*", 12],
  [".{11}", 92],
  [".{12}", 100],
  [".{30}", 244],
  ["[0-9]{95}", 99],
  ["[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", 72],
  ["[[:alpha:]]", 5],
  ["[[:alpha:]]+", 6],
  ["[\\x{10000}-\\x{10FFFF}]", 12],
  ["[\\x{100}-\\x{1000}]", 11],
  ["[\\x{100}-\\x{200}]", 8],
  ["[\\x{800}-\\x{FFFF}]", 9],
  ["[\\x{80}-\\x{10FFFF}]", 10],
  ["[\\x{80}-\\x{7FF}]", 6],
  ["[^/]", 12],
  ["[^/]{10}", 84],
  ["[^/]{11}", 92],
  ["[^/]{12}", 100],
  ["[^0-9]", 12],
  ["[^\\x00-\\x{7F}]", 10],
  ["[^a]", 12],
  ["[a-c]", 5],
  ["[a-z0-9]{40}", 84],
  ["[a-z]{1,100}", 203],
  ["[a-z\u00e9]", 7],
  ["[ab]", 5],
  ["[ac]", 6],
  ["[acegikmoq]", 13],
  ["[\u00e9-\u00fc]", 6],
  ["\\D", 12],
  ["\\PL", 1201],
  ["\\S", 14],
  ["\\W", 15],
  ["\\b", 5],
  ["\\d", 5],
  ["\\d{3}-\\d{4}", 12],
  ["\\pL", 1197],
  ["\\pL{10}", 11934],
  ["\\pN", 237],
  ["\\p{Greek}", 66],
  ["\\s", 7],
  ["\\w", 7],
  ["\\w+@\\w+\\.com", 17],
  ["^(/[a-z]+){1,10}$", 61],
  ["^(foo|bar|baz)/v[0-9]+$", 15],
  ["^.*$", 10],
  ["^/api/v[0-9]+/(users|orders)/[0-9a-f-]{36}$", 129],
  ["^/api/v[0-9]+/users/[^/]+$", 22],
  ["^/static/.*\\.(css|js|png)$", 23],
  ["^/v[12]/.*", 14],
  ["^[0-9]{98}$", 100],
  ["^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$", 18],
  ["^a", 4],
  ["^a$", 4],
  ["a", 5],
  ["a$", 5],
  ["a*", 5],
  ["a+", 6],
  ["a?", 6],
  ["ab", 6],
  ["abc", 7],
  ["a{1000}", 1004],
  ["a{100}", 104],
  ["a{96}", 100],
  ["a{97}", 101],
  ["a{98}", 102],
  ["a|b", 5],
  ["a|bc|def", 10],
  ["jason", 9],
  ["v[0-9]+", 7],
  ["x{50}y{45}", 99],
  ["\u00e9", 6],
  ["\u20ac", 7],
  ["\ud83d\ude00", 8],
];

/** Large Unicode classes: RE2 does not share byte-range suffixes as well as the estimate does. */
const LARGE_UNICODE = new Set(['\\pL', '\\PL', '(?i)\\pL', '\\pL{10}', '\\pN']);

function estimate(pattern: string): number {
  return estimateProgramSize(RE2JS.compile(pattern), pattern, Number.POSITIVE_INFINITY);
}

describe('RE2 regexes (re2js)', () => {
  it('accepts RE2 syntax that JavaScript refuses', () => {
    for (const p of ['(?i)/api/.*', '[[:alpha:]]+', '\\p{Greek}+', '(?P<v>v[0-9]+)', '\\Q.*\\E', '(?s).', '\\z', '(?U)a+']) {
      assert.equal(re2Problem(p), undefined, p);
    }
  });

  it('refuses what RE2 refuses, with RE2\'s message', () => {
    const cases: [string, string][] = [
      ['(unclosed', 'missing closing ): `(unclosed`'],
      ['(?=a)b', 'invalid or unsupported Perl syntax: `(?=`'],
      ['(?!a)b', 'invalid or unsupported Perl syntax: `(?!`'],
      ['(a)\\1', 'invalid escape sequence: `\\1`'],
      ['a**', 'invalid nested repetition operator: `**`'],
      ['x{2,1}', 'invalid repeat count: `{2,1}`'],
      ['a{1001}', 'invalid repeat count: `{1001}`'],
      ['\\Z', 'invalid escape sequence: `\\Z`'],
    ];
    for (const [p, message] of cases) {
      assert.equal(re2SyntaxProblem(p), message, p);
      assert.equal(re2Problem(p), message, p);
    }
    // Lookbehind is an opt-in re2js extension; RE2 has none.
    assert.match(re2Problem('(?<=a)b') ?? '', /invalid named capture/);
    assert.match(re2Problem('(?<!a)b') ?? '', /invalid named capture/);
  });

  it('refuses programs over Envoy\'s default limit of 100, as Envoy would', () => {
    assert.equal(MAX_RE2_PROGRAM_SIZE, 100);
    assert.match(re2Problem('a{1000}') ?? '', /too large for Envoy \(estimated RE2 program size at least \d+; the limit is 100\)/);
    assert.match(re2Problem('.{30}') ?? '', /too large/);
    assert.match(re2Problem('\\pL') ?? '', /too large/);
    // Right at the limit: RE2 says 100 for a{96} and 101 for a{97}.
    assert.equal(re2Problem('a{96}'), undefined);
    assert.match(re2Problem('a{97}') ?? '', /too large/);
    assert.equal(re2Problem('[^/]{12}'), undefined);
    assert.match(re2Problem('[^/]{13}') ?? '', /too large/);
  });

  it('stops costing a huge pattern once it is over the limit', () => {
    const p = '\\pL'.repeat(300);
    assert.match(re2Problem(p) ?? '', /at least \d+/);
  });

  describe('the program-size estimate against libre2', () => {
    for (const [pattern, real] of LIBRE2_PROGRAM_SIZE) {
      it(`${pattern}: RE2 ${real}`, () => {
        const est = estimate(pattern);
        if (LARGE_UNICODE.has(pattern)) {
          assert.ok(est > MAX_RE2_PROGRAM_SIZE && est <= real, `estimate ${est}, RE2 ${real}`);
          return;
        }
        assert.ok(Math.abs(est - real) <= Math.max(10, real * 0.1), `estimate ${est}, RE2 ${real}`);
        assert.equal(est > MAX_RE2_PROGRAM_SIZE, real > MAX_RE2_PROGRAM_SIZE, `estimate ${est} and RE2 ${real} disagree about the limit`);
      });
    }
  });
});
