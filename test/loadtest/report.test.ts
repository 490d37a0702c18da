import { describe, expect, it } from 'vitest';
import { comparisonRows, formatComparison } from '../../src/loadtest/compare.js';
import { jsonDocument } from '../../src/loadtest/json-output.js';
import { formatReport, problemCount } from '../../src/loadtest/report.js';
import { sampleResult } from './fixtures.js';

describe('formatReport', () => {
  it('shows every stage, the errors by kind, and unmeasured values as -', () => {
    const text = formatReport(sampleResult());
    expect(text).toContain('health        ok');
    expect(text).toContain('prefix        affinity 0.875 over 2 groups (8/8 ok');
    expect(text).toContain('TTFT p50: first of a group 250.0 ms, later 70.0 ms; cached prompt tokens per later request 960');
    expect(text).toMatch(/group 1 \(completions\)\s+vllm-0 3, vllm-2 1\s+top share 0\.75/);
    expect(text).toContain('distribution  balance (max/mean) 1.33 over 3 replicas');
    expect(text).toContain('throughput    5.5 requests/s, 176.0 output tokens/s at concurrency 4 (8/10 ok, 2 failed: HTTP 503 ×2');
    expect(text).toMatch(/ITL ms\s+2\.50\s+4\.00\s+-\s+270/);
    expect(text).toContain('errors        3 requests failed or not started');
    expect(problemCount(sampleResult())).toBe(3);
  });

  it('reports a failed health check and no other stage', () => {
    const r = sampleResult();
    const text = formatReport({ url: r.url, model: 'm', identity: 'none', elapsedMs: 10, health: { ...r.health, ok: false, completionStatus: 500, problems: ['a tiny completion failed: HTTP 500'] } });
    expect(text).toContain('health        FAILED');
    expect(text).toContain('a tiny completion failed: HTTP 500');
    expect(text).not.toContain('prefix ');
    expect(text).toContain('replica identity: unknown');
  });
});

describe('jsonDocument', () => {
  it("has the issue's keys and shapes, with null for unmeasured values", () => {
    const doc = JSON.parse(jsonDocument(sampleResult())) as Record<string, unknown>;
    expect(doc).toMatchObject({
      health: { ok: true },
      prefixAffinity: 0.875,
      prefixTtftMs: { first: 250, later: 70 },
      distribution: { 'vllm-0': 3, 'vllm-1': 4, 'vllm-2': 2 },
      balance: 4 / 3,
      throughput: { requestsPerSec: 5.5, outputTokensPerSec: 176 },
      latencyMs: { p50: 100, p95: 180, p99: 190 },
      ttftMs: { p50: 20, p95: 40, p99: 45 },
      itlMs: { p50: 2.5, p95: 4, p99: null },
      stages: { throughput: { requests: { planned: 10, ok: 8, errors: { 'HTTP 503': 2 } } } },
    });
  });

  it('adds the comparison run and the ratios', () => {
    const a = sampleResult('http://a');
    const b = sampleResult('http://b', 2);
    const doc = JSON.parse(jsonDocument(a, b, comparisonRows(a, b))) as { compare: { url: string }; ratios: Record<string, number | null> };
    expect(doc.compare.url).toBe('http://b');
    expect(doc.ratios.latencyP50Ms).toBe(0.5);
    expect(doc.ratios.requestsPerSec).toBe(2);
    expect(doc.ratios.prefixAffinity).toBe(1);
    expect(doc.ratios.itlP50Ms).toBe(0.5);
  });
});

describe('comparison', () => {
  it('names the better run per metric by its direction, and = within 2 %', () => {
    const rows = comparisonRows(sampleResult('http://a'), sampleResult('http://b', 2));
    const by = new Map(rows.map((r) => [r.key, r]));
    expect(by.get('latencyP50Ms')).toMatchObject({ a: 100, b: 200, ratio: 0.5, winner: 'A' });
    expect(by.get('requestsPerSec')).toMatchObject({ winner: 'A', ratio: 2 });
    expect(by.get('prefixAffinity')?.winner).toBe('=');
    const text = formatComparison(sampleResult('http://a'), sampleResult('http://b', 2));
    expect(text).toContain('A = http://a');
    expect(text).toMatch(/latency p50 ms\s+100\.0\s+200\.0\s+0\.50\s+A \(lower\)/);
  });
});
