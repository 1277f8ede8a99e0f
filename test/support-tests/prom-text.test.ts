// The strict Prometheus text parser must accept what the format allows and reject the rest,
// or a test that "parses /metrics" proves nothing.
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry, Summary } from 'prom-client';
import { PromParseError, parsePrometheusText, sampleValue } from '../support/prom-text.js';

const GOOD = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400",} 3 1395066363000

# A plain comment
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
metric_without_timestamp_and_labels 12.47
go_style_specials{v="nan"} Nan
go_style_specials{v="inf"} -infinity
something_weird{problem="division by zero"} +Inf -3982045
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.99"} NaN
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
`;

describe('strict Prometheus text parser (test support)', () => {
  it('parses the format documentation example, escapes, timestamps, NaN and Inf included', () => {
    const f = parsePrometheusText(GOOD);
    assert.equal(f.get('http_requests_total')?.type, 'counter');
    assert.equal(f.get('http_requests_total')?.help, 'The total number of HTTP requests.');
    assert.equal(sampleValue(f, 'http_requests_total', 'http_requests_total', { method: 'post', code: '400' }), 3);
    assert.equal(f.get('http_requests_total')?.samples[0].timestampMs, 1395066363000);
    const weird = f.get('msdos_file_access_time_seconds')?.samples[0];
    assert.deepEqual(weird?.labels, { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    assert.equal(f.get('something_weird')?.samples[0].value, Infinity);
    assert.ok(Number.isNaN(sampleValue(f, 'go_style_specials', 'go_style_specials', { v: 'nan' })));
    assert.equal(sampleValue(f, 'go_style_specials', 'go_style_specials', { v: 'inf' }), -Infinity);
    assert.equal(f.get('metric_without_timestamp_and_labels')?.type, 'untyped');
    assert.equal(sampleValue(f, 'http_request_duration_seconds', 'http_request_duration_seconds_count'), 144320);
    assert.ok(Number.isNaN(sampleValue(f, 'rpc_duration_seconds', 'rpc_duration_seconds', { quantile: '0.99' })));
  });

  it('parses what prom-client writes: counters, labelled histograms, summaries', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'x_total', help: 'a "quoted" help\\ with backslash', labelNames: ['k'], registers: [registry] });
    c.inc({ k: 'va"l\\ue\nx' }, 2);
    const h = new Histogram({ name: 'y_seconds', help: 'h', labelNames: ['t'], buckets: [0.1, 1], registers: [registry] });
    h.observe({ t: 'a' }, 0.5);
    h.observe({ t: 'b' }, 5);
    const s = new Summary({ name: 'z', help: 's', registers: [registry] });
    s.observe(1);
    const f = parsePrometheusText(await registry.metrics());
    assert.equal(sampleValue(f, 'x_total', 'x_total', { k: 'va"l\\ue\nx' }), 2);
    assert.equal(f.get('x_total')?.help, 'a "quoted" help\\ with backslash');
    assert.equal(sampleValue(f, 'y_seconds', 'y_seconds_bucket', { t: 'a', le: '1' }), 1);
    assert.equal(sampleValue(f, 'y_seconds', 'y_seconds_bucket', { t: 'b', le: '1' }), 0);
    assert.equal(sampleValue(f, 'z', 'z_count'), 1);
  });

  const bad: [string, string, RegExp][] = [
    ['an unquoted label value', 'a{b=c} 1\n', /must be quoted/],
    ['an unterminated label set', 'a{b="c" 1\n', /expected "," or "}"/],
    ['an unterminated label value', 'a{b="c} 1\n', /unterminated value/],
    ['extra fields', 'a 1 2 3\n', /expected "value \[timestamp\]"/],
    ['a missing value', 'a{b="c"}\n', /expected a space before the value|expected "value/],
    ['a bad value', 'a NaNx\n', /is not a number/],
    ['a hex value', 'a 0x1F\n', /is not a number/],
    ['a comma decimal', 'a 1,5\n', /is not a number/],
    ['a fractional timestamp', 'a 1 2.5\n', /timestamp "2.5" is not an integer/],
    ['an invalid metric name', 'a-b 1\n', /expected a space before the value/],
    ['a bad escape', 'a{b="\\t"} 1\n', /invalid escape/],
    ['a duplicate label', 'a{b="1",b="2"} 1\n', /appears twice/],
    ['a duplicate series', 'a{b="1"} 1\na{b="1"} 2\n', /duplicate series/],
    ['a second TYPE', '# TYPE a counter\n# TYPE a gauge\n', /second TYPE/],
    ['TYPE after samples', 'a 1\n# TYPE a counter\n', /comes after its samples|not grouped/],
    ['an unknown type', '# TYPE a meter\n', /unknown type/],
    ['interleaved families', 'a 1\nb 1\na{x="y"} 2\n', /not grouped together/],
    ['a negative counter', '# TYPE a counter\na -1\n', /negative/],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /no le="\+Inf" bucket/],
    ['a histogram whose +Inf differs from count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', /differs from _count/],
    ['non-cumulative buckets', '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n', /not cumulative/],
    ['a bucket without le', '# TYPE h histogram\nh_bucket 3\nh_sum 1\nh_count 3\n', /without an "le" label/],
    ['a missing final newline', 'a 1', /must end with a newline/],
    ['a reserved label name', 'a{__name__="x"} 1\n', /reserved/],
  ];
  for (const [what, text, reason] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(() => parsePrometheusText(text), (err: unknown) => err instanceof PromParseError && reason.test(err.message));
    });
  }
});
