/** The fault suite, CI scale: keepalive and ping floods (row 27). Same scenario code as `npx tsx bench/faults/run.ts --scenarios keepalive`. */
import { describe, it } from 'vitest';
import { keepaliveScenario } from '../../bench/faults/scenarios/keepalive.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: keepalive and ping floods (row 27)', () => {
  it('closes a dead peer at keepalive time + timeout and bounds a PING flood', async () => {
    await expectScenarioPasses(keepaliveScenario);
  }, 60_000);
});
