import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePromFloat, parsePrometheusText, parseSeriesSelector, type ParseStats } from '../../../src/scrape/prometheus-text.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs: number | undefined;
}

function fixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/metrics/${name}`, import.meta.url), 'utf8');
}

function parse(text: string, wanted: Iterable<string>): { samples: Sample[]; stats: ParseStats } {
  const samples: Sample[] = [];
  const stats = parsePrometheusText(text, new Set(wanted), (name, labels, value, timestampMs) => {
    samples.push({ name, labels, value, timestampMs });
  });
  return { samples, stats };
}

/** Sample lines of a text: neither blank nor a comment. */
function sampleLineCount(text: string): number {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#')).length;
}

const VLLM_WANTED = [
  'vllm:num_requests_waiting',
  'vllm:num_requests_running',
  'vllm:kv_cache_usage_perc',
  'vllm:gpu_cache_usage_perc',
  'vllm:lora_requests_info',
  'vllm:cache_config_info',
];
const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';

describe('parsePrometheusText on real expositions', () => {
  it('vLLM V1 with two engines: the routing gauges and cache_config_info, exactly', () => {
    const text = fixture('vllm-v1-dp2.txt');
    const { samples, stats } = parse(text, VLLM_WANTED);
    const e = (engine: string): Record<string, string> => ({ engine, model_name: LLAMA });
    expect(samples.filter((s) => s.name !== 'vllm:cache_config_info')).toEqual([
      { name: 'vllm:num_requests_running', labels: e('0'), value: 12, timestampMs: undefined },
      { name: 'vllm:num_requests_running', labels: e('1'), value: 9, timestampMs: undefined },
      { name: 'vllm:num_requests_waiting', labels: e('0'), value: 3, timestampMs: undefined },
      { name: 'vllm:num_requests_waiting', labels: e('1'), value: 0, timestampMs: undefined },
      { name: 'vllm:kv_cache_usage_perc', labels: e('0'), value: 0.4508602, timestampMs: undefined },
      { name: 'vllm:kv_cache_usage_perc', labels: e('1'), value: 0.21875, timestampMs: undefined },
    ]);
    const info = samples.filter((s) => s.name === 'vllm:cache_config_info');
    expect(info.map((s) => s.labels.engine)).toEqual(['0', '1']);
    expect(info[0]).toEqual({
      name: 'vllm:cache_config_info',
      labels: {
        block_size: '16',
        cache_dtype: 'auto',
        calculate_kv_scales: 'False',
        cpu_offload_gb: '0',
        enable_prefix_caching: 'True',
        engine: '0',
        gpu_memory_utilization: '0.9',
        is_attention_free: 'False',
        kv_offloading_backend: 'None',
        mamba_cache_dtype: 'auto',
        num_cpu_blocks: 'None',
        num_gpu_blocks: '27605',
        num_gpu_blocks_override: 'None',
        prefix_caching_hash_algo: 'sha256',
        sliding_window: 'None',
        swap_space: '4',
      },
      value: 1,
      timestampMs: undefined,
    });
    expect(stats).toEqual({ lines: 209, samples: 8, skipped: sampleLineCount(text) - 8, malformed: 0 });
  });

  it('vLLM: exact sample names — a prefix family, _total vs _created, and histogram parts are distinct', () => {
    const text = fixture('vllm-v1-dp2.txt');
    // vllm:num_requests_waiting_by_reason starts with a wanted name but is another family.
    expect(parse(text, ['vllm:num_requests_waiting']).samples.map((s) => s.value)).toEqual([3, 0]);
    expect(parse(text, ['vllm:prefix_cache_queries_total']).samples.map((s) => s.value)).toEqual([42421665, 39001000]);
    expect(parse(text, ['vllm:prefix_cache_queries_created']).samples.map((s) => s.value)).toEqual([1741528329.6545, 1741528329.6546]);
    expect(parse(text, ['vllm:time_to_first_token_seconds']).samples).toEqual([]);

    const buckets = parse(text, ['vllm:time_to_first_token_seconds_bucket']).samples;
    expect(buckets).toHaveLength(46);
    expect(buckets.slice(0, 23).map((s) => s.labels.le)).toEqual([
      '0.001', '0.005', '0.01', '0.02', '0.04', '0.06', '0.08', '0.1', '0.25', '0.5', '0.75', '1.0', '2.5', '5.0', '7.5', '10.0',
      '20.0', '40.0', '80.0', '160.0', '640.0', '2560.0', '+Inf',
    ]);
    expect(buckets[22]).toEqual({ name: 'vllm:time_to_first_token_seconds_bucket', labels: { engine: '0', le: '+Inf', model_name: LLAMA }, value: 141, timestampMs: undefined });
    const parts = parse(text, ['vllm:time_to_first_token_seconds_count', 'vllm:time_to_first_token_seconds_sum']).samples;
    expect(parts.map((s) => [s.name, s.labels.engine, s.value])).toEqual([
      ['vllm:time_to_first_token_seconds_count', '0', 141],
      ['vllm:time_to_first_token_seconds_sum', '0', 6.0382],
      ['vllm:time_to_first_token_seconds_count', '1', 120],
      ['vllm:time_to_first_token_seconds_sum', '1', 5.1127],
    ]);
    // prometheus_client writes 11-digit values as `e+010`.
    expect(parse(text, ['process_virtual_memory_bytes']).samples[0]).toEqual({ name: 'process_virtual_memory_bytes', labels: {}, value: 98212343808, timestampMs: undefined });
    expect(parse(text, ['http_requests_total']).samples[0]?.labels).toEqual({ handler: '/v1/chat/completions', method: 'POST', status: '2xx' });
  });

  it('vLLM single engine with LoRA: every lora_requests_info series with its timestamp value', () => {
    const text = fixture('vllm-lora-single.txt');
    const { samples, stats } = parse(text, VLLM_WANTED);
    expect(samples.filter((s) => s.name === 'vllm:lora_requests_info')).toEqual([
      { name: 'vllm:lora_requests_info', labels: { max_lora: '4', running_lora_adapters: '', waiting_lora_adapters: '' }, value: 1741528301.2004, timestampMs: undefined },
      { name: 'vllm:lora_requests_info', labels: { max_lora: '4', running_lora_adapters: 'sql-lora', waiting_lora_adapters: '' }, value: 1741528310.4512, timestampMs: undefined },
      {
        name: 'vllm:lora_requests_info',
        labels: { max_lora: '4', running_lora_adapters: 'sql-lora,tweet-lora', waiting_lora_adapters: 'chat-lora' },
        value: 1741528329.6545,
        timestampMs: undefined,
      },
    ]);
    expect(samples.find((s) => s.name === 'vllm:gpu_cache_usage_perc')?.value).toBe(0.25);
    expect(samples.find((s) => s.name === 'vllm:kv_cache_usage_perc')?.value).toBe(0.25);
    expect(samples.find((s) => s.name === 'vllm:cache_config_info')?.labels.num_gpu_blocks).toBe('8192');
    expect(stats).toEqual({ lines: 26, samples: 8, skipped: 2, malformed: 0 });
  });

  it('SGLang: scheduler gauges with model_name, engine_type, pp_rank, tp_rank', () => {
    const text = fixture('sglang.txt');
    const { samples, stats } = parse(text, ['sglang:num_queue_reqs', 'sglang:num_running_reqs', 'sglang:token_usage', 'sglang:cache_config_info', 'sglang:gen_throughput']);
    const l = { engine_type: 'unified', model_name: 'Qwen/Qwen3-8B', pp_rank: '0', tp_rank: '0' };
    expect(samples).toEqual([
      { name: 'sglang:num_running_reqs', labels: l, value: 7, timestampMs: undefined },
      { name: 'sglang:token_usage', labels: l, value: 0.31, timestampMs: undefined },
      { name: 'sglang:gen_throughput', labels: l, value: 412.6639751893005, timestampMs: undefined },
      { name: 'sglang:num_queue_reqs', labels: l, value: 4, timestampMs: undefined },
      { name: 'sglang:cache_config_info', labels: { ...l, num_pages: '84231', page_size: '1' }, value: 1, timestampMs: undefined },
    ]);
    expect(stats.malformed).toBe(0);
    expect(stats.samples + stats.skipped).toBe(sampleLineCount(text));
    const tokens = parse(text, ['sglang:prompt_tokens_total', 'sglang:time_to_first_token_seconds_count']).samples;
    expect(tokens.map((s) => s.value)).toEqual([31290127, 18311]);
    expect(tokens[0]?.labels).toEqual({ engine_type: 'unified', model_name: 'Qwen/Qwen3-8B' });
  });

  it('llm-d-inference-sim (Go client): integer values, le="1", le="2560", le after model_name', () => {
    const text = fixture('llm-d-sim-go.txt');
    const { samples, stats } = parse(text, VLLM_WANTED);
    const m = { model_name: LLAMA };
    expect(samples).toEqual([
      { name: 'vllm:cache_config_info', labels: { block_size: '16', num_gpu_blocks: '2048' }, value: 1, timestampMs: undefined },
      { name: 'vllm:kv_cache_usage_perc', labels: m, value: 0.0625, timestampMs: undefined },
      { name: 'vllm:lora_requests_info', labels: { max_lora: '2', running_lora_adapters: 'lora1', waiting_lora_adapters: 'lora2' }, value: 1741528329.6, timestampMs: undefined },
      { name: 'vllm:num_requests_running', labels: m, value: 16, timestampMs: undefined },
      { name: 'vllm:num_requests_waiting', labels: m, value: 5, timestampMs: undefined },
    ]);
    expect(stats.malformed).toBe(0);
    const ttft = parse(text, ['vllm:time_to_first_token_seconds_bucket', 'vllm:time_to_first_token_seconds_sum']).samples;
    expect(ttft.map((s) => [s.labels.le, s.value])).toEqual([
      ['0.001', 0], ['0.005', 0], ['0.01', 0], ['0.02', 4], ['0.04', 31], ['1', 57], ['2560', 57], ['+Inf', 57], [undefined, 1.6590000000000007],
    ]);
    const gc = parse(text, ['go_gc_duration_seconds', 'go_gc_duration_seconds_count', 'go_goroutines']).samples;
    expect(gc.map((s) => [s.labels.quantile, s.value])).toEqual([
      ['0', 0.000029], ['0.25', 0.000043041], ['0.5', 0.000056], ['0.75', 0.000081582], ['1', 0.000412917], [undefined, 41], [undefined, 23],
    ]);
  });

  it('Triton TensorRT-LLM: selector matchers pick request_type and kv_cache_block_type series', () => {
    const text = fixture('triton-trtllm.txt');
    const pick = (spec: string): number[] => {
      const selector = parseSeriesSelector(spec);
      return parse(text, [selector.name])
        .samples.filter((s) => selector.matchers.every((mt) => s.labels[mt.label] === mt.value))
        .map((s) => s.value);
    };
    expect(pick('nv_trt_llm_request_metrics{request_type=waiting}')).toEqual([3]);
    expect(pick('nv_trt_llm_request_metrics{request_type=scheduled}')).toEqual([12]);
    expect(pick('nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=fraction}')).toEqual([0.352]);
    expect(pick('nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="tokens_per"}')).toEqual([64]);
    expect(pick("nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type='max'}")).toEqual([6239]);
    const { samples, stats } = parse(text, ['nv_trt_llm_request_metrics']);
    expect(samples[0]).toEqual({ name: 'nv_trt_llm_request_metrics', labels: { model: 'tensorrt_llm', request_type: 'waiting', version: '1' }, value: 3, timestampMs: undefined });
    expect(stats).toEqual({ lines: text.split('\n').length - 1, samples: 5, skipped: sampleLineCount(text) - 5, malformed: 0 });
    expect(pick('nv_gpu_memory_used_bytes')).toEqual([76493520896]);
  });
});

describe('parsePrometheusText edge cases', () => {
  it('escaped label values and values with commas, braces, spaces, slashes, equals, hashes, None', () => {
    const text = [
      String.raw`e{path="C:\\models\\llama",quote="say \"hi\"",multi="line1\nline2",other="tab\tkept",end="\\"} 1.0`,
      'e{adapters="a,b,c",braces="{x}",spaces="  padded  ",slash="meta-llama/Llama-3.1-8B-Instruct",none="None",empty="",eq="a=b",hash="#1"} 2',
      'e{unicode="é🦙\u00a0"} 3',
    ].join('\n');
    const { samples, stats } = parse(text, ['e']);
    expect(samples.map((s) => s.labels)).toEqual([
      { path: 'C:\\models\\llama', quote: 'say "hi"', multi: 'line1\nline2', other: 'tab\\tkept', end: '\\' },
      { adapters: 'a,b,c', braces: '{x}', spaces: '  padded  ', slash: 'meta-llama/Llama-3.1-8B-Instruct', none: 'None', empty: '', eq: 'a=b', hash: '#1' },
      { unicode: 'é🦙\u00a0' },
    ]);
    expect(stats).toEqual({ lines: 3, samples: 3, skipped: 0, malformed: 0 });
  });

  it('float forms, NaN and infinities, timestamps, {} and blanks between tokens', () => {
    const text = [
      'f{k="py"} 8.0',
      'f{k="pyexp"} 4.2421665e+07',
      'f{k="go"} 16',
      'f{k="neg"} -3',
      'f{k="small"} 1e-05',
      'f{k="nan"} NaN',
      'f{k="pinf"} +Inf',
      'f{k="ninf"} -Inf',
      'f{k="inf"} Inf',
      'f{} 5',
      'f 6 1741528329000',
      'f{k="ts"} 7 -1000',
      '  f  {  b = "2" ,a="1",  }   5.5   1741528329123   ',
      '\tf\t{a="tab"}\t9',
    ].join('\n');
    const { samples, stats } = parse(text, ['f']);
    expect(samples.map((s) => [s.labels.k ?? s.labels.a, s.value, s.timestampMs])).toEqual([
      ['py', 8, undefined],
      ['pyexp', 42421665, undefined],
      ['go', 16, undefined],
      ['neg', -3, undefined],
      ['small', 0.00001, undefined],
      ['nan', NaN, undefined],
      ['pinf', Infinity, undefined],
      ['ninf', -Infinity, undefined],
      ['inf', Infinity, undefined],
      [undefined, 5, undefined],
      [undefined, 6, 1741528329000],
      ['ts', 7, -1000],
      ['1', 5.5, 1741528329123],
      ['tab', 9, undefined],
    ]);
    expect(samples[9]?.labels).toEqual({});
    expect(samples[12]?.labels).toEqual({ a: '1', b: '2' });
    expect(stats.malformed).toBe(0);
  });

  it('comments, blank lines, CRLF, a BOM, trailing blanks and a missing final newline', () => {
    const lines = ['\uFEFF# HELP g A gauge.', '# TYPE g gauge', '# some other comment', '#nospace', '   # indented', '', '   ', 'g{a="1"} 1   ', 'g{a="2"} 2'];
    const lf = lines.join('\n');
    const crlf = lines.join('\r\n');
    const expected = [
      { name: 'g', labels: { a: '1' }, value: 1, timestampMs: undefined },
      { name: 'g', labels: { a: '2' }, value: 2, timestampMs: undefined },
    ];
    for (const text of [lf, crlf, `${lf}\n`, `${crlf}\r\n`]) {
      const { samples, stats } = parse(text, ['g']);
      expect(samples).toEqual(expected);
      expect(stats).toEqual({ lines: 9, samples: 2, skipped: 0, malformed: 0 });
    }
    expect(parse('', ['g']).stats).toEqual({ lines: 0, samples: 0, skipped: 0, malformed: 0 });
    expect(parse('\n\n', ['g']).stats).toEqual({ lines: 2, samples: 0, skipped: 0, malformed: 0 });
  });

  it('counts malformed wanted lines and reports nothing for them', () => {
    const bad = [
      'm{a="unterminated} 1',
      'm{a="1"} notanumber',
      'm{a="1",a="2"} 1',
      'm{a="1"} 1 2 3',
      'm{a="1"} 1 1.5',
      'm{1a="x"} 1',
      'm{a=1} 1',
      'm{a="1"',
      'm{a="1" b="2"} 1',
      'm{,} 1',
      'm',
      'm ',
      'm{a="1"}',
      'm{a="x\\',
      'm 1e',
      'm 0x10',
      'm --1',
      'm 1_000',
    ];
    const text = [...bad, 'm{a="ok"} 1', '{no="name"} 1', '9lives 1', '"quoted" 1', 'other 1', 'other{garbage'].join('\n');
    const { samples, stats } = parse(text, ['m']);
    expect(samples).toEqual([{ name: 'm', labels: { a: 'ok' }, value: 1, timestampMs: undefined }]);
    // Unwanted lines are skipped unvalidated when they can start a metric name; others are malformed.
    expect(stats).toEqual({ lines: bad.length + 6, samples: 1, skipped: 2, malformed: bad.length + 3 });
  });

  it('gives each sample a fresh null-prototype labels object; __proto__ and constructor are plain labels', () => {
    const { samples } = parse('p{a="1"} 1\np{a="1"} 2\np{__proto__="x",constructor="y"} 3\np{b="2"} 4', ['p']);
    expect(samples[0]?.labels).not.toBe(samples[1]?.labels);
    const odd = samples[2]?.labels ?? {};
    expect(Object.getPrototypeOf(odd)).toBe(null);
    expect(Object.keys(odd)).toEqual(['__proto__', 'constructor']);
    expect(odd.constructor).toBe('y');
    expect(Object.getOwnPropertyDescriptor(odd, '__proto__')?.value).toBe('x');
    // Inherited names are absent, not Object.prototype members.
    const plain = samples[3]?.labels ?? {};
    expect(['constructor', 'toString', '__proto__'].map((k) => plain[k])).toEqual([undefined, undefined, undefined]);
    expect({ ...plain }).toEqual({ b: '2' });
  });

  it('matches exact names when wanted names are prefixes of one another, and follows a set that changed', () => {
    const text = 'a 1\na_b 2\na_bc 3\nab 4\na:b{x="1"} 5\n';
    expect(parse(text, ['a', 'a_b', 'a:b']).samples.map((s) => s.value)).toEqual([1, 2, 5]);
    const wanted = new Set(['a']);
    const seen: number[] = [];
    parsePrometheusText(text, wanted, (_n, _l, v) => seen.push(v));
    wanted.add('ab');
    parsePrometheusText(text, wanted, (_n, _l, v) => seen.push(v));
    wanted.delete('a');
    parsePrometheusText(text, wanted, (_n, _l, v) => seen.push(v));
    expect(seen).toEqual([1, 1, 4, 4]);
    expect(parse(text, ['']).stats).toEqual({ lines: 5, samples: 0, skipped: 5, malformed: 0 });
    expect(parse(text, []).stats.skipped).toBe(5);
  });

  it('survives pathological input quickly: huge lines, unterminated quotes at the end, NULs, lone surrogates', () => {
    const huge = `m{a="${'x'.repeat(2_000_000)}`;
    expect(parse(huge, ['m']).stats).toEqual({ lines: 1, samples: 0, skipped: 0, malformed: 1 });
    expect(parse(`m{a="${'\\'.repeat(100_001)}`, ['m']).stats.malformed).toBe(1);
    expect(parse(`m{a="${'x'.repeat(1_000_000)}"} 1`, ['m']).samples[0]?.labels.a).toHaveLength(1_000_000);
    expect(parse('m{a="\0\ud800"} \0', ['m']).stats.malformed).toBe(1);
    expect(parse('m{a="\0\ud800"} 1', ['m']).samples[0]?.labels.a).toBe('\0\ud800');
    const manyLines = 'm{a="\n'.repeat(100_000);
    expect(parse(manyLines, ['m']).stats).toEqual({ lines: 100_000, samples: 0, skipped: 0, malformed: 100_000 });
  });

  it('hands out label strings that do not pin the scrape text', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept: Record<string, string>[] = [];
    for (let i = 0; i < 20; i++) {
      // Long names and values, plain and escaped; each text is 4 MB.
      const text = `p{a_long_label_name_here="adapter-number-${i}-with-long-name",e="x\\\\y-${i}-and-more"} 1\n#${'x'.repeat(4_000_000)}`;
      parsePrometheusText(text, new Set(['p']), (_n, labels) => kept.push(labels));
    }
    gc();
    expect(kept[19]).toEqual({ a_long_label_name_here: 'adapter-number-19-with-long-name', e: 'x\\y-19-and-more' });
    // Pinned texts would keep 80 MB.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(20e6);
  });

  it('is reentrant: a handler may parse another text', () => {
    const outer = 'o{a="1"} 1\no{a="x\\\\y"} 2\no{a="3"} 3';
    // The padding puts the inner text's backslashes past the outer text's escaped value.
    const inner = `# ${'pad '.repeat(30)}\n${String.raw`i{a="\\"} 1`}\n${String.raw`i{a="\""} 2`}`;
    const seen: string[] = [];
    parsePrometheusText(outer, new Set(['o']), (_n, labels) => {
      seen.push(labels.a ?? '?');
      parsePrometheusText(inner, new Set(['i']), (_m, l) => seen.push(l.a ?? '?'));
    });
    expect(seen).toEqual(['1', '\\', '"', 'x\\y', '\\', '"', '3', '\\', '"']);
  });

  it('lets exceptions from the handler propagate', () => {
    expect(() =>
      parsePrometheusText('m 1', new Set(['m']), () => {
        throw new Error('handler bug');
      }),
    ).toThrow('handler bug');
  });
});

