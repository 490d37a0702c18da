/** The fault suite, CI scale: unsynced, empty, flapping and unreachable discovery (rows 1, 2, 7, 8). Same scenario code as `npx tsx bench/faults/run.ts --scenarios discovery`. */
import { describe, it } from 'vitest';
import { discoveryScenario } from '../../bench/faults/scenarios/discovery.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: unsynced, empty, flapping and unreachable discovery (rows 1, 2, 7, 8)', () => {
  it('answers 503 before sync and with no pods, follows a flapping pod, and keeps routing through an API outage', async () => {
    await expectScenarioPasses(discoveryScenario);
  }, 60_000);
});
