/** The fault suite, CI scale: body cap, message size, slow readers (rows 11, 12, 22). Same scenario code as `npx tsx bench/faults/run.ts --scenarios limits`. */
import { describe, it } from 'vitest';
import { limitsScenario } from '../../bench/faults/scenarios/limits.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: body cap, message size, slow readers (rows 11, 12, 22)', () => {
  it('answers 413 at the cap without costing the connection, confines RESOURCE_EXHAUSTED, and bounds what slow readers hold', async () => {
    await expectScenarioPasses(limitsScenario);
  }, 90_000);
});
