import { describe, expect, it } from 'vitest';
import { runPool } from '../../src/loadtest/pool.js';

describe('runPool', () => {
  it('never exceeds the concurrency and returns results in index order', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const { results, notStarted } = await runPool(
      20,
      3,
      new AbortController().signal,
      async (i) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        // Finish out of order so ordering is really checked.
        for (let k = 0; k < (i * 7) % 5; k++) await Promise.resolve();
        inFlight--;
        return i * 2;
      },
      (r) => seen.push(r),
    );
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    expect(notStarted).toBe(0);
    expect(seen.sort((a, b) => a - b)).toEqual(results);
  });

  it('starts nothing more once the signal aborts, and counts what it never started', async () => {
    const controller = new AbortController();
    const { results, notStarted } = await runPool(10, 2, controller.signal, (i) => {
      if (i === 3) controller.abort();
      return Promise.resolve(i);
    });
    expect(results).toEqual([0, 1, 2, 3]);
    expect(notStarted).toBe(6);
  });

  it('starts nothing with an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    const { results, notStarted } = await runPool(4, 2, controller.signal, (i) => Promise.resolve(i));
    expect(results).toEqual([]);
    expect(notStarted).toBe(4);
  });
});
