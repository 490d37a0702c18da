import { describe, expect, it } from 'vitest';
import { generateSharedPrefix, type SharedPrefixOptions } from '../../../src/simulate/workload/shared-prefix.js';
import { WorkloadError } from '../../../src/simulate/workload/workload-error.js';
import type { WorkloadRequest } from '../../../src/simulate/workload/workload-request.js';

const base: SharedPrefixOptions = { numGroups: 3, promptsPerGroup: 4, systemPromptLen: 100, questionLen: 20, outputLen: 10, qps: 10, seed: 7 };

function common(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

const group = (r: WorkloadRequest): string => r.sessionId!.split('-')[0]!;

describe('generateSharedPrefix', () => {
  it('makes numGroups × promptsPerGroup requests of the asked sizes', () => {
    const w = generateSharedPrefix(base);
    expect(w).toHaveLength(12);
    for (const r of w) {
      expect(r.promptTokens).toBe(120);
      expect(r.outputTokens).toBe(10);
      expect(r.prompt.length).toBe(480);
      expect(r.prompt.text()).toHaveLength(480);
      expect(r.turn).toBe(0);
      expect(r.model).toBe('synthetic');
    }
    expect(new Set(w.map((r) => r.sessionId)).size).toBe(12);
  });

  it('is deterministic from the seed', () => {
    const snapshot = (o: SharedPrefixOptions): unknown =>
      generateSharedPrefix(o).map((r) => [r.arrivalMs, r.sessionId, r.turn, r.blockIds, r.prompt.text()]);
    expect(snapshot(base)).toEqual(snapshot(base));
    expect(snapshot({ ...base, seed: 8 })).not.toEqual(snapshot(base));
  });

  it('shares exactly the system prompt within a group and nothing across groups', () => {
    const w = generateSharedPrefix(base);
    const system = 100 * 4;
    for (const a of w) {
      for (const b of w) {
        if (a === b) continue;
        const prefix = common(a.prompt.text(), b.prompt.text());
        if (group(a) === group(b)) {
          expect(prefix).toBeGreaterThanOrEqual(system);
          expect(prefix).toBeLessThan(system + 6);
        } else {
          expect(prefix).toBeLessThan(6);
        }
      }
    }
  });

  it('gives block ids that share exactly the system prompt blocks', () => {
    const w = generateSharedPrefix({ ...base, systemPromptLen: 64, questionLen: 32, blockTokens: 16 });
    for (const a of w) {
      expect(a.blockIds).toHaveLength(6);
      for (const b of w) {
        if (a === b) continue;
        let shared = 0;
        while (a.blockIds[shared] === b.blockIds[shared]) shared++;
        expect(shared).toBe(group(a) === group(b) ? 4 : 0);
      }
    }
    // A partial last block never equals a full one.
    const odd = generateSharedPrefix({ ...base, systemPromptLen: 10, questionLen: 3, blockTokens: 16 });
    expect(odd[0]!.blockIds).toHaveLength(1);
    expect(new Set(odd.map((r) => r.blockIds[0])).size).toBe(12);
  });

  it('extends each turn with the previous prompt and answer', () => {
    const w = generateSharedPrefix({ ...base, turns: 3 });
    expect(w).toHaveLength(36);
    const bySession = new Map<string, WorkloadRequest[]>();
    for (const r of w) bySession.set(r.sessionId!, [...(bySession.get(r.sessionId!) ?? []), r]);
    expect(bySession.size).toBe(12);
    for (const turns of bySession.values()) {
      expect(turns.map((r) => r.turn)).toEqual([0, 1, 2]);
      for (let t = 1; t < 3; t++) {
        const prev = turns[t - 1]!;
        const cur = turns[t]!;
        expect(cur.promptTokens).toBe(prev.promptTokens + 10 + 20);
        expect(cur.prompt.text().startsWith(prev.prompt.text())).toBe(true);
        expect(cur.blockIds.slice(0, prev.blockIds.length - 1)).toEqual(prev.blockIds.slice(0, -1));
        expect(cur.arrivalMs).toBeGreaterThan(prev.arrivalMs);
      }
    }
    // Every turn-t request arrives before any turn-(t+1) request.
    const turnsInOrder = w.map((r) => r.turn!);
    expect(turnsInOrder).toEqual([...turnsInOrder].sort((a, b) => a - b));
  });

  it('spaces constant arrivals at 1/qps and Poisson arrivals at 1/qps on average', () => {
    const constant = generateSharedPrefix({ ...base, arrival: 'constant', qps: 4 });
    expect(constant.map((r) => r.arrivalMs)).toEqual(Array.from({ length: 12 }, (_, i) => i * 250));
    const poisson = generateSharedPrefix({ ...base, numGroups: 50, promptsPerGroup: 40, questionLen: 1, systemPromptLen: 1, qps: 20 });
    const last = poisson.at(-1)!.arrivalMs;
    expect(last / (poisson.length - 1)).toBeGreaterThan(45);
    expect(last / (poisson.length - 1)).toBeLessThan(55);
    for (let i = 1; i < poisson.length; i++) expect(poisson[i]!.arrivalMs).toBeGreaterThanOrEqual(poisson[i - 1]!.arrivalMs);
  });

  it('rejects parameters out of range', () => {
    expect(() => generateSharedPrefix({ ...base, numGroups: 0 })).toThrow(WorkloadError);
    expect(() => generateSharedPrefix({ ...base, questionLen: 1.5 })).toThrow(/questionLen/);
    expect(() => generateSharedPrefix({ ...base, qps: 0 })).toThrow(/qps/);
    expect(() => generateSharedPrefix({ ...base, turns: 0 })).toThrow(/turns/);
  });
});
