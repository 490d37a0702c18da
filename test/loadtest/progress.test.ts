import { describe, expect, it } from 'vitest';
import { BarProgress, createProgress, LineProgress } from '../../src/loadtest/progress.js';

function sink(isTTY: boolean): { isTTY: boolean; text: string; write(t: string): void } {
  return {
    isTTY,
    text: '',
    write(t: string) {
      this.text += t;
    },
  };
}

describe('progress', () => {
  it('writes plain lines when stderr is not a terminal: start, quarters of long stages, end', () => {
    const out = sink(false);
    const clock = { t: 0, now() { return this.t; } };
    const p = createProgress(out, clock);
    expect(p).toBeInstanceOf(LineProgress);
    p.begin('throughput', 40);
    for (let i = 0; i < 40; i++) {
      clock.t += 50;
      p.advance(i === 0);
    }
    p.end();
    expect(out.text.split('\n').filter((l) => l !== '')).toEqual([
      'loadtest: throughput: 40 requests',
      'loadtest: throughput: 10/40, 1 error',
      'loadtest: throughput: 20/40, 1 error',
      'loadtest: throughput: 30/40, 1 error',
      'loadtest: throughput: 40/40 done in 2.0 s, 1 error',
    ]);
    expect(out.text).not.toContain('\r');
  });

  it('redraws a bar in place on a terminal, at most every 100 ms, and ends the line', () => {
    const out = sink(true);
    const clock = { t: 0, now() { return this.t; } };
    const p = createProgress(out, clock);
    expect(p).toBeInstanceOf(BarProgress);
    p.begin('prefix', 10);
    for (let i = 0; i < 10; i++) {
      clock.t += 30;
      p.advance(false);
    }
    p.end();
    const frames = out.text.split('\r').filter((f) => f !== '');
    // begin, two throttled redraws (at 120 ms and 240 ms), the last request, end.
    expect(frames.length).toBe(5);
    expect(frames.at(-1)).toContain('[##############################] 10/10  0 errors  0.3 s\n');
  });
});