describe('parsePromFloat', () => {
  it('accepts Go and Python forms', () => {
    const cases: [string, number][] = [
      ['8.0', 8],
      ['4.2421665e+07', 42421665],
      ['1.7415283296545e+09', 1741528329.6545],
      ['9.8212343808e+010', 98212343808],
      ['16', 16],
      ['-3', -3],
      ['+Inf', Infinity],
      ['-Inf', -Infinity],
      ['Inf', Infinity],
      ['inf', Infinity],
      ['Infinity', Infinity],
      ['-infinity', -Infinity],
      ['0', 0],
      ['0.0', 0],
      ['.5', 0.5],
      ['5.', 5],
      ['1E3', 1000],
      ['1e-05', 0.00001],
      ['2.9e-05', 0.000029],
      ['1.6590000000000007', 1.6590000000000007],
      ['0.1', 0.1],
      ['123456789012345678901234567890', 1.2345678901234568e29],
      ['1e400', Infinity],
      ['1e-400', 0],
      ['4.9406564584124654e-324', 5e-324],
      ['1.7976931348623157e308', Number.MAX_VALUE],
    ];
    for (const [text, value] of cases) expect([text, parsePromFloat(text)]).toEqual([text, value]);
    expect(Object.is(parsePromFloat('-0.0'), -0)).toBe(true);
    expect(parsePromFloat('NaN')).toBeNaN();
    expect(parsePromFloat('nan')).toBeNaN();
  });

  it('returns NaN for garbage', () => {
    for (const text of ['', ' 1', '1 ', '+', '-', '.', 'e5', '1e', '1e+', '1.2.3', '0x10', '1_000', 'Infinit', 'infx', 'NaNa', '--1', '1,5', 'None', '１']) {
      expect([text, parsePromFloat(text)]).toEqual([text, NaN]);
    }
  });

  it('agrees with Number() on every decimal spelling of a double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), fc.constantFrom('string', 'exp', 'fixed', 'precision'), (d, style) => {
        const text =
          style === 'string' ? String(d) : style === 'exp' ? d.toExponential() : style === 'fixed' && Math.abs(d) < 1e21 ? d.toFixed(8) : d.toPrecision(17);
        const expected = Number(text);
        if (Number.isNaN(expected)) return;
        expect(Object.is(parsePromFloat(text), expected)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const v = parsePromFloat(s);
        expect(typeof v).toBe('number');
      }),
    );
  });
});

