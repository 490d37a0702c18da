/**
 * `approx-prefix-cache-producer` (DataProducer + PreRequestHook): the approximate prefix-cache index
 * of reference §5.4.
 *
 * - `produce` (before scheduling): hashes the prompt once into chained blocks of 4·B bytes, at most
 *   `maxBlocks` of them, runs the greedy longest-prefix match against every candidate, and stores a
 *   `PrefixMatchInfo` under its own name (`prefixMatchKey(name)`; consumers pick the instance with
 *   `prefixMatchInfoProducerName`).
 *   - Images, videos and audio are hashed by content and sized in placeholder tokens, as the
 *     reference's estimator does (prompt-text.ts); videos by the request's `x-llm-d-video-*` headers.
 *   - B, the block size in tokens: the first candidate reporting `cache_config_info`'s block size
 *     when `autoTune`, else `blockSizeTokens`; then raised to at least 64 (llm-d-router #1158: the
 *     index keeps one entry per endpoint and block, and vLLM's 16-token blocks made it 4× larger
 *     than 64-token ones for the same prompts). The clamp applies to every source of B.
 *   - maxBlocks: `⌊maxPrefixTokensToMatch / B⌋` when `maxPrefixTokensToMatch` > 0, else
 *     `maxPrefixBlocksToMatch`, and the whole prompt when both are 0 (a token cap below B hashes
 *     nothing, as in the reference).
 * - `preRequest` (after scheduling, before forwarding): adds the blocks to the LRU of the primary
 *   profile's first target and of the `prefill` profile's first target, if any. The update is
 *   synchronous (the reference defers it to a goroutine), so the next request — even one of the same
 *   burst, before any metrics scrape — already sees these blocks: a burst sharing a new prefix lands
 *   on one endpoint instead of spreading over endpoints that all look cold.
 *
 * An endpoint's LRU capacity is its `cacheNumBlocks` (`num_gpu_blocks`) when `autoTune` and > 0, else
 * `lruCapacityPerServer` (which the reference ignores, a known bug); it follows changes of either.
 * Endpoints that leave the pool must be dropped with `retainOnly` (wire it to datastore changes).
 *
 * Parameters (reference names and defaults, llm-d-router v0.10; unknown ones are errors, as in the
 * reference): `autoTune` true, `blockSizeTokens` 16 (so 64 after the clamp), `maxPrefixBlocksToMatch`
 * 2048, `maxPrefixTokensToMatch` 131072 (128 Ki tokens, so 2048 blocks of 64), `lruCapacityPerServer`
 * 31250 (≤ 0 means the default), deprecated `blockSize`: taken as `blockSizeTokens` when that is left
 * at its default 16, as the reference does. `autoTune: false` needs `blockSizeTokens` > 0.
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import { ApproxPrefixMatch } from '../../../prefix/approx-prefix-match.js';
import { BlockHasher, HASH_WORDS, NO_HASHES, seedText } from '../../../prefix/block-hasher.js';
import { CHARS_PER_TOKEN } from '../../../prefix/constants.js';
import { PrefixIndex } from '../../../prefix/prefix-index.js';
import type { PrefixCacheMetrics, PrefixMatchMetrics } from '../../../prefix/prefix-metrics.js';
import { promptText } from '../../../prefix/prompt-text.js';
import { videoMetadataOf } from '../../../request/video-metadata.js';
import { StateKey } from '../../cycle-state.js';
import { LATEST_PREFIX_MATCH, prefixMatchKey, type PrefixMatchInfo } from '../../prefix-match.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { DataProducer, PreRequestHook, SchedulingRequest, SchedulingResult } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, warnParameter } from '../../../plugin/parameters.js';

export const APPROX_PREFIX_CACHE_PRODUCER_TYPE = 'approx-prefix-cache-producer';

/** The profile whose target also receives the prompt's blocks (P/D disaggregation). */
export const PREFILL_PROFILE_NAME = 'prefill';

export const DEFAULT_BLOCK_SIZE_TOKENS = 16;
/** The smallest block size used, whatever is configured or reported (llm-d-router #1158). */
export const MIN_BLOCK_SIZE_TOKENS = 64;
export const DEFAULT_MAX_PREFIX_BLOCKS = 2048;
export const DEFAULT_MAX_PREFIX_TOKENS = 131072;
/** (80 GB − 16 GB) / 128 KB per token ≈ 500 k tokens / 16 per block (Llama-3-8B on an H100). */
export const DEFAULT_LRU_CAPACITY_PER_SERVER = 31250;

