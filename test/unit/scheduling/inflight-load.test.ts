import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import { prefixMatchKey, PREFIX_MATCH, type PrefixMatchInfo } from '../../../src/scheduling/prefix-match.js';
import type { ActiveRequestScorer} from '../../../src/scheduling/plugins/scorers/active-request-scorer.js';
import { activeRequestScorerFactory } from '../../../src/scheduling/plugins/scorers/active-request-scorer.js';
import type {
  InFlightLoadProducer} from '../../../src/scheduling/plugins/producers/inflight-load-producer.js';
import {
  estimateInputTokens,
  estimateOutputTokens,
  INFLIGHT_LOAD,
  inFlightLoadKey,
  inFlightLoadProducerFactory,
  uncachedInputTokens,
} from '../../../src/scheduling/plugins/producers/inflight-load-producer.js';
import { TokenLoadScorer, tokenLoadScorerFactory } from '../../../src/scheduling/plugins/scorers/token-load-scorer.js';
import type { ProfileResult, Scorer, SchedulingRequest, SchedulingResult } from '../../../src/scheduling/types.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';

const CONTEXT = { random: () => 0.5 };

function llm(bodyBytes: number, maxOutputTokens?: number): LLMRequest {
  return { api: 'completions', model: 'm', stream: false, cacheSalt: undefined, body: {}, bodyBytes, ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }) };
}

function result(primary: Endpoint, more: Record<string, Endpoint> = {}): SchedulingResult {
  const profileResults = new Map<string, ProfileResult>([['decode', { targets: [primary] }]]);
  for (const [name, e] of Object.entries(more)) profileResults.set(name, { targets: [e] });
  return { primaryProfileName: 'decode', profileResults };
}

function match(hits: ReadonlyMap<Endpoint, number>, totalBlocks: number, blockSizeTokens = 64): PrefixMatchInfo {
  return { totalBlocks, blockSizeTokens, matchedBlocks: (e) => hits.get(e) ?? 0 };
}

function producer(parameters: unknown = undefined, name = 'inflight-load-producer'): InFlightLoadProducer {
  return inFlightLoadProducerFactory(name, parameters, CONTEXT) as InFlightLoadProducer;
}

function scores(scorer: Scorer, pool: readonly Endpoint[], request: SchedulingRequest): number[] {
  const out = new Float64Array(pool.length);
  scorer.score(request, pool, out);
  return Array.from(out);
}

describe('inflight-load-producer: the estimate', () => {
  it('input is ⌊bodyBytes/4⌋ (at least 1), none without a body', () => {
    expect(estimateInputTokens(schedulingRequest({ llm: llm(400) }))).toBe(100);
    expect(estimateInputTokens(schedulingRequest({ llm: llm(2) }))).toBe(1);
    expect(estimateInputTokens(schedulingRequest())).toBe(0);
  });

  it('output is round(input · outputRatio), bounded by the client cap and by maxEstimatedOutputTokens, whichever is lower', () => {
    const base = { addEstimatedOutputTokens: true, outputRatio: 1.5, maxEstimatedOutputTokens: undefined };
    expect(estimateOutputTokens(100, undefined, base)).toBe(150);
    expect(estimateOutputTokens(3, undefined, base)).toBe(5); // round(4.5) = 5
    expect(estimateOutputTokens(100, 40, base)).toBe(40);
    expect(estimateOutputTokens(100, 400, base)).toBe(150);
    expect(estimateOutputTokens(100, 0, base)).toBe(0);
    expect(estimateOutputTokens(100, undefined, { ...base, maxEstimatedOutputTokens: 30 })).toBe(30);
    expect(estimateOutputTokens(100, 20, { ...base, maxEstimatedOutputTokens: 30 })).toBe(20);
    expect(estimateOutputTokens(100, undefined, { ...base, outputRatio: 0 })).toBe(0);
    expect(estimateOutputTokens(0, undefined, base)).toBe(0);
  });

  it('only the prompt past the endpoint’s cached prefix counts, plus any tail beyond the indexed blocks', () => {
    const [a, b] = [endpoint(0), endpoint(1)];
    const m = match(new Map([[a, 3]]), 4, 64); // 256 indexed tokens, a holds 192 of them
    expect(uncachedInputTokens(256, m, a)).toBe(64);
    expect(uncachedInputTokens(256, m, b)).toBe(256);
    expect(uncachedInputTokens(1000, m, a)).toBe(64 + (1000 - 256)); // the tail past the cap
    expect(uncachedInputTokens(1000, undefined, a)).toBe(1000);
    expect(uncachedInputTokens(200, m, b)).toBe(256); // the last partial block counts whole, as the reference
  });
});

