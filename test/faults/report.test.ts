/** The fault suite's report: latency bounds are strict at bench scale and loosened (not dropped) at CI scale. */
import { describe, expect, it } from 'vitest';
import { CI_TIMING_SLACK, failures, ScenarioReport } from '../../bench/faults/harness/report.js';

describe('fault report timing checks', () => {
  it('holds a bound exactly at bench scale', () => {
    const report = new ScenarioReport('t', 'bench');
    const row = report.row('1', 'r', 'p');
    expect(row.timing('fast enough', 100, 100)).toBe(true);
    expect(row.timing('too slow', 101, 100)).toBe(false);
    expect(failures(report.result())).toEqual(['row 1: too slow (101 ms)']);
  });

  it('fails at CI scale only past the slack, and says which bound it used', () => {
    const report = new ScenarioReport('t', 'ci');
    const row = report.row('1', 'r', 'p');
    expect(row.timing('loaded machine', 100 * CI_TIMING_SLACK, 100)).toBe(true);
    expect(row.timing('gross regression', 100 * CI_TIMING_SLACK + 1, 100)).toBe(false);
    expect(failures(report.result())).toEqual([`row 1: gross regression [CI scale: ≤ ${100 * CI_TIMING_SLACK} ms] (${100 * CI_TIMING_SLACK + 1} ms)`]);
  });
});
