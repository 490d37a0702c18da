import { describe, expect, it } from 'vitest';
import { AGENTIC_DEFAULTS, generateAgentic } from '../../../src/simulate/workload/agentic.js';
import { WorkloadError } from '../../../src/simulate/workload/workload-error.js';

const SMALL: { tenants: number; sessions: number; sessionRate: number; seed: number } = { tenants: 4, sessions: 40, sessionRate: 4, seed: 3 };

describe('generateAgentic', () => {
  it('is a pure function of its options', () => {
    const key = (o: typeof SMALL): unknown[] => generateAgentic(o).map((r) => [r.arrivalMs, r.sessionId, r.turn, r.promptTokens, r.outputTokens, r.blockIds, r.prompt.text()]);
    expect(key(SMALL)).toEqual(key(SMALL));
    expect(key({ ...SMALL, seed: 4 })).not.toEqual(key(SMALL));
  });

  it('arrives in order; every turn extends its session and arrives after the previous turn', () => {
    const w = generateAgentic(SMALL);
    for (let i = 1; i < w.length; i++) expect(w[i]!.arrivalMs).toBeGreaterThanOrEqual(w[i - 1]!.arrivalMs);
    const last = new Map<string, (typeof w)[number]>();
    for (const r of w) {
      expect(r.prompt.length).toBe(r.promptTokens * 4);
      expect(r.blockIds).toHaveLength(Math.ceil(r.promptTokens / 512));
      expect(r.promptTokens + r.outputTokens).toBeLessThanOrEqual(AGENTIC_DEFAULTS.contextLimit);
      const previous = last.get(r.sessionId!);
      if (previous !== undefined) {
        expect(r.turn).toBe(previous.turn! + 1);
        expect(r.arrivalMs).toBeGreaterThan(previous.arrivalMs);
        expect(r.prompt.text().startsWith(previous.prompt.text())).toBe(true);
        // Every full block of the previous prompt is shared (same ids, same position).
        const full = Math.floor(previous.promptTokens / 512);
        expect(r.blockIds.slice(0, full)).toEqual(previous.blockIds.slice(0, full));
      } else {
        expect(r.turn).toBe(0);
      }
      last.set(r.sessionId!, r);
    }
    expect(new Set(w.map((r) => r.sessionId)).size).toBe(SMALL.sessions);
  });

  it("shares a tenant's system prompt across its sessions and nothing across tenants", () => {
    const w = generateAgentic({ ...SMALL, systemPromptTokens: { min: 1024, max: 1024 } }).filter((r) => r.turn === 0);
    const tenantOf = (r: (typeof w)[number]): string => r.sessionId!.split('-')[0]!;
    const firstBlock = new Map<string, number>();
    for (const r of w) {
      const t = tenantOf(r);
      const b = r.blockIds[0]!;
      if (firstBlock.has(t)) expect(firstBlock.get(t)).toBe(b);
      firstBlock.set(t, b);
    }
    expect(new Set(firstBlock.values()).size).toBe(firstBlock.size);
  });

  it('makes popular tenants hot with a Zipf skew and spreads them evenly without one', () => {
    const count = (skew: number): number[] => {
      const n = [0, 0, 0, 0];
      for (const r of generateAgentic({ ...SMALL, sessions: 400, tenantSkew: skew }).filter((x) => x.turn === 0)) n[Number(r.sessionId!.slice(1, r.sessionId!.indexOf('-')))]!++;
      return n;
    };
    const skewed = count(1.5);
    expect(skewed[0]!).toBeGreaterThan(2 * skewed[3]!);
    const even = count(0);
    expect(Math.max(...even) / Math.min(...even)).toBeLessThan(1.6);
  });

  it('rejects parameters out of range', () => {
    expect(() => generateAgentic({ sessions: 0 })).toThrow(WorkloadError);
    expect(() => generateAgentic({ sessionRate: 0 })).toThrow(WorkloadError);
    expect(() => generateAgentic({ taskTokens: { min: 10, max: 5 } })).toThrow(WorkloadError);
    expect(() => generateAgentic({ meanTurns: 0.5 })).toThrow(WorkloadError);
    expect(() => generateAgentic({ contextLimit: 100 })).toThrow(WorkloadError);
  });
});
