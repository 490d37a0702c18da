/** The fault suite, CI scale: spoofed and flooded headers (rows 16, 18). Same scenario code as `npx tsx bench/faults/run.ts --scenarios headers`. */
import { describe, it } from 'vitest';
import { headersScenario } from '../../bench/faults/scenarios/headers.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: spoofed and flooded headers (rows 16, 18)', () => {
  it('never honours 1 k spoofed destinations and never echoes a header flood', async () => {
    await expectScenarioPasses(headersScenario);
  }, 60_000);
});
