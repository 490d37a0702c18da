import { describe, expect, it } from 'vitest';
import { LoadClient, generationBody } from '../../src/loadtest/http-client.js';
import { metricsIdentity } from '../../src/loadtest/identity.js';
import { creditedReplica, parseReplicaMetricsTargets, ReplicaMetricsProbe, workCounter } from '../../src/loadtest/replica-metrics.js';

const exposition = (prompt: number, success: number): string =>
  [
    '# HELP vllm:prompt_tokens_total Number of prefill tokens processed.',
    '# TYPE vllm:prompt_tokens_total counter',
    `vllm:prompt_tokens_total{engine="0",model_name="m"} ${prompt}`,
    '# TYPE vllm:request_success_total counter',
    `vllm:request_success_total{engine="0",finished_reason="length",model_name="m"} ${success}`,
    'vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} 0.0',
    'vllm:num_requests_running{engine="0",model_name="m"} 3.0',
    '',
  ].join('\n');

describe('replica metrics', () => {
  it('sums the work counters of a /metrics text', () => {
    expect(workCounter(exposition(120, 4))).toBe(124);
    expect(Number.isNaN(workCounter('up 1\n'))).toBe(true);
  });

  it('parses NAME=URL and bare URLs, adding /metrics to a bare host', () => {
    expect(parseReplicaMetricsTargets(['a=http://10.0.0.1:8000', 'http://10.0.0.2:8000/metrics'])).toEqual([
      { name: 'a', url: 'http://10.0.0.1:8000/metrics' },
      { name: '10.0.0.2:8000', url: 'http://10.0.0.2:8000/metrics' },
    ]);
    expect(() => parseReplicaMetricsTargets(['nope'])).toThrow('not a URL');
  });

  it('credits exactly one replica whose counter grew, else nobody', () => {
    const before = new Map([['a', 10], ['b', 5], ['c', Number.NaN]]);
    expect(creditedReplica(before, new Map([['a', 10], ['b', 7], ['c', 99]]))).toBe('b');
    expect(creditedReplica(before, new Map([['a', 11], ['b', 7], ['c', 0]]))).toBeUndefined();
    expect(creditedReplica(before, new Map([['a', 10], ['b', 5], ['c', 0]]))).toBeUndefined();
  });

  it('names the serving replica from deltas, re-scraping while the counters lag', async () => {
    const values = new Map([['http://r0/metrics', [100, 100, 100, 100]], ['http://r1/metrics', [50, 50, 50, 63]]]);
    const scrapes = new Map<string, number>();
    const fakeFetch = ((url: string | URL | Request) => {
      const key = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
      if (key.startsWith('http://gw')) return Promise.resolve(new Response('{"usage":{"completion_tokens":1}}', { status: 200 }));
      const n = scrapes.get(key) ?? 0;
      scrapes.set(key, n + 1);
      const series = values.get(key) ?? [];
      return Promise.resolve(new Response(exposition(series[Math.min(n, series.length - 1)] ?? 0, 0)));
    }) as typeof fetch;
    const waits: number[] = [];
    const probe = new ReplicaMetricsProbe(parseReplicaMetricsTargets(['r0=http://r0/metrics', 'r1=http://r1/metrics']), 1000, fakeFetch);
    const identity = metricsIdentity(probe, { retries: 5, retryMs: 7, wait: (ms) => (waits.push(ms), Promise.resolve()) });
    const client = new LoadClient({ baseUrl: 'http://gw', timeoutMs: 1000, clock: { now: () => 0 }, fetch: fakeFetch });
    const outcome = await identity.send(client, generationBody('m', '/v1/completions', { user: 'q' }, 1, false), new AbortController().signal);
    expect(outcome.replica).toBe('r1');
    expect(waits).toEqual([7, 7]);
    expect(identity).toMatchObject({ mode: 'metrics', sequential: true, known: ['r0', 'r1'] });
  });
});
