/** The pool gauges, computed at scrape time as llm-d v0.10 computes them, with their deprecated twins. */
import { describe, expect, it } from 'vitest';
import { UNKNOWN_METRICS, type Endpoint } from '../../../src/datastore/endpoint.js';
import { EppMetrics } from '../../../src/observability/metrics.js';
import { endpoint } from '../../helpers/endpoints.js';

describe('pool gauges', () => {
  it('averages and sample standard deviations over the endpoints with fresh metrics, rounded to 2 decimals', async () => {
    const list: Endpoint[] = [
      endpoint(0, { kvCacheUsage: 0.1, waitingQueueSize: 1, runningRequestsSize: 4 }),
      endpoint(1, { kvCacheUsage: 0.4, waitingQueueSize: 3, runningRequestsSize: 4 }),
      endpoint(2, { kvCacheUsage: 0.7, waitingQueueSize: 8, runningRequestsSize: 4 }),
    ];
    const stale = endpoint(3, { waitingQueueSize: 100 });
    stale.metrics = UNKNOWN_METRICS;
    stale.reachable = false;
    list.push(stale);
    const m = new EppMetrics();
    m.attachPool('pool', () => list);
    const text = await m.registry.metrics();
    // Queue 1, 3, 8: mean 4, sample variance ((−3)² + (−1)² + 4²) / 2 = 13, σ = 3.6055… → 3.61.
    expect(text).toContain('llm_d_epp_average_queue_size{name="pool"} 4');
    expect(text).toContain('llm_d_epp_std_dev_queue_size{name="pool"} 3.61');
    expect(text).toContain('llm_d_epp_average_kv_cache_utilization{name="pool"} 0.4');
    expect(text).toContain('llm_d_epp_std_dev_kv_cache_utilization{name="pool"} 0.3');
    expect(text).toContain('llm_d_epp_average_running_requests{name="pool"} 4');
    expect(text).toContain('llm_d_epp_std_dev_running_requests{name="pool"} 0');
    expect(text).toContain('llm_d_epp_ready_endpoints{name="pool"} 3');
    expect(text).toContain('llm_d_epp_per_endpoint_queue_size{name="pool",model_server_endpoint="e2"} 8');
    expect(text).not.toContain('model_server_endpoint="e3"');
    expect(text).toContain('llm_d_epp_unreachable_endpoints{name="pool"} 1');
    // The deprecated names, same values.
    expect(text).toContain('inference_pool_average_queue_size{name="pool"} 4');
    expect(text).toContain('inference_pool_average_kv_cache_utilization{name="pool"} 0.4');
    expect(text).toContain('inference_pool_ready_pods{name="pool"} 3');
    expect(text).toContain('inference_pool_per_pod_queue_size{name="pool",model_server_pod="e2"} 8');
    expect(text).toContain('inference_pool_unreachable_endpoints{name="pool"} 1');
    expect(text).not.toContain('inference_pool_std_dev');
  });

  it('one fresh endpoint: deviation 0 (n − 1 is at least 1); none: no averages, and 0 ready', async () => {
    let list: Endpoint[] = [endpoint(0, { waitingQueueSize: 5 })];
    const m = new EppMetrics();
    m.attachPool('pool', () => list);
    let text = await m.registry.metrics();
    expect(text).toContain('llm_d_epp_std_dev_queue_size{name="pool"} 0');
    expect(text).toContain('llm_d_epp_average_queue_size{name="pool"} 5');
    list = [];
    text = await m.registry.metrics();
    expect(text).toContain('llm_d_epp_ready_endpoints{name="pool"} 0');
    expect(text).not.toMatch(/^llm_d_epp_average_queue_size\{/m);
    expect(text).not.toMatch(/^inference_pool_average_queue_size\{/m);
  });
});
