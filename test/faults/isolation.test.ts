/** The fault suite, CI scale: handler bugs and stalls (rows 21, 23). Same scenario code as `npx tsx bench/faults/run.ts --scenarios isolation`. */
import { describe, it } from 'vitest';
import { isolationScenario } from '../../bench/faults/scenarios/isolation.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: handler bugs and stalls (rows 21, 23)', () => {
  it('fails only the poisoned stream, and answers a stalled decision at its deadline', async () => {
    await expectScenarioPasses(isolationScenario);
  }, 60_000);
});