describe('parseSeriesSelector', () => {
  it('accepts a bare name and equality matchers with unquoted, double- and single-quoted values', () => {
    expect(parseSeriesSelector('vllm:num_requests_waiting')).toEqual({ name: 'vllm:num_requests_waiting', matchers: [] });
    expect(parseSeriesSelector('  vllm:x  ')).toEqual({ name: 'vllm:x', matchers: [] });
    expect(parseSeriesSelector('nv_trt_llm_request_metrics{request_type=waiting}')).toEqual({
      name: 'nv_trt_llm_request_metrics',
      matchers: [{ label: 'request_type', value: 'waiting' }],
    });
    expect(parseSeriesSelector(`m{a="x, }y",b='q"z', c = 0.5 ,}`)).toEqual({
      name: 'm',
      matchers: [
        { label: 'a', value: 'x, }y' },
        { label: 'b', value: 'q"z' },
        { label: 'c', value: '0.5' },
      ],
    });
    expect(parseSeriesSelector(String.raw`m{a="q\"\\\n"}`).matchers).toEqual([{ label: 'a', value: 'q"\\\n' }]);
    expect(parseSeriesSelector('m {}')).toEqual({ name: 'm', matchers: [] });
    expect(parseSeriesSelector('m{model=meta-llama/Llama-3.1-8B}').matchers).toEqual([{ label: 'model', value: 'meta-llama/Llama-3.1-8B' }]);
  });

  it('throws a clear Error for malformed specs', () => {
    const cases: [string, RegExp][] = [
      ['', /empty selector/],
      ['   ', /empty selector/],
      ['{a="b"}', /expected a metric name/],
      ['9m', /expected a metric name/],
      ['m{', /missing closing "}"/],
      ['m{a="b"', /missing closing "}"/],
      ['m{a="b}', /unterminated quoted value/],
      ['m{a}', /expected "=" after label "a"/],
      ['m{a=}', /missing value for label "a"/],
      ['m{a=', /missing value for label "a"/],
      ['m{a!=b}', /only equality matchers/],
      ['m{a=~"b.*"}', /only equality matchers/],
      ['m{a="1",a="2"}', /duplicate matcher for label "a"/],
      ['m{a="1"} x', /after "}"/],
      ['m x', /after metric name/],
      ['m{1a="x"}', /expected a label name/],
      ['m{a="1" b="2"}', /expected "," or "}"/],
      ['m{__name__="x"}', /__name__/],
      [String.raw`m{a="\q"}`, /unsupported escape/],
    ];
    for (const [spec, message] of cases) {
      expect(() => parseSeriesSelector(spec), spec).toThrow(message);
      expect(() => parseSeriesSelector(spec), spec).toThrow(/^invalid series selector/);
    }
  });
});