const parametersSchema = z
  .strictObject({
    autoTune: z.boolean().default(true),
    blockSizeTokens: z.number().int().min(0).optional(),
    blockSize: z.number().int().optional(),
    maxPrefixBlocksToMatch: z.number().int().min(0).default(DEFAULT_MAX_PREFIX_BLOCKS),
    maxPrefixTokensToMatch: z.number().int().min(0).default(DEFAULT_MAX_PREFIX_TOKENS),
    lruCapacityPerServer: z.number().int().default(DEFAULT_LRU_CAPACITY_PER_SERVER),
  })
  .superRefine((p, ctx) => {
    if (!p.autoTune && effectiveBlockSizeTokens(p) <= 0) {
      ctx.addIssue({ code: 'custom', path: ['blockSizeTokens'], message: 'blockSizeTokens must be > 0 when autoTune is false' });
    }
  });

/** `blockSizeTokens`, or the deprecated `blockSize` when `blockSizeTokens` is absent or 16 (the reference's mapping). */
function effectiveBlockSizeTokens(p: { readonly blockSizeTokens?: number | undefined; readonly blockSize?: number | undefined }): number {
  const tokens = p.blockSizeTokens ?? DEFAULT_BLOCK_SIZE_TOKENS;
  return p.blockSize !== undefined && p.blockSize > 0 && tokens === DEFAULT_BLOCK_SIZE_TOKENS ? p.blockSize : tokens;
}

/** The producer's effective configuration. */
export interface ApproxPrefixCacheConfig {
  readonly autoTune: boolean;
  readonly blockSizeTokens: number;
  readonly maxPrefixBlocksToMatch: number;
  readonly maxPrefixTokensToMatch: number;
  readonly lruCapacityPerServer: number;
}

export const DEFAULT_APPROX_PREFIX_CACHE_CONFIG: ApproxPrefixCacheConfig = Object.freeze({
  autoTune: true,
  blockSizeTokens: DEFAULT_BLOCK_SIZE_TOKENS,
  maxPrefixBlocksToMatch: DEFAULT_MAX_PREFIX_BLOCKS,
  maxPrefixTokensToMatch: DEFAULT_MAX_PREFIX_TOKENS,
  lruCapacityPerServer: DEFAULT_LRU_CAPACITY_PER_SERVER,
});

/** Decodes the plugin's `parameters` (absent = all defaults); throws ConfigError. */
export function decodeApproxPrefixCacheParameters(parameters: unknown, name: string): ApproxPrefixCacheConfig {
  const p = decodeParameters(parametersSchema, parameters, APPROX_PREFIX_CACHE_PRODUCER_TYPE, name);
  if (p.blockSize !== undefined) warnParameter(APPROX_PREFIX_CACHE_PRODUCER_TYPE, name, `parameter "blockSize" is deprecated; use "blockSizeTokens" (read as ${effectiveBlockSizeTokens(p)} tokens)`);
  return {
    autoTune: p.autoTune,
    blockSizeTokens: effectiveBlockSizeTokens(p),
    maxPrefixBlocksToMatch: p.maxPrefixBlocksToMatch,
    maxPrefixTokensToMatch: p.maxPrefixTokensToMatch,
    lruCapacityPerServer: p.lruCapacityPerServer > 0 ? p.lruCapacityPerServer : DEFAULT_LRU_CAPACITY_PER_SERVER,
  };
}

// Hashing is synchronous, so one set of scratch buffers serves every producer instance.
const hasher = new BlockHasher();

export class ApproxPrefixCacheProducer implements DataProducer, PreRequestHook {
  readonly typedName: TypedName;
  /** The index; exposed for pool maintenance, tests and benchmarks. */
  readonly index = new PrefixIndex();
  readonly #own: StateKey<ApproxPrefixMatch>;
  readonly #published: StateKey<PrefixMatchInfo>;
  #metrics: PrefixMatchMetrics | undefined;

  constructor(
    name: string,
    readonly config: ApproxPrefixCacheConfig = DEFAULT_APPROX_PREFIX_CACHE_CONFIG,
  ) {
    this.typedName = { type: APPROX_PREFIX_CACHE_PRODUCER_TYPE, name };
    // The typed key keeps the hashes for this instance's own index update; consumers read the
    // published one by producer name.
    this.#own = new StateKey(`${APPROX_PREFIX_CACHE_PRODUCER_TYPE}/${name}`);
    this.#published = prefixMatchKey(name);
  }

  /** Reports match ratios and the index size to `metrics` from now on. */
  attachMetrics(metrics: PrefixMatchMetrics): void {
    this.#metrics = metrics;
  }