describe('inflight-load-producer: counting', () => {
  it('by default adds the uncached prompt only and releases the tokens at the first response byte, the request at the end', () => {
    const p = producer();
    const [e0, e1] = [endpoint(0), endpoint(1)];
    const req = schedulingRequest({ llm: llm(4000) }); // 1000 input tokens
    p.produce(req);
    expect(req.state.get(INFLIGHT_LOAD)).toBe(p);
    p.preRequest(req, result(e0));
    p.preRequest(req, result(e0)); // a repeated hook does not count twice
    expect([p.requests(e0), p.tokens(e0), p.requests(e1)]).toEqual([1, 1000, 0]);
    p.firstResponseByte(req);
    expect([p.requests(e0), p.tokens(e0)]).toEqual([1, 0]);
    p.requestEnded(req);
    p.requestEnded(req);
    expect([p.requests(e0), p.tokens(e0)]).toEqual([0, 0]);
  });

  it('discounts the target’s cached prefix, read from the producer prefixMatchInfoProducerName names', () => {
    const [e0, e1] = [endpoint(0), endpoint(1)];
    const p = producer({ prefixMatchInfoProducerName: 'gpu-prefix' });
    const req = schedulingRequest({ llm: llm(1024) }); // 256 tokens = 4 blocks of 64
    req.state.set(prefixMatchKey('gpu-prefix'), match(new Map([[e0, 3]]), 4));
    req.state.set(PREFIX_MATCH, match(new Map([[e0, 0]]), 4)); // another producer's view is not read
    p.preRequest(req, result(e0, { prefill: e1 }));
    expect([p.tokens(e0), p.tokens(e1)]).toEqual([64, 256]);
    // Without the parameter the default producer's match is read.
    const q = producer();
    const other = schedulingRequest({ llm: llm(1024) });
    other.state.set(PREFIX_MATCH, match(new Map([[e0, 2]]), 4));
    q.preRequest(other, result(e0));
    expect(q.tokens(e0)).toBe(128);
  });

  it('addEstimatedOutputTokens adds the output estimate and keeps it until the stream ends', () => {
    const p = producer({ addEstimatedOutputTokens: true });
    const e0 = endpoint(0);
    const req = schedulingRequest({ llm: llm(400) }); // 100 in, 150 out
    p.preRequest(req, result(e0));
    expect(p.tokens(e0)).toBe(250);
    p.firstResponseByte(req);
    expect([p.requests(e0), p.tokens(e0)]).toEqual([1, 250]);
    p.requestEnded(req);
    expect([p.requests(e0), p.tokens(e0)]).toEqual([0, 0]);
  });

  it('outputRatio, the request’s max_tokens and maxEstimatedOutputTokens shape the output estimate', () => {
    const e0 = endpoint(0);
    const add = (params: Record<string, unknown>, request: LLMRequest): number => {
      const p = producer({ addEstimatedOutputTokens: true, ...params });
      p.preRequest(schedulingRequest({ llm: request }), result(e0));
      return p.tokens(e0);
    };
    expect(add({ outputRatio: 0.5 }, llm(400))).toBe(100 + 50);
    expect(add({}, llm(400, 10))).toBe(100 + 10);
    expect(add({ maxEstimatedOutputTokens: 7 }, llm(400))).toBe(100 + 7);
    expect(add({ maxEstimatedOutputTokens: 7 }, llm(400, 3))).toBe(100 + 3);
    // Without addEstimatedOutputTokens none of them matter.
    const p = producer({ outputRatio: 9, maxEstimatedOutputTokens: 1 });
    p.preRequest(schedulingRequest({ llm: llm(400) }), result(e0));
    expect(p.tokens(e0)).toBe(100);
  });

  it('counts the first target of every profile; the prefill profile’s entry is released whole at the first byte', () => {
    for (const addEstimatedOutputTokens of [false, true]) {
      const p = producer({ addEstimatedOutputTokens });
      const [decode, prefill] = [endpoint(0), endpoint(1)];
      const req = schedulingRequest({ llm: llm(400) });
      p.preRequest(req, result(decode, { prefill }));
      expect([p.requests(decode), p.requests(prefill)]).toEqual([1, 1]);
      p.firstResponseByte(req);
      p.firstResponseByte(req);
      expect([p.requests(prefill), p.tokens(prefill)]).toEqual([0, 0]);
      expect([p.requests(decode), p.tokens(decode)]).toEqual([1, addEstimatedOutputTokens ? 250 : 0]);
      p.requestEnded(req);
      expect([p.requests(decode), p.tokens(decode), p.requests(prefill)]).toEqual([0, 0, 0]);
    }
  });

  it('one endpoint serving both profiles gets two entries, each released once', () => {
    const p = producer();
    const e = endpoint(0);
    const req = schedulingRequest({ llm: llm(400) });
    p.preRequest(req, result(e, { prefill: e }));
    expect([p.requests(e), p.tokens(e)]).toEqual([2, 200]);
    p.firstResponseByte(req);
    expect([p.requests(e), p.tokens(e)]).toEqual([1, 0]);
    p.requestEnded(req);
    expect([p.requests(e), p.tokens(e)]).toEqual([0, 0]);
  });

  it('counts by endpoint name, so a replaced endpoint object keeps its load', () => {
    const p = producer();
    p.preRequest(schedulingRequest({ llm: llm(40) }), result(endpoint(3)));
    expect(p.requests(endpoint(3, {}, { relabelled: 'yes' }))).toBe(1);
  });

  it('parameters: defaults, non-negative ranges, unknown names rejected, syncCrossReplicaState accepted', () => {
    expect(producer().estimate).toEqual({ addEstimatedOutputTokens: false, outputRatio: 1.5, maxEstimatedOutputTokens: undefined });
    expect(producer({ syncCrossReplicaState: false }).estimate.addEstimatedOutputTokens).toBe(false);
    expect(() => producer({ outputRatio: -0.1 })).toThrow(/outputRatio/);
    expect(() => producer({ maxEstimatedOutputTokens: -1 })).toThrow(/maxEstimatedOutputTokens/);
    expect(() => producer({ outputRatoi: 2 })).toThrow(/outputRatoi/);
  });
});

