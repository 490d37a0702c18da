/** `epp mock-vllm` as a user runs it: the flags reach the server, and bad ones exit 2. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { mockVllmCommand, mockVllmOptions } from '../../src/cli/commands/mock-vllm.js';
import { Flags, parseFlags, UsageError } from '../../src/cli/flags.js';
import type { MockVllmOptions } from '../../src/mockvllm/server.js';

const bin = new URL('../../bin/epp.js', import.meta.url).pathname;

function options(...argv: string[]): MockVllmOptions {
  return mockVllmOptions(new Flags(parseFlags(mockVllmCommand.flags, argv).values));
}

interface Listening {
  ports?: number[];
  profile?: string;
}

describe('epp mock-vllm', () => {
  it('starts every DP rank with the flags given and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [bin, 'mock-vllm', '--host=127.0.0.1', '--port=0', '--data-parallel-size=2', '--profile=instant', '--failure-injection-rate=100', '--failure-types=rate_limit', '--seed=3'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const lines = createInterface({ input: child.stdout });
      let listening: Listening | undefined;
      for await (const line of lines) {
        const entry = JSON.parse(line) as Listening & { msg?: string };
        if (entry.msg === 'mock-vllm listening') {
          listening = entry;
          break;
        }
      }
      expect(listening?.profile).toBe('instant');
      const ports = listening?.ports ?? [];
      expect(ports).toHaveLength(2);
      expect(ports[1]).toBe((ports[0] ?? 0) + 1);
      for (const [rank, port] of ports.entries()) {
        const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, { method: 'POST', body: '{"prompt":"x"}' });
        expect(res.status).toBe(429);
        await res.arrayBuffer();
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(metrics).toContain(`vllm:num_requests_running{engine="${rank}",`);
      }
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('defaults to the realistic profile and maps every flag onto the server options', () => {
    expect(options()).toMatchObject({ profile: 'qwen2.5-3b-t4', port: 8000, dataParallelSize: 1, failureInjectionRate: 0, failureTypes: [] });
    expect(options().seed).toBeUndefined();
    expect(
      options('--profile', 'llama-8b-h100', '--max-num-seqs=4', '--max-waiting-queue-length=0', '--data-parallel-size=3', '--failure-injection-rate=15', '--failure-types=rate_limit,server_error', '--seed=9', '--max-loras=2'),
    ).toMatchObject({
      profile: 'llama-8b-h100',
      profileOverrides: { maxNumSeqs: 4 },
      maxWaitingQueueLength: 0,
      dataParallelSize: 3,
      failureInjectionRate: 15,
      failureTypes: ['rate_limit', 'server_error'],
      seed: 9,
      maxLoras: 2,
    });
    expect(options('--profile=none')).toEqual(expect.objectContaining({ profile: 'none' }));
    expect(options('--profile=none').profileOverrides).toBeUndefined();
  });

  it('refuses unusable flags with a UsageError naming them', () => {
    const cases: [string[], RegExp][] = [
      [['--failure-types=bogus'], /unknown type "bogus"/],
      [['--failure-injection-rate=101'], /--failure-injection-rate must be between 0 and 100/],
      [['--data-parallel-size=9'], /--data-parallel-size must be between 1 and 8/],
      [['--data-parallel-size=0'], /--data-parallel-size must be between 1 and 8/],
      [['--profile=none', '--max-num-seqs=4'], /need an engine/],
      [['--profile=gpt-9'], /unknown profile "gpt-9"/],
    ];
    for (const [argv, message] of cases) {
      expect(() => options(...argv)).toThrow(UsageError);
      expect(() => options(...argv)).toThrow(message);
    }
  });
});
