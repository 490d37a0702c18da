/** The fault suite, CI scale: request bodies and paths (rows 9, 10, 13, 14, 15, 17). Same scenario code as `npx tsx bench/faults/run.ts --scenarios bodies`. */
import { describe, it } from 'vitest';
import { bodiesScenario } from '../../bench/faults/scenarios/bodies.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: request bodies and paths (rows 9, 10, 13, 14, 15, 17)', () => {
  it('answers 1 k malformed bodies, pathological JSON, hostile text, type confusion, random models and path tricks with 400 or a route', async () => {
    await expectScenarioPasses(bodiesScenario);
  }, 90_000);
});
