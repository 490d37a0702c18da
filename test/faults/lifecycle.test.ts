/** The fault suite, CI scale: SIGTERM drain and SIGKILL (rows 24, 25). Same scenario code as `npx tsx bench/faults/run.ts --scenarios lifecycle`. */
import { describe, it } from 'vitest';
import { lifecycleScenario } from '../../bench/faults/scenarios/lifecycle.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: SIGTERM drain and SIGKILL (rows 24, 25)', () => {
  it('drains live streaming streams on SIGTERM and recovers from SIGKILL', async () => {
    await expectScenarioPasses(lifecycleScenario);
  }, 120_000);
});
