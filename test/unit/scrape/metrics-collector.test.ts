import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Endpoint } from '../../../src/datastore/endpoint.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { compileEngineConfig, BUILTIN_ENGINE_SPECS } from '../../../src/scrape/engine-config.js';
import { ScrapeError, type FetchOptions, type MetricsFetcher } from '../../../src/scrape/scrape-error.js';
import { MetricsCollector, SYSTEM_CLOCK, type CollectorOptions } from '../../../src/scrape/metrics-collector.js';

const VLLM = compileEngineConfig(BUILTIN_ENGINE_SPECS[0] ?? { name: 'vllm' });
const page = (queue: number, kv: number): string =>
  `vllm:num_requests_waiting{engine="0",model_name="m"} ${queue}.0\nvllm:num_requests_running{engine="0",model_name="m"} 1.0\nvllm:kv_cache_usage_perc{engine="0",model_name="m"} ${kv}\n`;

/** A fetcher whose answers the test controls; each call waits until resolved or rejected. */
class ScriptedFetcher implements MetricsFetcher {
  calls: { url: URL; options: FetchOptions; resolve: (text: string) => void; reject: (err: Error) => void }[] = [];
  closed = false;
  fetch(url: URL, options: FetchOptions): Promise<string> {
    return new Promise((resolve, reject) => this.calls.push({ url, options, resolve, reject }));
  }
  forgotten: string[] = [];
  forget(url: URL): void {
    this.forgotten.push(url.href);
  }
  close(): void {
    this.closed = true;
  }
}

let fetcher: ScriptedFetcher;
let errors: { poll: number; extract: number };

function collector(over: Partial<CollectorOptions> = {}): MetricsCollector {
  return new MetricsCollector({
    intervalMs: 50,
    stalenessMs: 2000,
    timeoutMs: 1000,
    maxBytes: 1 << 20,
    maxBackoffMs: 1000,
    scheme: 'http',
    path: '/metrics',
    nameFilter: false,
    fetcher,
    engineFor: () => VLLM,
    clock: SYSTEM_CLOCK,
    logger: silentLogger(),
    metrics: { pollError: () => errors.poll++, extractError: () => errors.extract++ },
    ...over,
  });
}

beforeEach(() => {
  vi.useFakeTimers();
  fetcher = new ScriptedFetcher();
  errors = { poll: 0, extract: 0 };
});
afterEach(() => vi.useRealTimers());

describe('MetricsCollector', () => {
  it('scrapes each endpoint at once and then every interval, publishing immutable values', async () => {
    const e = new Endpoint('a', '10.0.0.1', 8000, {});
    const c = collector();
    c.sync([e]);
    expect(fetcher.calls).toHaveLength(1);
    expect(fetcher.calls[0]?.url.href).toBe('http://10.0.0.1:8000/metrics');
    fetcher.calls[0]?.resolve(page(3, 0.25));
    await vi.advanceTimersByTimeAsync(0);
    expect(e.metrics).toMatchObject({ known: true, waitingQueueSize: 3, kvCacheUsage: 0.25 });
    expect(Object.isFrozen(e.metrics)).toBe(true);
    await vi.advanceTimersByTimeAsync(50);
    expect(fetcher.calls).toHaveLength(2);
    c.stop();
    expect(fetcher.closed).toBe(true);
  });

  it('asks for only the families it reads when the name filter is on', () => {
    const c = collector({ nameFilter: true });
    c.sync([new Endpoint('a', '10.0.0.1', 8000, {})]);
    expect(fetcher.calls[0]?.url.searchParams.getAll('name[]')).toEqual([...VLLM.wanted].sort());
    c.stop();
  });

  it('never overlaps scrapes of one endpoint: ticks are skipped while one is in flight', async () => {
    const c = collector();
    c.sync([new Endpoint('a', '10.0.0.1', 8000, {})]);
    await vi.advanceTimersByTimeAsync(500);
    expect(fetcher.calls).toHaveLength(1);
    fetcher.calls[0]?.resolve(page(0, 0));
    await vi.advanceTimersByTimeAsync(50);
    expect(fetcher.calls).toHaveLength(2);
    c.stop();
  });

  it('marks values unknown once older than the staleness threshold, even while the scrape hangs', async () => {
    const e = new Endpoint('a', '10.0.0.1', 8000, {});
    const c = collector();
    c.sync([e]);
    fetcher.calls[0]?.resolve(page(1, 0.1));
    await vi.advanceTimersByTimeAsync(50); // second scrape starts and never answers
    expect(e.metrics.known).toBe(true);
    await vi.advanceTimersByTimeAsync(1950);
    expect(e.metrics.known).toBe(true);
    await vi.advanceTimersByTimeAsync(100);
    expect(e.metrics.known).toBe(false);
    c.stop();
  });

  it('marks a refused endpoint unknown at once and backs off exponentially up to the cap', async () => {
    const e = new Endpoint('a', '10.0.0.1', 8000, {});
    const c = collector();
    c.sync([e]);
    fetcher.calls[0]?.resolve(page(1, 0.1));
    await vi.advanceTimersByTimeAsync(50);
    fetcher.calls[1]?.reject(new ScrapeError('refused', 'connect ECONNREFUSED'));
    await vi.advanceTimersByTimeAsync(0);
    expect(e.metrics.known).toBe(false);
    expect(errors.poll).toBe(1);
    const attemptTimes: number[] = [];
    for (let t = 0; t < 6000; t += 50) {
      const before = fetcher.calls.length;
      await vi.advanceTimersByTimeAsync(50);
      if (fetcher.calls.length > before) {
        attemptTimes.push(t + 50);
        fetcher.calls.at(-1)?.reject(new ScrapeError('refused', 'connect ECONNREFUSED'));
        await vi.advanceTimersByTimeAsync(0);
      }
    }
    const gaps = attemptTimes.slice(1).map((t, i) => t - (attemptTimes[i] ?? 0));
    expect(gaps.slice(0, 3)).toEqual([200, 400, 800]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1050);
    c.stop();
  });

  it('keeps garbage answers from looking idle and counts extract errors', async () => {
    const e = new Endpoint('a', '10.0.0.1', 8000, {});
    const c = collector();
    c.sync([e]);
    fetcher.calls[0]?.resolve('<html>not metrics</html>');
    await vi.advanceTimersByTimeAsync(0);
    expect(e.metrics.known).toBe(false);
    expect(errors.extract).toBe(1);
    c.stop();
  });

  it('starts and stops loops as endpoints come and go; a late answer for a removed endpoint is dropped', async () => {
    const a = new Endpoint('a', '10.0.0.1', 8000, {});
    const b = new Endpoint('b', '10.0.0.2', 8000, {});
    const c = collector();
    c.sync([a, b]);
    expect(c.size).toBe(2);
    c.sync([b]);
    expect(c.size).toBe(1);
    expect(fetcher.forgotten).toEqual(['http://10.0.0.1:8000/metrics']);
    fetcher.calls[0]?.resolve(page(5, 0.5));
    await vi.advanceTimersByTimeAsync(0);
    expect(a.metrics.known).toBe(false);
    c.stop();
    expect(c.size).toBe(0);
  });
});
