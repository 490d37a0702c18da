/**
 * `mm-embeddings-cache-producer` (DataProducer + PreRequestHook): llm-d's multimodal encoder-cache
 * affinity producer (llm-d-router v0.10 `dataproducer/multimodal`).
 *
 * - `produce` (before scheduling): takes the request's distinct multimodal items (multimodal-items.ts:
 *   images, videos, audio of chat, Anthropic and vLLM generate requests; a repeated item counts once,
 *   size 1 each), and for every candidate counts those its LRU holds; publishes an
 *   `EncoderCacheMatch` under its own name (encoder-cache-match.ts). A request without items gets
 *   none, so the scorer gives every endpoint 0.
 * - `preRequest` (after scheduling): adds the items to the LRU of every target of the primary profile.
 *   Synchronous (the reference defers it to a goroutine), so the next request already sees them.
 *
 * Each endpoint's LRU holds `cacheSizeInMBPerServer` MiB / 2 MiB entries (the reference's fixed
 * assumption per item): 2048 with the default 4096; a value ≤ 0 means the default. Ours: at most
 * MAX_ENTRIES_PER_ENDPOINT entries whatever is configured, as clients choose what fills them.
 * `cacheSizeInMB` — the name the reference's own sample configuration uses, which its strict decoder
 * then refuses — is read as `cacheSizeInMBPerServer` with a warning. Endpoints that leave the pool are
 * dropped with `retainOnly` (wired to datastore changes, where the reference listens for delete events
 * and sweeps every 2 minutes).
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { EncoderCacheRecorder } from '../../../observability/encoder-cache-metrics.js';
import { decodeParameters, warnParameter } from '../../../plugin/parameters.js';
import type { TypedName } from '../../../plugin/plugin.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import { multimodalItemsOf } from '../../../request/multimodal-items.js';
import type { StateKey } from '../../cycle-state.js';
import { EncoderCacheIndex } from '../../encoder-cache-index.js';
import { EncoderCacheMatch, encoderCacheMatchKey, LATEST_ENCODER_CACHE_MATCH, type EncoderCacheItem } from '../../encoder-cache-match.js';
import type { DataProducer, PreRequestHook, SchedulingRequest, SchedulingResult } from '../../types.js';

export const MM_EMBEDDINGS_CACHE_PRODUCER_TYPE = 'mm-embeddings-cache-producer';

export const DEFAULT_CACHE_SIZE_MB_PER_SERVER = 4096;
/** The reference's assumed encoder-cache footprint of one item. */
export const MB_PER_ITEM = 2;
/** 2 TiB of encoder cache at 2 MiB an item: beyond any GPU, and a bound on what clients can make us keep. */
export const MAX_ENTRIES_PER_ENDPOINT = 1 << 20;

const parametersSchema = z.strictObject({
  cacheSizeInMBPerServer: z.number().int().optional(),
  cacheSizeInMB: z.number().int().optional(),
});

/** LRU entries per endpoint for a budget of `mb` MiB (≤ 0: the default). */
export function entriesPerEndpoint(mb: number): number {
  const budget = mb > 0 ? mb : DEFAULT_CACHE_SIZE_MB_PER_SERVER;
  return Math.min(MAX_ENTRIES_PER_ENDPOINT, Math.max(1, Math.floor(budget / MB_PER_ITEM)));
}

export class MmEmbeddingsCacheProducer implements DataProducer, PreRequestHook {
  readonly typedName: TypedName;
  readonly index: EncoderCacheIndex;
  readonly #key: StateKey<EncoderCacheMatch>;
  #metrics: EncoderCacheRecorder | undefined;

  constructor(
    name: string,
    readonly cacheSizeInMBPerServer = DEFAULT_CACHE_SIZE_MB_PER_SERVER,
  ) {
    this.typedName = { type: MM_EMBEDDINGS_CACHE_PRODUCER_TYPE, name };
    this.index = new EncoderCacheIndex(entriesPerEndpoint(cacheSizeInMBPerServer));
    this.#key = encoderCacheMatchKey(name);
  }

  /** Reports lookups and hit ratios to `metrics` from now on. */
  attachMetrics(metrics: EncoderCacheRecorder): void {
    this.#metrics = metrics;
  }

  produce(request: SchedulingRequest, candidates: readonly Endpoint[]): void {
    const all = multimodalItemsOf(request.llm);
    if (all.length === 0) return;
    const seen = new Set<string>();
    const items: EncoderCacheItem[] = [];
    for (const item of all) {
      if (seen.has(item.hash)) continue;
      seen.add(item.hash);
      items.push({ hash: item.hash, modality: item.modality, size: 1 });
    }
    let total = 0;
    for (const item of items) total += item.size;
    const metrics = this.#metrics;
    if (metrics !== undefined) {
      for (const item of items) {
        metrics.query(item.modality);
        for (const [e] of this.index.entries()) if (this.index.holds(e, item.hash)) metrics.hit(e.name, item.modality);
      }
    }
    const matched = new Int32Array(candidates.length);
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i] as Endpoint;
      let size = 0;
      for (const item of items) if (this.index.holds(c, item.hash)) size += item.size;
      matched[i] = size;
      metrics?.hitRatio(size / total);
    }
    const match = new EncoderCacheMatch(items, total, candidates, matched);
    request.state.set(this.#key, match);
    request.state.set(LATEST_ENCODER_CACHE_MATCH, match);
  }

  preRequest(request: SchedulingRequest, result: SchedulingResult, _setHeaders: Map<string, string>): void {
    const match = request.state.get(this.#key);
    if (match === undefined) return;
    const targets = result.profileResults.get(result.primaryProfileName)?.targets;
    if (targets === undefined) return;
    for (const t of targets) this.index.add(t, match.items.map((i) => i.hash));
  }

  /** Drops every endpoint not in `endpoints` (call when the pool changes). */
  retainOnly(endpoints: Iterable<Endpoint>): number {
    return this.index.retainOnly(endpoints);
  }
}

export const mmEmbeddingsCacheProducerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(parametersSchema, parameters, MM_EMBEDDINGS_CACHE_PRODUCER_TYPE, name);
  let mb = p.cacheSizeInMBPerServer;
  if (p.cacheSizeInMB !== undefined) {
    warnParameter(
      MM_EMBEDDINGS_CACHE_PRODUCER_TYPE,
      name,
      mb === undefined ? `parameter "cacheSizeInMB" read as "cacheSizeInMBPerServer" (the reference refuses it)` : `parameter "cacheSizeInMB" ignored: "cacheSizeInMBPerServer" is set`,
    );
    mb ??= p.cacheSizeInMB;
  }
  return new MmEmbeddingsCacheProducer(name, mb === undefined || mb <= 0 ? DEFAULT_CACHE_SIZE_MB_PER_SERVER : mb);
};
