/** The fault suite, CI scale: Envoy-shaped resets and Rapid Reset (E1, E2). Same scenario code as `npx tsx bench/faults/run.ts --scenarios envoy-resets`. */
import { describe, it } from 'vitest';
import { envoyResetsScenario } from '../../bench/faults/scenarios/envoy-resets.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: Envoy-shaped resets and Rapid Reset (E1, E2)', () => {
  it('serves Envoy-shaped exchanges (RST_STREAM after each) with long response phases on 1 and 4 connections without a failure, and ends a Rapid Reset attack alone', async () => {
    await expectScenarioPasses(envoyResetsScenario, { envoySeconds: 3 });
  }, 120_000);
});
