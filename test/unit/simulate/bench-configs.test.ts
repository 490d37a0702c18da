import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSharedPrefix } from '../../../src/simulate/workload/shared-prefix.js';
import { runSimulation } from '../../../src/simulate/simulator.js';

const dir = join(import.meta.dirname, '../../../bench/simulate/configs');
const WORKLOAD = generateSharedPrefix({ numGroups: 2, promptsPerGroup: 3, systemPromptLen: 4096, questionLen: 64, outputLen: 4, qps: 20, seed: 1 });

describe('bench/simulate/configs', () => {
  it.each(readdirSync(dir).filter((f) => f.endsWith('.yaml')))('%s loads and routes every request', (file) => {
    const r = runSimulation({ workload: WORKLOAD, replicas: 4, profile: 'llama-8b-h100', config: join(dir, file), prefillReplicas: file.startsWith('pd-') ? 1 : 0, dpGroupSize: file.startsWith('dp-') ? 2 : 1 });
    expect(r.completed).toBe(WORKLOAD.length);
    expect(r.failed).toBe(0);
  });
});
