import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerBuiltins } from '../../../src/builtins.js';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import { EncoderCacheMetrics } from '../../../src/observability/encoder-cache-metrics.js';
import { collectParameterWarnings } from '../../../src/plugin/parameters.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import { parseOpenAIRequest } from '../../../src/request/openai-parser.js';
import { EncoderCacheIndex } from '../../../src/scheduling/encoder-cache-index.js';
import { encoderCacheMatchKey } from '../../../src/scheduling/encoder-cache-match.js';
import {
  entriesPerEndpoint,
  MAX_ENTRIES_PER_ENDPOINT,
  MmEmbeddingsCacheProducer,
  mmEmbeddingsCacheProducerFactory,
} from '../../../src/scheduling/plugins/producers/mm-embeddings-cache-producer.js';
import { MmEmbeddingsCacheScorer, mmEmbeddingsCacheScorerFactory } from '../../../src/scheduling/plugins/scorers/mm-embeddings-cache-scorer.js';
import type { SchedulingRequest, SchedulingResult } from '../../../src/scheduling/types.js';
import { describeScorer } from '../../contract/plugin-contracts.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';
import { configProblems } from '../../helpers/config-problems.js';

const ctx = { random: () => 0.5 };
const pool = [endpoint(0), endpoint(1), endpoint(2), endpoint(3)];
const at = (i: number): Endpoint => pool[i] as Endpoint;

const img = (n: number): unknown => ({ type: 'image_url', image_url: { url: `https://img.example/${n}.png` } });
function chat(...content: unknown[]): LLMRequest {
  return parseOpenAIRequest('/v1/chat/completions', Buffer.from(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'look' }, ...content] }] })));
}

function routed(targets: Endpoint[], primary = 'default'): SchedulingResult {
  return { primaryProfileName: primary, profileResults: new Map([[primary, { targets }]]) };
}

/** Produces, scores over `candidates` and returns the scores with the request. */
function scoreWith(p: MmEmbeddingsCacheProducer, s: MmEmbeddingsCacheScorer, llm: LLMRequest, candidates: readonly Endpoint[] = pool): { scores: number[]; request: SchedulingRequest } {
  const request = schedulingRequest({ llm });
  p.produce(request, pool);
  const out = new Float64Array(candidates.length);
  s.score(request, candidates, out);
  return { scores: Array.from(out), request };
}

describe('mm-embeddings-cache-producer parameters', () => {
  it('cacheSizeInMBPerServer (default 4096) / 2 MiB per item entries per endpoint; ≤ 0 means the default', () => {
    expect(entriesPerEndpoint(4096)).toBe(2048);
    expect(entriesPerEndpoint(0)).toBe(2048);
    expect(entriesPerEndpoint(-5)).toBe(2048);
    expect(entriesPerEndpoint(1)).toBe(1);
    expect(entriesPerEndpoint(Number.MAX_SAFE_INTEGER)).toBe(MAX_ENTRIES_PER_ENDPOINT);
    const defaults = mmEmbeddingsCacheProducerFactory('mm', undefined, ctx) as MmEmbeddingsCacheProducer;
    expect(defaults.index.capacity).toBe(2048);
    expect((mmEmbeddingsCacheProducerFactory('mm', { cacheSizeInMBPerServer: 64 }, ctx) as MmEmbeddingsCacheProducer).index.capacity).toBe(32);
    expect((mmEmbeddingsCacheProducerFactory('mm', { cacheSizeInMBPerServer: 0 }, ctx) as MmEmbeddingsCacheProducer).index.capacity).toBe(2048);
  });

  it('reads the reference sample\'s cacheSizeInMB with a warning, and refuses unknown or mistyped parameters', () => {
    const { value, warnings } = collectParameterWarnings(() => mmEmbeddingsCacheProducerFactory('mm', { cacheSizeInMB: 2048 }, ctx) as MmEmbeddingsCacheProducer);
    expect(value.index.capacity).toBe(1024);
    expect(warnings.join('\n')).toMatch(/"cacheSizeInMB" read as "cacheSizeInMBPerServer"/);
    const both = collectParameterWarnings(() => mmEmbeddingsCacheProducerFactory('mm', { cacheSizeInMB: 2048, cacheSizeInMBPerServer: 8 }, ctx) as MmEmbeddingsCacheProducer);
    expect(both.value.index.capacity).toBe(4);
    expect(both.warnings.join('\n')).toMatch(/"cacheSizeInMB" ignored/);
    expect(configProblems(() => mmEmbeddingsCacheProducerFactory('mm', { cacheSize: 1 }, ctx)).join('\n')).toMatch(/cacheSize/);
    expect(configProblems(() => mmEmbeddingsCacheProducerFactory('mm', { cacheSizeInMBPerServer: 'big' }, ctx)).join('\n')).toMatch(/cacheSizeInMBPerServer/);
  });

  it('the scorer takes producerName and nothing else', () => {
    expect((mmEmbeddingsCacheScorerFactory('s', { producerName: 'other' }, ctx) as MmEmbeddingsCacheScorer).producerName).toBe('other');
    expect((mmEmbeddingsCacheScorerFactory('s', {}, ctx) as MmEmbeddingsCacheScorer).producerName).toBeUndefined();
    expect(configProblems(() => mmEmbeddingsCacheScorerFactory('s', { weight: 2 }, ctx)).join('\n')).toMatch(/weight/);
  });
});

