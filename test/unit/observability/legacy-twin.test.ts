/** LegacyTwin: a deprecated name rendered from its current metric by projecting labels and summing. */
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotCounter, HotHistogram } from '../../../src/observability/hot-metrics.js';
import { twin } from '../../../src/observability/legacy-twin.js';

describe('LegacyTwin', () => {
  it('sums a counter over the labels it drops and keeps its own label order', async () => {
    const registry = new Registry();
    const c = new HotCounter({ name: 'new_total', help: 'Things.', labelNames: ['model', 'tenant', 'priority'], registry });
    twin(registry, c, 'old_total', ['priority', 'model']);
    c.labels('m', 't1', '0').inc(2);
    c.labels('m', 't2', '0').inc(3);
    c.labels('m', 't2', '1').inc();
    const text = await registry.metrics();
    expect(text).toContain('# HELP old_total Deprecated, use new_total. Things.');
    expect(text).toContain('# TYPE old_total counter');
    expect(text).toContain('old_total{priority="0",model="m"} 5');
    expect(text).toContain('old_total{priority="1",model="m"} 1');
    expect(text.match(/^old_total/gm)).toHaveLength(2);
  });

  it('renames a label and projects histograms bucket by bucket (sum and count included)', async () => {
    const registry = new Registry();
    const h = new HotHistogram({ name: 'lat_seconds', help: 'Latency.', labelNames: ['endpoint_name', 'zone'], buckets: [0.1, 1], registry });
    twin(registry, h, 'old_lat_seconds', [['pod_name', 'endpoint_name']]);
    h.labels('a', 'z1').observe(0.05);
    h.labels('a', 'z2').observe(0.5);
    h.labels('a', 'z2').observe(5);
    const text = await registry.metrics();
    expect(text).toContain('old_lat_seconds_bucket{le="0.1",pod_name="a"} 1');
    expect(text).toContain('old_lat_seconds_bucket{le="1",pod_name="a"} 2');
    expect(text).toContain('old_lat_seconds_bucket{le="+Inf",pod_name="a"} 3');
    expect(text).toContain('old_lat_seconds_sum{pod_name="a"} 5.55');
    expect(text).toContain('old_lat_seconds_count{pod_name="a"} 3');
    expect(text).toContain('# TYPE old_lat_seconds histogram');
  });

  it('reads a prom-client metric computed at scrape time (collect runs for the twin too)', async () => {
    const registry = new Registry();
    let n = 0;
    const g = new Gauge({
      name: 'ready_endpoints',
      help: 'Ready.',
      labelNames: ['name'] as const,
      registers: [registry],
      collect(this: Gauge<'name'>) {
        this.labels('pool').set(n);
      },
    });
    twin(registry, g, 'ready_pods', ['name']);
    n = 3;
    expect(await registry.metrics()).toContain('ready_pods{name="pool"} 3');
    n = 4;
    const text = await registry.metrics();
    expect(text).toContain('ready_endpoints{name="pool"} 4');
    expect(text).toContain('ready_pods{name="pool"} 4');
  });

  it('refuses a source that is not a metric', () => {
    expect(() => twin(new Registry(), {}, 'x', [])).toThrow(TypeError);
  });
});
