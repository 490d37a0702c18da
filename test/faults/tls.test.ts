/** The fault suite, CI scale: TLS (row 28). Same scenario code as `npx tsx bench/faults/run.ts --scenarios tls`. */
import { describe, it } from 'vitest';
import { tlsScenario } from '../../bench/faults/scenarios/tls.js';
import { expectScenarioPasses } from '../helpers/fault-scenario.js';

describe('fault suite: TLS (row 28)', () => {
  it('rotates its certificate under load, keeps it on a broken file, and turns plaintext away', async () => {
    await expectScenarioPasses(tlsScenario);
  }, 60_000);
});
