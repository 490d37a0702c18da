import { describe, expect, it } from 'vitest';
import { MaxScorePicker } from '../../../src/scheduling/plugins/pickers/max-score-picker.js';
import { QueueScorer } from '../../../src/scheduling/plugins/scorers/queue-scorer.js';
import { KvCacheUtilizationScorer } from '../../../src/scheduling/plugins/scorers/kv-cache-utilization-scorer.js';
import { UNKNOWN_METRICS } from '../../../src/datastore/endpoint.js';
import { RandomPicker } from '../../../src/scheduling/plugins/pickers/random-picker.js';
import { describePicker, describeScorer } from '../../contract/plugin-contracts.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';

describeScorer('queue-scorer', () => new QueueScorer('q'));
describeScorer('kv-cache-utilization-scorer', () => new KvCacheUtilizationScorer('kv'));
describePicker('max-score-picker', (n) => new MaxScorePicker('p', n));
describePicker('random-picker', (n) => new RandomPicker('p', n, Math.random));

describe('queue-scorer', () => {
  it('min-max normalises waiting queue sizes; all equal → 1', () => {
    const pool = [endpoint(0, { waitingQueueSize: 3 }), endpoint(1, { waitingQueueSize: 0 }), endpoint(2, { waitingQueueSize: 10 })];
    const out = new Float64Array(3);
    new QueueScorer('q').score(schedulingRequest(), pool, out);
    expect(Array.from(out)).toEqual([0.7, 1, 0]);
    new QueueScorer('q').score(schedulingRequest(), [endpoint(0, { waitingQueueSize: 4 }), endpoint(1, { waitingQueueSize: 4 })], out);
    expect(Array.from(out.subarray(0, 2))).toEqual([1, 1]);
  });
});

describe('unknown metrics are busy, never idle', () => {
  it('queue-scorer scores unknown endpoints 0 and leaves them out of the normalisation', () => {
    const pool = [endpoint(0, { waitingQueueSize: 3 }), endpoint(1, { waitingQueueSize: 9 }), endpoint(2)];
    const unknown = pool[2];
    if (unknown !== undefined) unknown.metrics = UNKNOWN_METRICS;
    const out = new Float64Array(3);
    new QueueScorer('q').score(schedulingRequest(), pool, out);
    expect(Array.from(out)).toEqual([1, 0, 0]);
  });

  it('kv-cache-utilization-scorer: 1 − usage, unknown → 0', () => {
    const pool = [endpoint(0, { kvCacheUsage: 0.25 }), endpoint(1)];
    const unknown = pool[1];
    if (unknown !== undefined) unknown.metrics = UNKNOWN_METRICS;
    const out = new Float64Array(2);
    new KvCacheUtilizationScorer('kv').score(schedulingRequest(), pool, out);
    expect(Array.from(out)).toEqual([0.75, 0]);
  });
});

describe('max-score-picker', () => {
  it('picks the highest score', () => {
    const pool = [endpoint(0), endpoint(1), endpoint(2)];
    expect(new MaxScorePicker('p', 1).pick(schedulingRequest(), pool, Float64Array.from([0.2, 0.9, 0.5]))).toEqual([pool[1]]);
  });

  it('rotates among tied endpoints so a burst spreads evenly', () => {
    const pool = [endpoint(0), endpoint(1), endpoint(2), endpoint(3)];
    const picker = new MaxScorePicker('p', 1);
    const counts = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const [e] = picker.pick(schedulingRequest(), pool, Float64Array.from([1, 1, 1, 0.5]));
      counts.set(e?.name ?? '', (counts.get(e?.name ?? '') ?? 0) + 1);
    }
    expect(counts.get('e3')).toBeUndefined();
    expect([...counts.values()].every((c) => c >= 13 && c <= 14)).toBe(true);
  });

  it('orders several targets best first, ties rotated', () => {
    const pool = [endpoint(0), endpoint(1), endpoint(2)];
    const picked = new MaxScorePicker('p', 3).pick(schedulingRequest(), pool, Float64Array.from([0.1, 0.8, 0.5]));
    expect(picked.map((e) => e.name)).toEqual(['e1', 'e2', 'e0']);
  });
});

describe('random-picker', () => {
  it('uses the injected random source', () => {
    const pool = [endpoint(0), endpoint(1), endpoint(2)];
    expect(new RandomPicker('p', 1, () => 0.99).pick(schedulingRequest(), pool)).toEqual([pool[2]]);
    expect(new RandomPicker('p', 1, () => 0).pick(schedulingRequest(), pool)).toEqual([pool[0]]);
  });
});
