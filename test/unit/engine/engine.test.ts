import { describe, expect, it } from 'vitest';
import { expandHashIds } from '../../../src/engine/block-hashes.js';
import { Engine } from '../../../src/engine/engine.js';
import { INSTANT, LLAMA_8B_H100, QWEN25_3B_T4, engineProfile, withOverrides, type EngineProfile } from '../../../src/engine/profiles.js';
import type { EngineRequest, EngineResult } from '../../../src/engine/request.js';

/** An engine that records every token time and result. */
function harness(profile: EngineProfile) {
  const tokens = new Map<string, number[]>();
  const results = new Map<string, EngineResult>();
  const engine = new Engine({
    profile,
    listener: {
      onToken: (r, _i, t) => {
        const list = tokens.get(r.id) ?? [];
        list.push(t);
        tokens.set(r.id, list);
      },
      onFinish: (res) => results.set(res.request.id, res),
    },
  });
  return { engine, tokens, results };
}

/** A request whose prompt is built from coarse prefix ids (512 tokens each, as in Mooncake). */
function req(id: string, ids: number[], promptTokens: number, maxOutputTokens: number, over: Partial<EngineRequest> = {}): EngineRequest {
  return { id, promptTokens, maxOutputTokens, blockHashes: expandHashIds(ids, 512, promptTokens, 16, over.lora ?? ''), ...over };
}

const ttft = (r: EngineResult | undefined): number => (r === undefined ? Number.NaN : r.firstTokenS - r.arrivalS);

