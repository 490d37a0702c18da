/**
 * `mm-embeddings-cache-scorer`: llm-d's multimodal encoder-cache affinity scorer (llm-d-router v0.10
 * `scorer/mmcacheaffinity`). A candidate scores the share of the request's distinct multimodal items
 * it is believed to hold (matched size / total size, in [0, 1]), read from the match
 * `mm-embeddings-cache-producer` published; 0 for every candidate when there is none (a request
 * without media, or no producer). Parameter `producerName` (default: the producer named
 * `mm-embeddings-cache-producer`) picks the producer instance.
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import type { TypedName } from '../../../plugin/plugin.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { StateKey } from '../../cycle-state.js';
import { encoderCacheMatchKey, readEncoderCacheMatch, type EncoderCacheMatch } from '../../encoder-cache-match.js';
import type { Scorer, SchedulingRequest } from '../../types.js';

export const MM_EMBEDDINGS_CACHE_SCORER_TYPE = 'mm-embeddings-cache-scorer';

const parametersSchema = z.strictObject({
  producerName: z.string().optional(),
});

export class MmEmbeddingsCacheScorer implements Scorer {
  readonly typedName: TypedName;
  readonly #key: StateKey<EncoderCacheMatch>;

  /** @param producerName the producer instance read (undefined = the default one) */
  constructor(
    name: string,
    readonly producerName?: string,
  ) {
    this.typedName = { type: MM_EMBEDDINGS_CACHE_SCORER_TYPE, name };
    this.#key = encoderCacheMatchKey(producerName);
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const n = candidates.length;
    const match = readEncoderCacheMatch(request.state, this.#key, this.producerName !== undefined);
    if (match === undefined || !(match.totalSize > 0)) {
      out.fill(0, 0, n);
      return;
    }
    const direct = match.matchedFor(candidates);
    for (let i = 0; i < n; i++) {
      const m = direct !== undefined ? (direct[i] as number) : match.matchedSize(candidates[i] as Endpoint);
      const r = m / match.totalSize;
      out[i] = r > 1 ? 1 : r > 0 ? r : 0;
    }
  }
}

export const mmEmbeddingsCacheScorerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(parametersSchema, parameters, MM_EMBEDDINGS_CACHE_SCORER_TYPE, name);
  return new MmEmbeddingsCacheScorer(name, p.producerName === '' ? undefined : p.producerName);
};
