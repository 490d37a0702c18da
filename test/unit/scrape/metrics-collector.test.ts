import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Endpoint } from '../../../src/datastore/endpoint.js';
import { createLogger, silentLogger, type Logger } from '../../../src/observability/logger.js';
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

/** A logger whose info lines the test reads. */
function recordingLogger(): { logger: Logger; lines: { msg: string; endpoint?: string; reason?: string; unreachableForMs?: number }[] } {
  const lines: { msg: string }[] = [];
  return { logger: createLogger(2, 'test', { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) }), lines };
}

const FAILURES: readonly { kind: string; fail: (call: (typeof fetcher.calls)[number]) => void }[] = [
  { kind: 'refused', fail: (c) => c.reject(new ScrapeError('refused', 'connect ECONNREFUSED')) },
  { kind: 'timeout', fail: (c) => c.reject(new ScrapeError('timeout', 'no complete answer within 1000 ms')) },
  { kind: 'network', fail: (c) => c.reject(new ScrapeError('network', 'read ECONNRESET')) },
  { kind: 'http-status', fail: (c) => c.reject(new ScrapeError('http-status', 'HTTP 500')) },
  { kind: 'too-large', fail: (c) => c.reject(new ScrapeError('too-large', 'body exceeds 16777216 bytes')) },
  { kind: 'garbage', fail: (c) => c.resolve('<html>\n<body>Service Unavailable</body>\n</html>\n') },
  { kind: 'garbage', fail: (c) => c.resolve('\u0000\u00ff{{{ not prometheus\nvllm:num_requests_waiting{engine="0" 12\nrandom words here\n') },
];