describe('Engine', () => {
  it('serves a cached prompt’s first token far sooner than an uncached one’s', () => {
    const { engine, results } = harness(LLAMA_8B_H100);
    engine.submit(req('cold', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], 8192, 4));
    engine.drain();
    engine.submit(req('warm', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], 8192, 4));
    engine.drain();
    const cold = ttft(results.get('cold'));
    const warm = ttft(results.get('warm'));
    expect(results.get('cold')?.cachedTokens).toBe(0);
    expect(results.get('warm')?.cachedTokens).toBe(8192 - 16);
    expect(cold).toBeCloseTo(0.01 + 0.00006 + 8192 / 20_000, 6);
    expect(warm).toBeLessThan(cold / 10);
    const snap = engine.snapshot();
    expect(snap.prefixCacheQueries).toBe(2 * 8192);
    expect(snap.prefixCacheHits).toBe(8192 - 16);
    expect(snap.promptTokens).toBe(2 * 8192);
    expect(snap.generationTokens).toBe(8);
    expect(snap.requestSuccess).toBe(2);
    expect(snap.kvCacheUsage).toBe(0);
  });

  it('recomputes the last prompt token even when the whole prompt is cached', () => {
    const { engine, results } = harness(LLAMA_8B_H100);
    engine.submit(req('a', [7], 512, 1));
    engine.drain();
    engine.submit(req('b', [7], 512, 1));
    engine.drain();
    expect(results.get('b')?.cachedTokens).toBe(496);
    engine.submit(req('c', [7, 8], 513, 1));
    engine.drain();
    expect(results.get('c')?.cachedTokens).toBe(512);
  });

  it('chunks a long prefill within max-num-batched-tokens', () => {
    const { engine, results } = harness(withOverrides(LLAMA_8B_H100, { maxNumBatchedTokens: 1024 }));
    engine.submit(req('long', [1, 2, 3, 4], 2048, 1));
    engine.drain();
    // Two steps of 1024 prefill tokens each.
    expect(ttft(results.get('long'))).toBeCloseTo(2 * (0.01 + 0.00006 + 1024 / 20_000), 9);
  });

  it('builds a waiting queue beyond max-num-seqs and still serves everyone', () => {
    const { engine, results } = harness(withOverrides(QWEN25_3B_T4, { maxNumSeqs: 2 }));
    for (let i = 0; i < 5; i++) engine.submit(req(`r${i}`, [100 + i], 100, 10));
    engine.advanceTo(engine.nextEventTime());
    let snap = engine.snapshot();
    expect(snap.running).toBe(2);
    expect(snap.waiting).toBe(3);
    engine.drain();
    snap = engine.snapshot();
    expect(snap.running + snap.waiting).toBe(0);
    expect(results.size).toBe(5);
    // FCFS: the later requests queued, so their TTFT is longer.
    expect(ttft(results.get('r4'))).toBeGreaterThan(ttft(results.get('r0')) * 2);
  });

  it('preempts the newest running request under KV pressure, and it still completes', () => {
    // 12 blocks of 16 tokens; three requests of 48 prompt + 40 output tokens (6 blocks each at the end).
    const profile = withOverrides(QWEN25_3B_T4, { numGpuBlocks: 12 });
    const { engine, results, tokens } = harness(profile);
    for (let i = 0; i < 3; i++) engine.submit({ id: `r${i}`, promptTokens: 48, maxOutputTokens: 40, blockHashes: [] });
    engine.drain();
    const snap = engine.snapshot();
    expect(snap.preemptions).toBeGreaterThan(0);
    expect(results.size).toBe(3);
    for (const r of results.values()) {
      expect(r.finishReason).toBe('length');
      expect(r.outputTokens).toBe(40);
      expect(tokens.get(r.request.id)).toHaveLength(40);
    }
    expect(Math.max(...[...results.values()].map((r) => r.preemptions))).toBeGreaterThan(0);
    expect(results.get('r0')?.preemptions).toBe(0);
    expect(snap.kvCacheUsage).toBe(0);
  });

  it('keeps finished prompts as cache until LRU eviction reuses their blocks', () => {
    const { engine, results } = harness(withOverrides(LLAMA_8B_H100, { numGpuBlocks: 80 }));
    engine.submit(req('a', [1], 512, 1));
    engine.drain();
    expect(engine.kv.cachedBlockCount).toBe(32);
    expect(engine.snapshot().kvCacheUsage).toBe(0);
    engine.submit(req('b', [2], 512, 1)); // fits in never-used blocks
    engine.drain();
    engine.submit(req('a2', [1], 512, 1));
    engine.drain();
    expect(results.get('a2')?.cachedTokens).toBe(496);
    engine.submit(req('c', [3, 4], 1024, 1)); // needs 65 blocks: evicts the least recently used
    engine.drain();
    engine.submit(req('b2', [2], 512, 1));
    engine.drain();
    expect(results.get('b2')?.cachedTokens).toBeLessThan(496);
    expect(engine.snapshot().evictions).toBeGreaterThan(0);
  });

  it('grows ITL with batch size', () => {
    const itlAt = (batch: number): number => {
      const { engine, tokens } = harness(QWEN25_3B_T4);
      for (let i = 0; i < batch; i++) engine.submit(req(`r${i}`, [i], 64, 20));
      engine.drain();
      const t = tokens.get('r0') ?? [];
      return ((t[19] ?? 0) - (t[1] ?? 0)) / 18;
    };
    const one = itlAt(1);
    const sixteen = itlAt(16);
    expect(one).toBeCloseTo(0.03, 9);
    expect(sixteen).toBeCloseTo(0.029 + 16 * 0.001, 9);
  });

  it('gives ~30–35 tokens/s for a single request on the T4 profile', () => {
    const { engine, results } = harness(engineProfile('qwen2.5-3b-t4'));
    engine.submit(req('solo', [1], 500, 200));
    engine.drain();
    const r = results.get('solo');
    const rate = (200 - 1) / ((r?.finishS ?? 0) - (r?.firstTokenS ?? 0));
    expect(rate).toBeGreaterThanOrEqual(30);
    expect(rate).toBeLessThanOrEqual(35);
    expect(engine.snapshot().itl.count).toBe(199);
    expect(engine.snapshot().ttft.quantile(0.5)).toBeCloseTo(0.03 + 500 / 3000, 9);
  });

  it('pays the LoRA load cost once while the adapter stays loaded, again after eviction', () => {
    const profile = withOverrides(QWEN25_3B_T4, { maxLoras: 1 });
    const { engine, results } = harness(profile);
    const run = (id: string, lora: string): number => {
      engine.submit(req(id, [900], 15, 1, { lora })); // shorter than a block: never cached
      engine.drain();
      return ttft(results.get(id));
    };
    const first = run('a1', 'sql');
    const second = run('a2', 'sql');
    expect(first - second).toBeCloseTo(profile.loraLoadS, 9);
    run('b1', 'chat');
    expect(engine.snapshot().loadedLoras).toEqual(['chat']);
    expect(run('a3', 'sql')).toBeCloseTo(first, 9);
  });

  it('holds a request whose adapter cannot get a slot, letting others pass', () => {
    const { engine, results } = harness(withOverrides(QWEN25_3B_T4, { maxLoras: 1 }));
    engine.submit(req('long', [1], 32, 50, { lora: 'x' }));
    engine.submit(req('blocked', [2], 32, 1, { lora: 'y' }));
    engine.submit(req('base', [3], 32, 1));
    engine.advanceTo(engine.nextEventTime());
    expect(engine.snapshot().waitingLoras).toEqual(['y']);
    engine.drain();
    expect(results.get('base')?.finishS).toBeLessThan(results.get('long')?.finishS ?? 0);
    expect(results.get('blocked')?.firstTokenS).toBeGreaterThan(results.get('long')?.finishS ?? 0);
  });

  it('runs P/D: the prefill leg returns kv_transfer_params after one token; the decode leg skips prefill', () => {
    const prefill = harness(LLAMA_8B_H100);
    const decode = harness(LLAMA_8B_H100);
    const ids = [1, 2, 3, 4, 5, 6, 7, 8];
    prefill.engine.submit(req('p', ids, 4096, 100, { pd: { role: 'prefill' } }));
    prefill.engine.drain();
    const p = prefill.results.get('p');
    expect(p?.outputTokens).toBe(1);
    const params = p?.kvTransferParams;
    expect(params?.doRemotePrefill).toBe(true);
    expect(params?.remoteNumTokens).toBe(4096);
    expect(params?.remoteBlockIds).toHaveLength(256);
    if (params === undefined) return;

    decode.engine.submit(req('d', ids, 4096, 100, { pd: { role: 'decode', transfer: params } }));
    decode.engine.advanceTo(0);
    expect(decode.engine.snapshot().waiting).toBe(1);
    decode.engine.drain();
    const d = decode.results.get('d');
    const transfer = LLAMA_8B_H100.kvTransferSetupS + 4096 * LLAMA_8B_H100.kvTransferSPerToken;
    const oneStep = LLAMA_8B_H100.itlBaseS + LLAMA_8B_H100.itlPerSeqS + 1 / LLAMA_8B_H100.prefillTokensPerS;
    expect(ttft(d)).toBeCloseTo(transfer + oneStep, 9);
    expect(ttft(d)).toBeLessThan(ttft(p) / 2);
    expect(d?.outputTokens).toBe(100);
    // The pulled prompt is now cached locally.
    expect(decode.engine.kv.cachedBlocks(expandHashIds(ids, 512, 4096, 16), 4097)).toBe(256);
  });

  it('finishes immediately on the instant profile', () => {
    const { engine, results } = harness(INSTANT);
    engine.advanceTo(5);
    for (let i = 0; i < 50; i++) engine.submit(req(`r${i}`, [i % 3], 1000, 100));
    engine.advanceTo(5);
    expect(results.size).toBe(50);
    for (const r of results.values()) {
      expect(r.firstTokenS).toBe(5);
      expect(r.finishS).toBe(5);
      expect(r.outputTokens).toBe(100);
    }
    expect(engine.idle).toBe(true);
    expect(engine.nextEventTime()).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects requests that can never run', () => {
    const { engine, results } = harness(QWEN25_3B_T4);
    engine.submit(req('too-long', [1], 2000, 100));
    expect(results.get('too-long')?.finishReason).toBe('rejected');
    expect(engine.snapshot().rejected).toBe(1);
    expect(engine.idle).toBe(true);
  });

  it('steps only when advanced: nothing happens between events, and ranks are independent', () => {
    const a = harness(QWEN25_3B_T4);
    const b = harness(QWEN25_3B_T4);
    a.engine.submit(req('x', [1], 300, 3));
    expect(a.engine.nextEventTime()).toBe(0);
    a.engine.advanceTo(0);
    const end = a.engine.nextEventTime();
    expect(end).toBeCloseTo(0.03 + 300 / 3000, 9);
    a.engine.advanceTo(end - 1e-6);
    expect(a.tokens.get('x')).toBeUndefined();
    a.engine.advanceTo(end);
    expect(a.tokens.get('x')).toEqual([end]);
    expect(b.engine.snapshot().running).toBe(0);
    expect(b.engine.kv.cachedBlockCount).toBe(0);
    expect(a.engine.kv.cachedBlockCount).toBeGreaterThan(0);
  });
});