describe('configuration', () => {
  const config = (plugins: string, scorer = '- pluginRef: mm-embeddings-cache-scorer'): string =>
    `apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n${plugins}\nschedulingProfiles:\n- name: default\n  plugins:\n  ${scorer}\n`;

  it('injects the producer a lone scorer needs, as the reference\'s default producer', () => {
    const built = buildScheduler(loadConfig({ text: config('- type: mm-embeddings-cache-scorer') }), registerBuiltins(), ctx, undefined);
    expect(built.plugins.get('mm-embeddings-cache-producer')).toBeInstanceOf(MmEmbeddingsCacheProducer);
  });

  it('refuses a producerName that names no producer of that type', () => {
    const text = config('- type: mm-embeddings-cache-scorer\n  parameters: {producerName: nope}\n- type: queue-scorer\n  name: q');
    expect(configProblems(() => buildScheduler(loadConfig({ text }), registerBuiltins(), ctx, undefined)).join('\n')).toMatch(/producerName: no plugin named "nope"/);
    const wrongType = config('- type: mm-embeddings-cache-scorer\n  parameters: {producerName: q}\n- type: queue-scorer\n  name: q');
    expect(configProblems(() => buildScheduler(loadConfig({ text: wrongType }), registerBuiltins(), ctx, undefined)).join('\n')).toMatch(/plugin "q" has type queue-scorer, not mm-embeddings-cache-producer/);
  });
});

describe('encoder-cache LRU per endpoint', () => {
  it('evicts each endpoint\'s least recently added item beyond capacity, independently of other endpoints', () => {
    const index = new EncoderCacheIndex(2);
    index.add(at(0), ['a', 'b']);
    index.add(at(1), ['a']);
    index.add(at(0), ['a']); // refreshes a
    index.add(at(0), ['c']); // evicts b
    expect(['a', 'b', 'c'].map((h) => index.holds(at(0), h))).toEqual([true, false, true]);
    expect(index.holds(at(1), 'a')).toBe(true);
    expect(index.size).toBe(3);
    expect(index.retainOnly([at(1)])).toBe(1);
    expect(index.holds(at(0), 'a')).toBe(false);
    expect(index.endpoints).toBe(1);
    expect(() => new EncoderCacheIndex(0)).toThrow(RangeError);
  });
});

