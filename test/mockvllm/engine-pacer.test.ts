import { describe, expect, it } from 'vitest';
import { QWEN25_3B_T4, withOverrides } from '../../src/engine/profiles.js';
import { ApiError } from '../../src/mockvllm/api-error.js';
import { EngineDriver, pseudoTokenIds, type EngineTicket } from '../../src/mockvllm/engine-pacer.js';
import { ManualClock } from './manual-clock.js';

const LONG = 'The quick brown fox jumps over the lazy dog. '.repeat(90);
const never = new AbortController().signal;

function prompt(text: string, maxTokens = 4): { tokens: number; text: string; maxTokens: number } {
  return { tokens: Math.ceil(text.length / 4), text, maxTokens };
}

/** Milliseconds from now until token `index` of choice 0 is released. */
async function timeToToken(clock: ManualClock, ticket: EngineTicket, index: number): Promise<number> {
  const start = clock.t;
  let at: number | undefined;
  void ticket.pacer({ requestId: 'r', choice: 0, index, promptTokens: 0 }, never).then(() => {
    at = clock.t;
  });
  for (let i = 0; i < 10_000 && at === undefined; i++) await clock.advance(5);
  if (at === undefined) throw new Error('token never came');
  return at - start;
}

describe('EngineDriver', () => {
  it('releases a cached prompt’s first token sooner than an uncached one’s', async () => {
    const clock = new ManualClock();
    const driver = new EngineDriver(QWEN25_3B_T4, { clock });
    const cold = driver.admit('a', [prompt(LONG)], undefined);
    const coldTtft = await timeToToken(clock, cold, 0);
    await timeToToken(clock, cold, 3);
    expect(cold.cachedTokens()).toBe(0);

    const warm = driver.admit('b', [prompt(LONG)], undefined);
    const warmTtft = await timeToToken(clock, warm, 0);
    await timeToToken(clock, warm, 3);
    // ~1,000 prompt tokens at 3,000 tok/s is ~330 ms of prefill; the cached one recomputes one block at most.
    expect(coldTtft).toBeGreaterThan(300);
    expect(warmTtft).toBeLessThan(coldTtft / 4);
    expect(warm.cachedTokens()).toBeGreaterThan(900);
    const snap = driver.snapshot();
    expect(snap.prefixCacheHits).toBe(warm.cachedTokens());
    expect(snap.running).toBe(0);
    driver.close();
  });

  it('queues requests beyond max-num-seqs', async () => {
    const clock = new ManualClock();
    const driver = new EngineDriver(withOverrides(QWEN25_3B_T4, { maxNumSeqs: 2 }), { clock });
    const tickets = ['a', 'b', 'c', 'd'].map((id) => driver.admit(id, [prompt(`prompt ${id}`, 8)], undefined));
    // The first request started a step alone at once; the next step fills the second seat.
    expect(driver.snapshot()).toMatchObject({ running: 1, waiting: 3 });
    await clock.advance(100);
    expect(driver.snapshot()).toMatchObject({ running: 2, waiting: 2 });
    const last = tickets[3];
    if (last === undefined) throw new Error('no ticket');
    await timeToToken(clock, last, 7);
    expect(driver.snapshot()).toMatchObject({ running: 0, waiting: 0 });
    driver.close();
  });

  it('refuses a context that is too long with 400 and a full queue with 429', () => {
    const clock = new ManualClock();
    const driver = new EngineDriver(withOverrides(QWEN25_3B_T4, { maxNumSeqs: 1 }), { clock, maxWaitingQueueLength: 1 });
    const tooLong = (): unknown => driver.admit('x', [prompt('x'.repeat(10_000))], undefined);
    expect(tooLong).toThrow(ApiError);
    expect(tooLong).toThrow(/maximum context length is 2048 tokens/);
    driver.admit('a', [prompt('one')], undefined);
    driver.admit('b', [prompt('two')], undefined);
    try {
      driver.admit('c', [prompt('three')], undefined);
      expect.unreachable('admitted past the queue limit');
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(429);
    }
    driver.close();
  });

  it('releases waiters when the client aborts or the driver closes', async () => {
    const clock = new ManualClock();
    const driver = new EngineDriver(QWEN25_3B_T4, { clock });
    const ticket = driver.admit('a', [prompt(LONG)], undefined);
    const abort = new AbortController();
    const aborted = ticket.pacer({ requestId: 'a', choice: 0, index: 0, promptTokens: 0 }, abort.signal);
    abort.abort();
    await aborted;
    const pending = ticket.pacer({ requestId: 'a', choice: 0, index: 1, promptTokens: 0 }, never);
    driver.close();
    await pending;
  });

  it('derives one pseudo-token per 4 characters, equal for equal text', () => {
    expect(pseudoTokenIds('abcdefghi', 3)).toHaveLength(3);
    expect(pseudoTokenIds('abcdefgh', 2)).toEqual(pseudoTokenIds('abcdefgh', 2));
    expect(pseudoTokenIds('abcdefgh', 2)[1]).not.toEqual(pseudoTokenIds('abcdXfgh', 2)[1]);
  });
});
