/** The fault suite, CI scale: concurrent streams (row 26). Same scenario code as `npx tsx bench/faults/run.ts --scenarios concurrency`. */
import { describe, it } from 'vitest';
import { concurrencyScenario } from '../../bench/faults/scenarios/concurrency.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: concurrent streams (row 26)', () => {
  it('routes 1 k concurrent streams and refuses the streams beyond a connection limit', async () => {
    await expectScenarioPasses(concurrencyScenario);
  }, 120_000);
});