describe('inFlightLoadProducerName', () => {
  it('active-request-scorer and token-load-scorer read the producer instance they name', () => {
    const pool = [endpoint(0), endpoint(1)];
    const [e0, e1] = pool as [Endpoint, Endpoint];
    const busy0 = producer(undefined, 'inflight-load-producer');
    const busy1 = producer(undefined, 'other');
    busy0.preRequest(schedulingRequest({ llm: llm(4000) }), result(e0));
    busy1.preRequest(schedulingRequest({ llm: llm(4000) }), result(e1));
    const request = schedulingRequest();
    busy0.produce(request);
    busy1.produce(request);
    expect(request.state.get(inFlightLoadKey('other'))).toBe(busy1);

    const byDefault = activeRequestScorerFactory('a', {}, CONTEXT) as ActiveRequestScorer;
    const byName = activeRequestScorerFactory('a', { inFlightLoadProducerName: 'other' }, CONTEXT) as ActiveRequestScorer;
    expect(scores(byDefault, pool, request)).toEqual([0, 1]);
    expect(scores(byName, pool, request)).toEqual([1, 0]);

    const tokensDefault = tokenLoadScorerFactory('t', { queueThresholdTokens: 2000 }, CONTEXT) as TokenLoadScorer;
    const tokensByName = tokenLoadScorerFactory('t', { queueThresholdTokens: 2000, inFlightLoadProducerName: 'other' }, CONTEXT) as TokenLoadScorer;
    expect(scores(tokensDefault, pool, request)).toEqual([0.5, 1]);
    expect(scores(tokensByName, pool, request)).toEqual([1, 0.5]);
  });

  it('token-load-scorer adds what the request itself would add to each endpoint (its uncached prompt)', () => {
    const pool = [endpoint(0), endpoint(1)];
    const [e0] = pool as [Endpoint, Endpoint];
    const p = producer();
    const request = schedulingRequest({ llm: llm(1024) }); // 256 tokens
    request.state.set(PREFIX_MATCH, match(new Map([[e0, 4]]), 4)); // e0 holds all of it
    p.produce(request);
    expect(scores(new TokenLoadScorer('t', 1024), pool, request)).toEqual([1, 0.75]);
  });
});
