/** The contract between the fault runner, the CI tests and each scenario group. */
import type { ScenarioResult } from './report.js';

/** `ci`: small counts, seconds (test/faults); `bench`: the plan's counts (bench/faults/run.ts). */
export type Scale = 'ci' | 'bench';

export interface ScenarioContext {
  readonly scale: Scale;
  /** Seed of every random draw (fast-check and the load generators). */
  readonly seed: number;
  /** Progress lines (stderr in the runner, silent in tests). */
  readonly log: (line: string) => void;
  /** Soak length (row 30), minutes. */
  readonly soakMinutes: number;
  /** Envoy-shaped run length per connection layout, seconds. */
  readonly envoySeconds: number;
}

/** A group of plan rows measured together; `run` never throws for a failed check, only for a broken harness. */
export interface FaultScenario {
  readonly id: string;
  readonly title: string;
  /** Rows of reliability.md §6 it reports (`E1`, `E2`: the Envoy-shaped runs). */
  readonly rows: readonly string[];
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

/** A context for tests: CI scale, fixed seed, no output. */
export function ciContext(overrides: Partial<ScenarioContext> = {}): ScenarioContext {
  return { scale: 'ci', seed: 20260818, log: () => undefined, soakMinutes: 0.1, envoySeconds: 3, ...overrides };
}
