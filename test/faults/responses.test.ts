/** The fault suite, CI scale: model-server responses (row 29). Same scenario code as `npx tsx bench/faults/run.ts --scenarios responses`. */
import { describe, it } from 'vitest';
import { responsesScenario } from '../../bench/faults/scenarios/responses.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: model-server responses (row 29)', () => {
  it('forwards garbage, broken SSE and 10 MB responses byte for byte', async () => {
    await expectScenarioPasses(responsesScenario);
  }, 90_000);
});
