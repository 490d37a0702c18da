import { describe, expect, it } from 'vitest';
import type { RequestOutcome } from '../../src/loadtest/http-client.js';
import { prefixAffinity, summarizeGroup } from '../../src/loadtest/stages/prefix.js';

function outcome(replica: string | undefined, ok = true): RequestOutcome {
  return { ok, status: ok ? 200 : 503, startMs: 0, latencyMs: 1, itlMs: [], outputTokens: 1, ...(replica === undefined ? {} : { replica }) };
}

describe('prefix affinity', () => {
  it("counts a group's successful, attributed requests per replica", () => {
    const g = summarizeGroup(1, [outcome('b'), outcome('a'), outcome('b'), outcome(undefined), outcome('a', false)]);
    expect(g).toEqual({ group: 1, api: 'completions', replicas: { b: 2, a: 1 }, topReplica: 'b', topShare: 2 / 3 });
    expect(summarizeGroup(0, [outcome(undefined)])).toMatchObject({ api: 'chat', replicas: {}, topShare: Number.NaN });
  });

  it('weights groups by their attributed requests', () => {
    const g1 = summarizeGroup(0, [outcome('a'), outcome('a'), outcome('a'), outcome('b')]);
    const g2 = summarizeGroup(1, [outcome('c'), outcome('d')]);
    expect(prefixAffinity([g1, g2])).toBeCloseTo(4 / 6, 10);
    expect(Number.isNaN(prefixAffinity([summarizeGroup(0, [])]))).toBe(true);
  });
});