describe('MetricsCollector reachability', () => {
  it('keeps a just-discovered endpoint reachable until its first scrape answers', async () => {
    const e = new Endpoint('a', '10.0.0.1', 8000, {});
    const c = collector();
    c.sync([e]);
    expect(e.reachable).toBe(true);
    await vi.advanceTimersByTimeAsync(900); // the first scrape is still in flight
    expect(e.reachable).toBe(true);
    expect(e.metrics.known).toBe(false);
    c.stop();
  });

  it.each(FAILURES.map((f, i) => [`${f.kind} #${i}`, f] as const))('makes an endpoint unreachable on its first failed scrape (%s), and readmits it on the first good one', async (_label, { kind, fail }) => {
    const { logger, lines } = recordingLogger();
    const reasons: string[] = [];
    const e = new Endpoint('a', '10.0.0.1', 8000, {});
    const c = collector({ logger, metrics: { pollError: () => errors.poll++, extractError: () => errors.extract++, endpointUnreachable: (r) => reasons.push(r) } });
    c.sync([e]);
    fetcher.calls[0]?.resolve(page(1, 0.1));
    await vi.advanceTimersByTimeAsync(50);
    expect(e.reachable).toBe(true);
    fail(fetcher.calls[1] as (typeof fetcher.calls)[number]);
    await vi.advanceTimersByTimeAsync(0);
    expect(e.reachable).toBe(false);
    // Only a refused connection (nothing listening) or a page that is not metrics forgets the values at once.
    expect(e.metrics.known).toBe(kind !== 'refused' && kind !== 'garbage');
    // Failing again changes nothing and logs nothing more.
    await vi.advanceTimersByTimeAsync(100);
    expect(fetcher.calls).toHaveLength(3);
    fail(fetcher.calls[2] as (typeof fetcher.calls)[number]);
    await vi.advanceTimersByTimeAsync(0);
    expect(e.reachable).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(fetcher.calls).toHaveLength(4);
    fetcher.calls[3]?.resolve(page(2, 0.2));
    await vi.advanceTimersByTimeAsync(0);
    expect(e.reachable).toBe(true);
    expect(e.metrics).toMatchObject({ known: true, waitingQueueSize: 2 });
    expect(reasons).toEqual([kind]);
    const transitions = lines.filter((l) => l.msg.startsWith('endpoint'));
    expect(transitions.map((l) => [l.msg.split(':')[0], l.endpoint, l.reason])).toEqual([
      ['endpoint unreachable', 'a', kind],
      ['endpoint reachable again', 'a', undefined],
    ]);
    expect(transitions[1]?.unreachableForMs).toBe(300);
    c.stop();
  });

  it('counts a never-scraped endpoint unreachable from its first failed scrape', async () => {
    const e = new Endpoint('a', '10.0.0.1', 8000, {});
    const c = collector();
    c.sync([e]);
    fetcher.calls[0]?.reject(new ScrapeError('timeout', 'no complete answer within 1000 ms'));
    await vi.advanceTimersByTimeAsync(0);
    expect(e.reachable).toBe(false);
    c.stop();
  });

  it('treats a page that parses but lacks families as reachable with missing data; an empty page too', async () => {
    for (const text of ['', 'vllm:num_requests_running{engine="0"} 1\n', '# HELP sglang:num_queue_reqs x\n# TYPE sglang:num_queue_reqs gauge\nsglang:num_queue_reqs 3\nother_family{a="b"} 1.5e3 1700000000000\n']) {
      const e = new Endpoint('a', '10.0.0.1', 8000, {});
      const c = collector();
      c.sync([e]);
      fetcher.calls.at(-1)?.resolve(text);
      await vi.advanceTimersByTimeAsync(0);
      expect(e.reachable, JSON.stringify(text)).toBe(true);
      expect(e.metrics.known).toBe(false);
      c.stop();
    }
    expect(errors.extract).toBe(3);
  });

  it('makes an endpoint unreachable once its last good scrape is older than the staleness threshold', async () => {
    // A scrape deadline longer than the threshold: only staleness can notice the hang in time.
    const { logger, lines } = recordingLogger();
    const e = new Endpoint('a', '10.0.0.1', 8000, {});
    const c = collector({ timeoutMs: 10_000, logger });
    c.sync([e]);
    fetcher.calls[0]?.resolve(page(1, 0.1));
    await vi.advanceTimersByTimeAsync(50); // the next scrape starts and hangs
    await vi.advanceTimersByTimeAsync(1950);
    expect(e.reachable).toBe(true);
    await vi.advanceTimersByTimeAsync(100);
    expect(e.reachable).toBe(false);
    expect(e.metrics.known).toBe(false);
    expect(lines.find((l) => l.msg.startsWith('endpoint unreachable'))?.reason).toBe('stale');
    fetcher.calls[1]?.resolve(page(4, 0.4));
    await vi.advanceTimersByTimeAsync(0);
    expect(e.reachable).toBe(true);
    c.stop();
  });

  it('readmits a recovered endpoint within the max backoff plus one interval, however long it failed', async () => {
    const e = new Endpoint('a', '10.0.0.1', 8000, {});
    const c = collector();
    c.sync([e]);
    let recoverAt = Infinity;
    let answered = 0;
    const answer = (): void => {
      for (; answered < fetcher.calls.length; answered++) {
        const call = fetcher.calls[answered];
        if (Date.now() >= recoverAt) call?.resolve(page(0, 0.1));
        else call?.reject(new ScrapeError('refused', 'connect ECONNREFUSED'));
      }
    };
    const delays: number[] = [];
    for (const downFor of [5000, 5020, 5490, 6010, 6730]) {
      // Fail for a while (the backoff reaches its cap), then recover at an arbitrary moment.
      recoverAt = Date.now() + downFor;
      while (Date.now() < recoverAt || !e.reachable) {
        answer();
        await vi.advanceTimersByTimeAsync(10);
        answer();
        await vi.advanceTimersByTimeAsync(0);
        if (Date.now() < recoverAt) expect(e.reachable).toBe(false);
      }
      delays.push(Date.now() - recoverAt);
      recoverAt = Infinity; // and fail again for the next round
      while (e.reachable) {
        await vi.advanceTimersByTimeAsync(10);
        answer();
        await vi.advanceTimersByTimeAsync(0);
      }
    }
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000 + 50);
    expect(Math.min(...delays)).toBeGreaterThan(0);
    c.stop();
  });
});