// --- Property tests -------------------------------------------------------------------------------

const GARBAGE_FRAGMENTS = ['m', 'mm', 'x', '{', '}', '"', '\\', '=', ',', ' ', '\t', '\n', '\r', '\r\n', '#', '1', '-', '+', '.', 'e', 'Inf', 'NaN', 'a', '_', ':', '\0', '\ud800'];

describe('parsePrometheusText never throws', () => {
  const check = (text: string): void => {
    let calls = 0;
    const stats = parsePrometheusText(text, new Set(['m', 'mm', 'a', 'x{']), () => calls++);
    expect(stats.samples).toBe(calls);
    expect(stats.samples + stats.skipped + stats.malformed).toBeLessThanOrEqual(stats.lines);
  };

  it('on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), check), { numRuns: 2000 });
  });

  it('on arbitrary bytes decoded as UTF-8 and as Latin-1', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        check(Buffer.from(bytes).toString('utf8'));
        check(Buffer.from(bytes).toString('latin1'));
      }),
      { numRuns: 2000 },
    );
  });

  it('on near-miss expositions built from syntax fragments', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...GARBAGE_FRAGMENTS), { maxLength: 80 }), (parts) => check(parts.join(''))), { numRuns: 5000 });
  });
});

type FloatStyle = 'go' | 'py' | 'exp';