describe('Engine.abort', () => {
  it('takes a running request out of the batch mid-decode: blocks freed, seat given to the next, no more tokens', () => {
    const { engine, tokens, results } = harness(withOverrides(QWEN25_3B_T4, { maxNumSeqs: 1 }));
    engine.submit(req('a', [1], 64, 50));
    engine.submit(req('b', [2], 64, 5));
    for (let i = 0; i < 10 && (tokens.get('a')?.length ?? 0) < 3; i++) engine.advanceTo(engine.nextEventTime());
    expect(tokens.get('a')?.length).toBe(3);
    expect(engine.snapshot()).toMatchObject({ running: 1, waiting: 1 });
    expect(engine.kv.usage).toBeGreaterThan(0);

    expect(engine.abort('a')).toBe(1);
    const a = results.get('a');
    expect(a).toMatchObject({ finishReason: 'abort', outputTokens: 3, finishS: engine.now });
    expect(engine.snapshot()).toMatchObject({ running: 0, waiting: 1, requestSuccess: 1, kvCacheUsage: 0 });
    // The step in flight still runs to its end (a forward pass is not interrupted); then 'b' gets the seat.
    engine.advanceTo(engine.nextEventTime());
    engine.advanceTo(engine.nextEventTime());
    expect(engine.snapshot()).toMatchObject({ running: 1, waiting: 0 });

    engine.drain();
    expect(tokens.get('a')?.length).toBe(3);
    expect(results.get('b')).toMatchObject({ finishReason: 'length', outputTokens: 5 });
    expect(engine.idle).toBe(true);
  });

  it('drops the request from a step already in flight', () => {
    const { engine, tokens, results } = harness(QWEN25_3B_T4);
    engine.submit(req('a', [1], 300, 4));
    engine.submit(req('b', [2], 300, 4));
    engine.advanceTo(0);
    const stepEnd = engine.nextEventTime();
    expect(stepEnd).toBeGreaterThan(0);
    engine.advanceTo(stepEnd / 2);
    engine.abort('a');
    engine.advanceTo(stepEnd);
    expect(tokens.get('a')).toBeUndefined();
    expect(tokens.get('b')).toEqual([stepEnd]);
    expect(Number.isNaN(results.get('a')?.firstTokenS)).toBe(true);
    engine.drain();
    expect(results.get('b')?.outputTokens).toBe(4);
  });

  it('removes a waiting request and keeps the others in order', () => {
    const { engine, results } = harness(withOverrides(QWEN25_3B_T4, { maxNumSeqs: 1 }));
    for (const id of ['a', 'b', 'c', 'd']) engine.submit(req(id, [id.charCodeAt(0)], 32, 2));
    engine.advanceTo(0);
    expect(engine.snapshot()).toMatchObject({ running: 1, waiting: 3 });
    expect(engine.abort('c')).toBe(1);
    expect(engine.snapshot()).toMatchObject({ running: 1, waiting: 2 });
    expect(results.get('c')).toMatchObject({ finishReason: 'abort', outputTokens: 0, cachedTokens: 0 });
    engine.drain();
    const order = ['a', 'b', 'd'].map((id) => results.get(id)?.finishS ?? Number.NaN);
    expect(order[0]).toBeLessThan(order[1] ?? 0);
    expect(order[1]).toBeLessThan(order[2] ?? 0);
    expect(results.get('c')?.finishS).toBe(0);
  });

  it('keeps an aborted request’s full prompt blocks in the prefix cache', () => {
    const { engine, results } = harness(LLAMA_8B_H100);
    engine.submit(req('a', [1, 2], 1024, 100));
    engine.advanceTo(engine.nextEventTime());
    engine.advanceTo(engine.nextEventTime());
    engine.abort('a');
    expect(engine.kv.usage).toBe(0);
    engine.submit(req('again', [1, 2], 1024, 1));
    engine.drain();
    expect(results.get('again')?.cachedTokens).toBe(1024 - 16);
  });

  it('frees the LoRA slot of an aborted running request', () => {
    const { engine, results } = harness(withOverrides(QWEN25_3B_T4, { maxLoras: 1 }));
    engine.submit(req('x', [1], 32, 1000, { lora: 'x' }));
    engine.submit(req('y', [2], 32, 1, { lora: 'y' }));
    engine.advanceTo(engine.nextEventTime());
    expect(engine.snapshot().waitingLoras).toEqual(['y']);
    engine.abort('x');
    engine.drain();
    expect(results.get('y')).toMatchObject({ finishReason: 'length', outputTokens: 1 });
    expect(engine.snapshot().loadedLoras).toEqual(['y']);
  });

  it('cancels a decode leg during its KV pull', () => {
    const prefill = harness(LLAMA_8B_H100);
    const ids = [1, 2, 3, 4];
    prefill.engine.submit(req('p', ids, 2048, 10, { pd: { role: 'prefill' } }));
    prefill.engine.drain();
    const transfer = prefill.results.get('p')?.kvTransferParams;
    if (transfer === undefined) throw new Error('no kv_transfer_params');
    const decode = harness(LLAMA_8B_H100);
    decode.engine.submit(req('d', ids, 2048, 10, { pd: { role: 'decode', transfer } }));
    decode.engine.advanceTo(0);
    expect(decode.engine.snapshot().waiting).toBe(1);
    expect(decode.engine.kv.usage).toBeGreaterThan(0);
    expect(decode.engine.abort('d')).toBe(1);
    expect(decode.engine.snapshot()).toMatchObject({ waiting: 0, kvCacheUsage: 0 });
    expect(decode.engine.nextEventTime()).toBe(Number.POSITIVE_INFINITY);
    expect(decode.results.get('d')?.finishReason).toBe('abort');
  });

  it('returns 0 for an id that is not live', () => {
    const { engine, results } = harness(INSTANT);
    engine.submit(req('done', [1], 32, 2));
    engine.advanceTo(0);
    expect(results.get('done')?.finishReason).toBe('length');
    expect(engine.abort('done')).toBe(0);
    expect(engine.abort('never')).toBe(0);
    expect(engine.snapshot().requestSuccess).toBe(1);
  });
});

