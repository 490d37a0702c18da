import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundedLabel } from '../../../src/observability/bounded-label.js';
import { HotCounter, HotGauge, HotHistogram, OVERFLOW_LABEL } from '../../../src/observability/hot-metrics.js';

describe('hot metrics', () => {
  it('render exactly like prom-client counters and histograms', async () => {
    const hot = new Registry();
    const ref = new Registry();
    const hc = new HotCounter({ name: 'c_total', help: 'h', labelNames: ['a', 'b'], registry: hot });
    const rc = new Counter({ name: 'c_total', help: 'h', labelNames: ['a', 'b'], registers: [ref] });
    const hh = new HotHistogram({ name: 'd_seconds', help: 'h', labelNames: ['p'], buckets: [0.001, 0.01, 0.1], registry: hot });
    const rh = new Histogram({ name: 'd_seconds', help: 'h', labelNames: ['p'], buckets: [0.001, 0.01, 0.1], registers: [ref] });
    for (const [a, b, n] of [['x', 'y', 2], ['x', 'z', 1], ['x', 'y', 3]] as const) {
      hc.labels(a, b).inc(n);
      rc.labels(a, b).inc(n);
    }
    for (const v of [0.0005, 0.001, 0.05, 3, 0.002]) {
      hh.labels('q').observe(v);
      rh.labels('q').observe(v);
    }
    expect(await hot.metrics()).toBe(await ref.metrics());
  });

  it('renders gauges exactly like prom-client', async () => {
    const hot = new Registry();
    const ref = new Registry();
    const hg = new HotGauge({ name: 'g', help: 'h', labelNames: ['m'], registry: hot });
    const rg = new Gauge({ name: 'g', help: 'h', labelNames: ['m'], registers: [ref] });
    for (const [m, by] of [['a', 1], ['b', 2], ['a', 1]] as const) {
      hg.labels(m).inc(by);
      rg.labels(m).inc(by);
    }
    hg.labels('b').dec();
    rg.labels('b').dec();
    expect(await hot.metrics()).toBe(await ref.metrics());
  });

  it('bounds declared labels through their limiter before looking the series up', async () => {
    const r = new Registry();
    const limiter = new BoundedLabel(1);
    const c = new HotCounter({ name: 'b_total', help: 'h', labelNames: ['model', 'code'], registry: r, bounded: { model: limiter } });
    c.labels('first', 'x').inc();
    c.labels('second', 'x').inc();
    c.labels('third', 'other-code').inc();
    c.labels('y'.repeat(1 << 20), 'x').inc();
    const text = await r.metrics();
    expect(text).toContain('b_total{model="first",code="x"} 1');
    expect(text).toContain('b_total{model="other",code="x"} 2');
    // Unbounded labels are left alone.
    expect(text).toContain('b_total{model="other",code="other-code"} 1');
    expect(text.length).toBeLessThan(400);
  });

  it('bounds the number of series and folds the rest into other', async () => {
    const r = new Registry();
    const c = new HotCounter({ name: 'm_total', help: 'h', labelNames: ['model'], registry: r, maxSeries: 3 });
    for (let i = 0; i < 10; i++) c.labels(`model-${i}`).inc();
    const text = await r.metrics();
    expect(text).toContain('m_total{model="model-0"} 1');
    expect(text).toContain(`m_total{model="${OVERFLOW_LABEL}"} 7`);
    expect(text).toContain('m_total{model="model-2"} 1');
    expect(text).not.toContain('model-9');
  });

  it('ignores non-finite observations', async () => {
    const r = new Registry();
    const h = new HotHistogram({ name: 'x', help: 'h', labelNames: [], buckets: [1], registry: r });
    h.labels().observe(NaN);
    h.labels().observe(0.5);
    expect(await r.metrics()).toContain('x_count 1');
  });
});
