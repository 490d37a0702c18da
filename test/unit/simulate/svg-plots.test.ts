import { describe, expect, it } from 'vitest';
import type { SimulationResult } from '../../../src/simulate/simulator.js';
import { hitRateSvg, ttftCdfSvg } from '../../../src/simulate/svg-plots.js';

const result = (config: string, hitRate: number, quantiles: number[]): SimulationResult => ({
  config,
  requests: 10,
  completed: 10,
  rejected: 0,
  failed: 0,
  hitRate,
  oracleHitRate: 0.9,
  ttftP50Ms: 1,
  ttftP90Ms: 1,
  ttftP99Ms: 1,
  itlP50Ms: 1,
  itlP99Ms: 1,
  outputTokensPerSec: 1,
  spanS: 1,
  preemptions: 0,
  ttftQuantilesMs: quantiles,
  perReplica: [],
});

const RESULTS = [result('random', 0.4, [20, 50, 300, 900, 4000]), result('a<b>&"c"', 0.85, [15, 30, 60, 90, 200]), result('empty', 0, [])];

function polylines(svg: string): string[][] {
  return [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => (m[1] ?? '').split(' '));
}

describe('svg plots', () => {
  it('draws one monotone CDF line per configuration with samples, with a log axis spanning all of them', () => {
    const svg = ttftCdfSvg(RESULTS);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const lines = polylines(svg);
    expect(lines).toHaveLength(2);
    for (const points of lines) {
      const xy = points.map((p) => p.split(',').map(Number) as [number, number]);
      for (let i = 1; i < xy.length; i++) {
        expect(xy[i]![0]).toBeGreaterThanOrEqual(xy[i - 1]![0]);
        expect(xy[i]![1]).toBeLessThan(xy[i - 1]![1]);
      }
    }
    expect(svg).toContain('>10 ms<');
    expect(svg).toContain('>10 s<');
    expect(svg).toContain('a&lt;b&gt;&amp;&quot;c&quot;');
    expect(svg).not.toContain('a<b>');
  });

  it('draws one bar per configuration and the oracle line', () => {
    const svg = hitRateSvg(0.9, RESULTS);
    expect(svg.match(/<rect class="bar"/g)).toHaveLength(RESULTS.length);
    expect(svg).toContain('oracle 0.900');
    expect(svg).toContain('>0.850<');
    expect(svg).toContain('stroke-dasharray');
  });
});
