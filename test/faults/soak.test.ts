/** The fault suite, CI scale: soak (row 30). Same scenario code as `npx tsx bench/faults/run.ts --scenarios soak`. */
import { describe, it } from 'vitest';
import { soakScenario } from '../../bench/faults/scenarios/soak.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: soak (row 30)', () => {
  it('holds 70 % of capacity with 1 % faults mixed in', async () => {
    await expectScenarioPasses(soakScenario, { soakMinutes: 0.1 });
  }, 120_000);
});
