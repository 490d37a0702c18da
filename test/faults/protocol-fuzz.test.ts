/** The fault suite, CI scale: protocol fuzz (row 20). Same scenario code as `npx tsx bench/faults/run.ts --scenarios protocol-fuzz`. */
import { describe, it } from 'vitest';
import { protocolFuzzScenario } from '../../bench/faults/scenarios/protocol-fuzz.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: protocol fuzz (row 20)', () => {
  it('ends every one of 2 k random ext_proc sequences, with no crash and nothing leaked', async () => {
    await expectScenarioPasses(protocolFuzzScenario);
  }, 60_000);
});
