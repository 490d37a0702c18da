import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageTracker } from '../../../src/request/usage-tracker.js';

function track(contentType: string, chunks: string[]): ReturnType<UsageTracker['finish']> {
  const t = new UsageTracker();
  t.start(contentType);
  for (const c of chunks) t.chunk(Buffer.from(c));
  return t.finish();
}

describe('UsageTracker', () => {
  it('reads usage from an SSE stream, even with the usage event split across chunks', () => {
    const usage = 'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":4}}}\n\n';
    const stream = ['data: {"choices":[{"text":"a"}]}\n\n', usage, 'data: [DONE]\n\n'].join('');
    for (const cut of [10, 60, 120, 150]) {
      expect(track('text/event-stream; charset=utf-8', [stream.slice(0, cut), stream.slice(cut)])).toEqual({ promptTokens: 7, completionTokens: 3, cachedTokens: 4 });
    }
  });

  it('reads a JSON response at end of stream, and the Responses API shapes', () => {
    expect(track('application/json', ['{"object":"text_completion","usage":{"prompt_', 'tokens":12,"completion_tokens":5}}'])).toEqual({ promptTokens: 12, completionTokens: 5, cachedTokens: 0 });
    expect(track('application/json', ['{"usage":{"input_tokens":2,"output_tokens":9,"input_tokens_details":{"cached_tokens":1}}}'])).toEqual({ promptTokens: 2, completionTokens: 9, cachedTokens: 1 });
    expect(track('text/event-stream', ['data: {"type":"response.completed","response":{"usage":{"input_tokens":4,"output_tokens":6}}}\n\n'])).toEqual({ promptTokens: 4, completionTokens: 6, cachedTokens: 0 });
  });

  it('yields nothing for bodies without usage, garbage, wrong types or oversized JSON', () => {
    expect(track('application/json', ['no healthy upstream'])).toBeUndefined();
    expect(track('text/event-stream', ['data: {}\n\n', 'data: [DONE]\n\n'])).toBeUndefined();
    expect(track('application/json', ['{"usage":"x"}'])).toBeUndefined();
    expect(track('application/json', ['{"usage":{"prompt_tokens":"7","completion_tokens":-1}}'])).toEqual({ promptTokens: 0, completionTokens: 0, cachedTokens: 0 });
    expect(track('application/json', [`{"pad":"${'x'.repeat(1_100_000)}","usage":{"prompt_tokens":1}}`])).toBeUndefined();
  });

  it('never throws on arbitrary chunks (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom('text/event-stream', 'application/json', ''), fc.array(fc.string(), { maxLength: 8 }), (ct, chunks) => {
        expect(() => track(ct, chunks)).not.toThrow();
      }),
      { numRuns: 500, seed: 3 },
    );
  });
});
