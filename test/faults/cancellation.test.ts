/** The fault suite, CI scale: client cancellations (row 19). Same scenario code as `npx tsx bench/faults/run.ts --scenarios cancellation`. */
import { describe, it } from 'vitest';
import { cancellationScenario } from '../../bench/faults/scenarios/cancellation.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: client cancellations (row 19)', () => {
  it('releases everything after 1 k streams reset at random points', async () => {
    await expectScenarioPasses(cancellationScenario);
  }, 60_000);
});
