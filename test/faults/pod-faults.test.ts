/** The fault suite, CI scale: saturated, stale, hostile and dead pods (rows 3–6). Same scenario code as `npx tsx bench/faults/run.ts --scenarios pod-faults`. */
import { describe, it } from 'vitest';
import { podFaultsScenario } from '../../bench/faults/scenarios/pod-faults.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: saturated, stale, hostile and dead pods (rows 3–6)', () => {
  it('sheds sheddable requests, and stops picking a stalled, hostile or dead pod without paying for it', async () => {
    await expectScenarioPasses(podFaultsScenario);
  }, 90_000);
});