  /** Block size in tokens for a request over `candidates` (never below MIN_BLOCK_SIZE_TOKENS). */
  blockSizeTokens(candidates: readonly Endpoint[]): number {
    let b = this.config.blockSizeTokens;
    if (this.config.autoTune) {
      // The first candidate that reports one: an unscraped first candidate must not flip the block
      // size (and so every hash) for this request only; the reference reads the first candidate alone.
      for (let i = 0; i < candidates.length; i++) {
        const reported = (candidates[i] as Endpoint).metrics.cacheBlockSize;
        if (reported > 0) {
          b = reported;
          break;
        }
      }
    }
    return b < MIN_BLOCK_SIZE_TOKENS ? MIN_BLOCK_SIZE_TOKENS : b;
  }

  /** Blocks hashed at most for block size `b` (see the module doc). */
  maxBlocks(b: number): number {
    const { maxPrefixTokensToMatch, maxPrefixBlocksToMatch } = this.config;
    if (maxPrefixTokensToMatch > 0) return Math.floor(maxPrefixTokensToMatch / b);
    // Both caps 0: the whole prompt (bounded by the request size limit).
    return maxPrefixBlocksToMatch > 0 ? maxPrefixBlocksToMatch : Math.floor(Number.MAX_SAFE_INTEGER / (b * CHARS_PER_TOKEN));
  }

  /** The LRU capacity for `endpoint`'s blocks. */
  capacityFor(endpoint: Endpoint): number {
    const n = endpoint.metrics.cacheNumBlocks;
    return this.config.autoTune && n > 0 ? n : this.config.lruCapacityPerServer;
  }

  produce(request: SchedulingRequest, candidates: readonly Endpoint[]): void {
    const b = this.blockSizeTokens(candidates);
    const maxBlocks = this.maxBlocks(b);
    const blockBytes = b * CHARS_PER_TOKEN;
    const llm = request.llm;
    let hashes = NO_HASHES;
    if (llm !== undefined && blockBytes > 0 && maxBlocks > 0) {
      const seed = seedText(request.targetModel, llm.cacheSalt);
      // A completions prompt the parser left undecoded is hashed from its bytes (the same hashes).
      const literal = llm.api === 'completions' ? llm.promptJson : undefined;
      hashes =
        literal !== undefined
          ? hasher.hashJsonString(literal, seed, blockBytes, maxBlocks)
          : hasher.hash(promptText(llm, blockBytes * maxBlocks, videoMetadataOf(request.headers)), seed, blockBytes, maxBlocks);
    }
    const counts = new Int32Array(candidates.length);
    if (hashes.length > 0) this.index.match(hashes, candidates, counts);
    const info = new ApproxPrefixMatch(hashes.length / HASH_WORDS, b, hashes, candidates, counts);
    request.state.set(this.#published, info);
    request.state.set(LATEST_PREFIX_MATCH, info);
    request.state.set(this.#own, info);
  }

  preRequest(request: SchedulingRequest, result: SchedulingResult, _setHeaders: Map<string, string>): void {
    const info = request.state.get(this.#own);
    if (info === undefined) return;
    const primary = result.profileResults.get(result.primaryProfileName)?.targets[0];
    if (primary === undefined) return;
    if (info.totalBlocks > 0) {
      this.index.add(primary, info.hashes, this.capacityFor(primary));
      if (result.primaryProfileName !== PREFILL_PROFILE_NAME) {
        const prefill = result.profileResults.get(PREFILL_PROFILE_NAME)?.targets[0];
        if (prefill !== undefined && prefill !== primary) this.index.add(prefill, info.hashes, this.capacityFor(prefill));
      }
    }
    this.#metrics?.observeMatch(info.matchedBlocks(primary), info.totalBlocks, info.blockSizeTokens);
  }

  /** Drops every endpoint not in `endpoints` from the index (call when the pool changes). */
  retainOnly(endpoints: Iterable<Endpoint>): number {
    return this.index.retainOnly(endpoints);
  }
}

/** A factory whose producers report to `metrics` (when given). */
export function createApproxPrefixCacheProducerFactory(metrics?: PrefixCacheMetrics): PluginFactory {
  return (name, parameters) => {
    const producer = new ApproxPrefixCacheProducer(name, decodeApproxPrefixCacheParameters(parameters, name));
    if (metrics !== undefined) producer.attachMetrics(metrics.forPlugin(producer.typedName, producer.index));
    return producer;
  };
}

/** The plain factory (no metrics; attach them later with `attachMetrics`). */
export const approxPrefixCacheProducerFactory: PluginFactory = createApproxPrefixCacheProducerFactory();
