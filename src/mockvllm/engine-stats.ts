import { Histogram, ITL_BUCKETS, REQUEST_LATENCY_BUCKETS, TTFT_BUCKETS } from './histogram.js';

/** Why a request stopped, as vLLM's `finished_reason` label spells it. */
export type FinishReason = 'stop' | 'length' | 'abort';

export const FINISH_REASONS: readonly FinishReason[] = ['stop', 'length', 'abort'];

/** The KV-cache geometry the mock pretends to have (reported in `vllm:cache_config_info`). */
export interface CacheGeometry {
  readonly blockSize: number;
  readonly numGpuBlocks: number;
}

/** 8192 blocks of 16 tokens: about 131k tokens, a mid-sized GPU's worth for a small model. */
export const DEFAULT_CACHE_GEOMETRY: CacheGeometry = { blockSize: 16, numGpuBlocks: 8192 };

/**
 * One request in flight. Report each emitted token with `token()` and the end exactly once with
 * `finish()`; later calls are ignored, so cleanup paths may call `finish('abort')` unconditionally.
 */
export interface RequestTracker {
  token(): void;
  finish(reason: FinishReason): void;
}

/** Monotonic milliseconds; injectable so tests can control latencies. */
export type Clock = () => number;

interface Running {
  readonly lora: string | undefined;
  readonly promptTokens: number;
  readonly startedAt: number;
  generated: number;
  lastTokenAt: number | undefined;
}

/**
 * The engine's live state and cumulative counters, the source of `/metrics`. A request is
 * "running" from `start()` until `finish()`; the mock has no queue, so nothing is ever waiting.
 */
export class EngineStats {
  promptTokens = 0;
  generationTokens = 0;
  prefixCacheQueries = 0;
  prefixCacheHits = 0;
  readonly finished = new Map<FinishReason, number>(FINISH_REASONS.map((r) => [r, 0]));
  readonly ttft = new Histogram(TTFT_BUCKETS);
  readonly itl = new Histogram(ITL_BUCKETS);
  readonly e2e = new Histogram(REQUEST_LATENCY_BUCKETS);
  private readonly running = new Set<Running>();

  constructor(
    readonly geometry: CacheGeometry = DEFAULT_CACHE_GEOMETRY,
    private readonly clock: Clock = () => performance.now(),
  ) {}

  get runningCount(): number {
    return this.running.size;
  }

  /** Distinct LoRA adapters among running requests, in the order they started. */
  runningLoras(): string[] {
    const names = new Set<string>();
    for (const r of this.running) if (r.lora !== undefined) names.add(r.lora);
    return [...names];
  }

  /** Fraction of KV blocks held by running requests (prompt plus generated tokens), capped at 1. */
  kvCacheUsage(): number {
    const { blockSize, numGpuBlocks } = this.geometry;
    let blocks = 0;
    for (const r of this.running) blocks += Math.ceil((r.promptTokens + r.generated) / blockSize);
    return Math.min(1, blocks / numGpuBlocks);
  }

  /** Admits a request with `promptTokens` prompt tokens (over all its choices) for `lora` (or the base model). */
  start(promptTokens: number, lora: string | undefined): RequestTracker {
    const entry: Running = { lora, promptTokens, startedAt: this.clock(), generated: 0, lastTokenAt: undefined };
    this.running.add(entry);
    this.promptTokens += promptTokens;
    this.prefixCacheQueries += promptTokens;
    let done = false;
    return {
      token: () => {
        if (done) return;
        const now = this.clock();
        if (entry.lastTokenAt === undefined) this.ttft.observe((now - entry.startedAt) / 1000);
        else this.itl.observe((now - entry.lastTokenAt) / 1000);
        entry.lastTokenAt = now;
        entry.generated++;
        this.generationTokens++;
      },
      finish: (reason) => {
        if (done) return;
        done = true;
        this.running.delete(entry);
        this.finished.set(reason, (this.finished.get(reason) ?? 0) + 1);
        this.e2e.observe((this.clock() - entry.startedAt) / 1000);
      },
    };
  }
}