describe('mm-embeddings-cache-producer + -scorer', () => {
  it('a returning conversation with the same image goes to the endpoint that encoded it', () => {
    const p = new MmEmbeddingsCacheProducer('mm-embeddings-cache-producer');
    const s = new MmEmbeddingsCacheScorer('s');
    const first = scoreWith(p, s, chat(img(1)));
    expect(first.scores).toEqual([0, 0, 0, 0]);
    p.preRequest(first.request, routed([at(2)]), new Map());
    // Same image again, later in a longer conversation: e2 holds it.
    expect(scoreWith(p, s, chat(img(1))).scores).toEqual([0, 0, 1, 0]);
    // Half of the request's distinct items; a repeat counts once.
    expect(scoreWith(p, s, chat(img(1), img(7), img(1))).scores).toEqual([0, 0, 0.5, 0]);
    // Another image: nobody holds it.
    expect(scoreWith(p, s, chat(img(9))).scores).toEqual([0, 0, 0, 0]);
    // No media: no match, every endpoint 0.
    const textOnly = scoreWith(p, s, parseOpenAIRequest('/v1/chat/completions', Buffer.from('{"model":"m","messages":[{"role":"user","content":"hi"}]}')));
    expect(textOnly.scores).toEqual([0, 0, 0, 0]);
    expect(textOnly.request.state.get(encoderCacheMatchKey())).toBeUndefined();
  });

  it('learns every primary target, not other profiles\' targets, and scores filtered candidate lists', () => {
    const p = new MmEmbeddingsCacheProducer('mm-embeddings-cache-producer');
    const s = new MmEmbeddingsCacheScorer('s');
    const r = scoreWith(p, s, chat(img(1), img(2)));
    const result: SchedulingResult = {
      primaryProfileName: 'decode',
      profileResults: new Map([
        ['decode', { targets: [at(0), at(3)] }],
        ['prefill', { targets: [at(1)] }],
      ]),
    };
    p.preRequest(r.request, result, new Map());
    expect(scoreWith(p, s, chat(img(2)), [at(3), at(1)]).scores).toEqual([1, 0]);
    expect(scoreWith(p, s, chat(img(2), img(5))).scores).toEqual([0.5, 0, 0, 0.5]);
    // A failed profile or a missing primary result learns nothing.
    const none = scoreWith(p, s, chat(img(8)));
    p.preRequest(none.request, { primaryProfileName: 'decode', profileResults: new Map([['decode', null]]) }, new Map());
    expect(scoreWith(p, s, chat(img(8))).scores).toEqual([0, 0, 0, 0]);
  });

  it('forgets the oldest images of an endpoint at capacity, and endpoints that leave the pool', () => {
    const p = new MmEmbeddingsCacheProducer('mm-embeddings-cache-producer', 4); // 2 entries
    const s = new MmEmbeddingsCacheScorer('s');
    for (const n of [1, 2, 3]) p.preRequest(scoreWith(p, s, chat(img(n))).request, routed([at(0)]), new Map());
    expect(scoreWith(p, s, chat(img(1))).scores[0]).toBe(0);
    expect(scoreWith(p, s, chat(img(3))).scores[0]).toBe(1);
    p.retainOnly([at(1), at(2), at(3)]);
    expect(scoreWith(p, s, chat(img(3))).scores[0]).toBe(0);
  });

  it('named producers: a scorer reads the one it names, else the default name, else the latest match', () => {
    const a = new MmEmbeddingsCacheProducer('a');
    const b = new MmEmbeddingsCacheProducer('b');
    p2(a, 0);
    p2(b, 1);
    function p2(p: MmEmbeddingsCacheProducer, i: number): void {
      const request = schedulingRequest({ llm: chat(img(4)) });
      p.produce(request, pool);
      p.preRequest(request, routed([at(i)]), new Map());
    }
    const request = schedulingRequest({ llm: chat(img(4)) });
    a.produce(request, pool);
    b.produce(request, pool);
    const score = (sc: MmEmbeddingsCacheScorer): number[] => {
      const out = new Float64Array(pool.length);
      sc.score(request, pool, out);
      return Array.from(out);
    };
    expect(score(new MmEmbeddingsCacheScorer('s', 'a'))).toEqual([1, 0, 0, 0]);
    expect(score(new MmEmbeddingsCacheScorer('s', 'b'))).toEqual([0, 1, 0, 0]);
    expect(score(new MmEmbeddingsCacheScorer('s', 'missing'))).toEqual([0, 0, 0, 0]);
    expect(score(new MmEmbeddingsCacheScorer('s'))).toEqual([0, 1, 0, 0]);
  });

  it('reports lookups, per-endpoint hits and hit ratios under the reference metric names', async () => {
    const registry = new Registry();
    const p = new MmEmbeddingsCacheProducer('mm');
    p.attachMetrics(new EncoderCacheMetrics(registry).forPlugin(p.typedName));
    const s = new MmEmbeddingsCacheScorer('s', 'mm');
    p.preRequest(scoreWith(p, s, chat(img(1))).request, routed([at(1)]), new Map());
    scoreWith(p, s, chat(img(1), { type: 'video_url', video_url: { url: 'https://v/1.mp4' } }));
    const text = await registry.metrics();
    expect(text).toContain('llm_d_epp_encoder_cache_queries_total{plugin_type="mm-embeddings-cache-producer",plugin_name="mm",modality="image"} 2');
    expect(text).toContain('llm_d_epp_encoder_cache_queries_total{plugin_type="mm-embeddings-cache-producer",plugin_name="mm",modality="video"} 1');
    expect(text).toContain('llm_d_epp_encoder_cache_hits_total{plugin_type="mm-embeddings-cache-producer",plugin_name="mm",pod="e1",modality="image"} 1');
    // 4 candidates × 2 requests; one observation (e1, second request) at 0.5.
    expect(text).toContain('llm_d_epp_encoder_cache_hit_ratio_count{plugin_type="mm-embeddings-cache-producer",plugin_name="mm"} 8');
    expect(text).toContain('llm_d_epp_encoder_cache_hit_ratio_sum{plugin_type="mm-embeddings-cache-producer",plugin_name="mm"} 0.5');
  });
});

describeScorer('mm-embeddings-cache-scorer', () => new MmEmbeddingsCacheScorer('s'));
describeScorer('mm-embeddings-cache-scorer (with a match)', () => {
  const p = new MmEmbeddingsCacheProducer('mm-embeddings-cache-producer');
  const scorer = new MmEmbeddingsCacheScorer('s');
  // The contract's requests carry no media: each scoring first teaches the producer one image on the
  // first candidate, then scores a request holding it and another one (so that candidate scores 0.5).
  return {
    typedName: scorer.typedName,
    score: (_r: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array) => {
      const first = candidates[0];
      if (first !== undefined) {
        const seen = schedulingRequest({ llm: chat(img(1)) });
        p.produce(seen, candidates);
        p.preRequest(seen, routed([first]), new Map());
      }
      const withMatch = schedulingRequest({ llm: chat(img(1), img(2)) });
      p.produce(withMatch, candidates);
      scorer.score(withMatch, candidates, out);
      if (first !== undefined) expect(out[0]).toBe(0.5);
    },
  };
});