describe('Engine: data-parallel coupling', () => {
  const profile = withOverrides(LLAMA_8B_H100, { itlBaseS: 0.01, itlPerSeqS: 0, prefillTokensPerS: 10_000 });

  it('a stretched step ends when the group says, and its tokens come then', () => {
    const { engine, tokens } = harness(profile);
    engine.submit(req('a', [1], 100, 2));
    engine.advanceTo(0);
    const planned = engine.stepEndS;
    expect(planned).toBeCloseTo(0.01 + 100 / 10_000, 12);
    engine.stretchStepTo(0.5);
    engine.stretchStepTo(0.2); // never shortens
    expect(engine.nextEventTime()).toBe(0.5);
    engine.advanceTo(0.49);
    expect(tokens.get('a')).toBeUndefined();
    engine.advanceTo(0.5);
    expect(tokens.get('a')).toEqual([0.5]);
  });

  it('a held rank starts its next step only at the group boundary', () => {
    const { engine, tokens } = harness(profile);
    engine.holdUntil(1);
    engine.submit(req('a', [1], 100, 1));
    expect(engine.nextEventTime()).toBe(1);
    engine.advanceTo(0.9);
    expect(Number.isNaN(engine.stepEndS)).toBe(true);
    engine.advanceTo(2);
    expect(tokens.get('a')?.[0]).toBeCloseTo(1 + 0.01 + 0.01, 12);
  });
});
