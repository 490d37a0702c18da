/**
 * Runs a fault-suite scenario (bench/faults) at CI scale and asserts what the plan asks of it:
 * every row it claims is reported, every row carries at least one check, and every check passed.
 */
import { expect } from 'vitest';
import { failures, renderResult, type ScenarioResult } from '../../bench/faults/harness/report.js';
import { ciContext, type FaultScenario, type ScenarioContext } from '../../bench/faults/harness/scenario.js';

export async function expectScenarioPasses(scenario: FaultScenario, overrides: Partial<ScenarioContext> = {}): Promise<ScenarioResult> {
  const result = await scenario.run(ciContext(overrides));
  const reported = [...new Set(result.rows.map((r) => r.row))];
  expect(reported, 'rows reported').toEqual([...scenario.rows]);
  for (const r of result.rows) expect(r.checks.length, `row ${r.row} has checks`).toBeGreaterThan(0);
  expect(failures(result), renderResult(result)).toEqual([]);
  return result;
}