function padExponent(s: string, style: FloatStyle): string {
  return s.replace(/e([+-])(\d+)$/, (_m, sign: string, digits: string) => {
    const padded = digits.padStart(2, '0');
    // prometheus_client writes large positive values as `e+0<n>` even for n ≥ 10.
    return `e${sign}${style === 'exp' && sign === '+' && digits.length > 1 ? `0${padded}` : padded}`;
  });
}

function formatValue(v: number, style: FloatStyle): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0.0';
  if (style === 'exp') return padExponent(v.toExponential(), style);
  const s = padExponent(String(v), style);
  return style === 'py' && /^-?\d+$/.test(s) ? `${s}.0` : s;
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

interface GenSample {
  labels: [string, string][];
  value: number;
  style: FloatStyle;
  timestampMs: number | undefined;
}

interface GenFamily {
  name: string;
  help: string;
  samples: GenSample[];
}

interface Layout {
  blank: string;
  trailingComma: boolean;
  bracesWhenEmpty: boolean;
  extraLines: string[];
}

const metricName = fc
  .tuple(fc.constantFrom(...'abmzAZ_:'.split('')), fc.string({ unit: fc.constantFrom(...'abmz_:09AZ'.split('')), maxLength: 10 }))
  .map(([a, b]) => a + b);
const labelName = fc.tuple(fc.constantFrom(...'abzAZ_'.split('')), fc.string({ unit: fc.constantFrom(...'abz_09AZ'.split('')), maxLength: 8 })).map(([a, b]) => a + b);
const labelValue = fc.string({
  unit: fc.oneof(fc.constantFrom('"', '\\', '\n', '\r', '\t', ',', '{', '}', ' ', '=', '/', '#', 'n', '\\n'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
  maxLength: 12,
});
const sampleArb: fc.Arbitrary<GenSample> = fc.record({
  labels: fc.uniqueArray(fc.tuple(labelName, labelValue), { selector: ([n]) => n, maxLength: 5 }),
  value: fc.oneof(fc.double(), fc.integer(), fc.constantFrom(NaN, Infinity, -Infinity, 0.4508602, 42421665, 1741528329.6545)),
  style: fc.constantFrom<FloatStyle>('go', 'py', 'exp'),
  timestampMs: fc.option(fc.integer({ min: -1e12, max: 1e13 }), { nil: undefined }),
});
const familyArb: fc.Arbitrary<GenFamily> = fc.record({
  name: metricName,
  help: fc.string({ maxLength: 20 }),
  samples: fc.array(sampleArb, { maxLength: 4 }),
});
const layoutArb: fc.Arbitrary<Layout> = fc.record({
  blank: fc.constantFrom(' ', '\t', '  ', ' \t '),
  trailingComma: fc.boolean(),
  bracesWhenEmpty: fc.boolean(),
  extraLines: fc.array(fc.constantFrom('', '# a comment', '#', '   ', '# TYPE x untyped'), { maxLength: 3 }),
});

function render(families: readonly GenFamily[], layout: Layout): string {
  const out: string[] = [];
  const b = layout.blank;
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} gauge`, ...layout.extraLines);
    for (const s of f.samples) {
      const pairs = s.labels.map(([n, v]) => `${n}${b}=${b}"${escapeLabelValue(v)}"`);
      const labelText = pairs.length === 0 ? (layout.bracesWhenEmpty ? '{}' : '') : `{${pairs.join(`,${b}`)}${layout.trailingComma ? ',' : ''}}`;
      const ts = s.timestampMs === undefined ? '' : `${b}${s.timestampMs}`;
      out.push(`${f.name}${labelText}${b}${formatValue(s.value, s.style)}${ts}`);
    }
  }
  return out.join('\n');
}

/** Null-prototype like the parser's: random names on `{}` objects would bloat V8's shared hidden classes. */
function labelObject(pairs: readonly [string, string][]): Record<string, string> {
  const labels = Object.create(null) as Record<string, string>;
  for (const [name, value] of pairs) labels[name] = value;
  return labels;
}

function expectedSamples(families: readonly GenFamily[], wanted: ReadonlySet<string>): Sample[] {
  return families
    .filter((f) => wanted.has(f.name))
    .flatMap((f) => f.samples.map((s) => ({ name: f.name, labels: labelObject(s.labels), value: s.value, timestampMs: s.timestampMs })));
}

describe('parsePrometheusText round trip', () => {
  const expositionArb = fc
    .tuple(fc.array(familyArb, { maxLength: 6 }), layoutArb, fc.boolean())
    .chain(([families, layout, finalNewline]) =>
      fc.tuple(fc.constant(families), fc.constant(layout), fc.constant(finalNewline), fc.subarray(families.map((f) => f.name))),
    );

  it('parses generated expositions back to the same samples, in order', () => {
    fc.assert(
      fc.property(expositionArb, ([families, layout, finalNewline, wantedNames]) => {
        const wanted = new Set(wantedNames);
        const text = render(families, layout) + (finalNewline ? '\n' : '');
        const { samples, stats } = parse(text, wanted);
        const expected = expectedSamples(families, wanted);
        expect(samples).toEqual(expected);
        expect(stats.malformed).toBe(0);
        expect(stats.samples).toBe(expected.length);
        expect(stats.samples + stats.skipped).toBe(families.reduce((n, f) => n + f.samples.length, 0));
      }),
      { numRuns: 1500 },
    );
  });

  it('gives the same result for CRLF and LF line endings', () => {
    fc.assert(
      fc.property(expositionArb, ([families, layout, finalNewline, wantedNames]) => {
        const text = render(families, layout) + (finalNewline ? '\n' : '');
        const lf = parse(text, wantedNames);
        const crlf = parse(text.replace(/\n/g, '\r\n'), wantedNames);
        expect(crlf).toEqual(lf);
      }),
      { numRuns: 1000 },
    );
  });
});
