/** `epp mock-vllm`: an OpenAI-compatible mock of a vLLM model server, for demos and end-to-end tests. */
import { untilSignal, type Command } from '../command.js';
import { UsageError, type Flags } from '../flags.js';
import { createLogger } from '../../observability/logger.js';
import { parseFakeMetrics, type FakeMetrics } from '../../mockvllm/fake-metrics.js';
import { parseLoraModule } from '../../mockvllm/lora-registry.js';
import { FAILURE_TYPES, isFailureType, type FailureType } from '../../mockvllm/failure-injection.js';
import { DEFAULT_MOCK_PROFILE, MAX_DATA_PARALLEL_SIZE, NO_ENGINE_PROFILE, startMockVllm, type MockVllmOptions } from '../../mockvllm/server.js';
import { ENGINE_PROFILES } from '../../engine/profiles.js';

function fakeMetricsFlag(flags: Flags): FakeMetrics | undefined {
  const text = flags.string('fake-metrics');
  if (text === '') return undefined;
  try {
    return parseFakeMetrics(text);
  } catch (err) {
    throw new UsageError(`--fake-metrics: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function positiveInt(flags: Flags, name: string, min: number, max: number): number {
  const v = flags.number(name);
  if (v < min || v > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** The engine options of the flags; 0 in a limit flag keeps the profile's value. */
function engineFlags(flags: Flags): Pick<MockVllmOptions, 'profile' | 'profileOverrides' | 'maxWaitingQueueLength'> {
  const profile = flags.string('profile');
  const limits = { maxNumSeqs: 'max-num-seqs', numGpuBlocks: 'num-gpu-blocks', blockSize: 'block-size' } as const;
  const overrides: { maxNumSeqs?: number; numGpuBlocks?: number; blockSize?: number } = {};
  for (const [key, flag] of Object.entries(limits) as [keyof typeof limits, string][]) {
    const v = positiveInt(flags, flag, 0, 100_000_000);
    if (v > 0) overrides[key] = v;
  }
  const maxWaiting = positiveInt(flags, 'max-waiting-queue-length', -1, 100_000_000);
  if (profile === NO_ENGINE_PROFILE) {
    if (Object.keys(overrides).length > 0 || maxWaiting >= 0) {
      throw new UsageError(`--max-num-seqs, --num-gpu-blocks, --block-size and --max-waiting-queue-length need an engine (not --profile ${NO_ENGINE_PROFILE})`);
    }
    return { profile };
  }
  if (!ENGINE_PROFILES.has(profile)) {
    throw new UsageError(`--profile: unknown profile "${profile}" (known: ${[...ENGINE_PROFILES.keys(), NO_ENGINE_PROFILE].join(', ')})`);
  }
  return { profile, profileOverrides: overrides, ...(maxWaiting >= 0 ? { maxWaitingQueueLength: maxWaiting } : {}) };
}

/** `--data-parallel-size`, `--failure-injection-rate`, `--failure-types` and `--seed`. */
function rankAndFailureFlags(flags: Flags): Pick<MockVllmOptions, 'dataParallelSize' | 'failureInjectionRate' | 'failureTypes' | 'seed'> {
  const types: FailureType[] = [];
  for (const t of flags.list('failure-types')) {
    if (!isFailureType(t)) throw new UsageError(`--failure-types: unknown type "${t}" (known: ${FAILURE_TYPES.join(', ')})`);
    types.push(t);
  }
  const seed = flags.number('seed');
  return {
    dataParallelSize: positiveInt(flags, 'data-parallel-size', 1, MAX_DATA_PARALLEL_SIZE),
    failureInjectionRate: positiveInt(flags, 'failure-injection-rate', 0, 100),
    failureTypes: types,
    ...(seed >= 0 ? { seed } : {}),
  };
}

/**
 * The server options `epp mock-vllm`'s flags ask for (all but the logger). Throws `UsageError` for
 * any unusable value, before anything is started.
 */
export function mockVllmOptions(flags: Flags): MockVllmOptions {
  const fakeMetrics = fakeMetricsFlag(flags);
  const maxLoras = positiveInt(flags, 'max-loras', 0, 1_000_000);
  const loras = flags.list('lora-modules').map((spec) => {
    try {
      return parseLoraModule(spec);
    } catch (err) {
      throw new UsageError(`--lora-modules: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  return {
    host: flags.string('host'),
    port: positiveInt(flags, 'port', 0, 65535),
    model: flags.string('model'),
    ...(maxLoras > 0 ? { maxLoras } : {}),
    ...(fakeMetrics !== undefined ? { fakeMetrics } : {}),
    loras,
    ...engineFlags(flags),
    ...rankAndFailureFlags(flags),
  };
}

export const mockVllmCommand: Command = {
  name: 'mock-vllm',
  summary: 'Run a mock vLLM model server (OpenAI API, vLLM /metrics) for demos and tests',
  flags: [
    { name: 'host', kind: 'string', default: '0.0.0.0', help: 'Address to listen on' },
    { name: 'port', kind: 'port', default: 8000, help: 'Port to listen on, of rank 0 with --data-parallel-size (0 = any free port)' },
    { name: 'model', kind: 'string', default: 'Qwen/Qwen2.5-3B-Instruct', help: 'Served model name' },
    {
      name: 'fake-metrics',
      kind: 'string',
      default: '',
      help: 'JSON pinning /metrics values, llm-d-inference-sim keys: {"running-requests":n,"waiting-requests":n,"kv-cache-usage":0..1,"loras":[{"running":"a,b","waiting":"c","timestamp":t}]}',
    },
    { name: 'max-loras', kind: 'int', default: 0, help: "LoRA slots per rank and max_lora in vllm:lora_requests_info (0 = the profile's; 1 without an engine)" },
    { name: 'lora-modules', kind: 'list', help: 'LoRA adapters to serve, as name or name=path (repeatable, comma-separated)' },
    {
      name: 'profile',
      kind: 'string',
      default: DEFAULT_MOCK_PROFILE,
      help:
        `Simulated vLLM engine pacing tokens (continuous batching, prefix cache, queueing) and filling /metrics: ${[...ENGINE_PROFILES.keys()].join(', ')}, ` +
        `or ${NO_ENGINE_PROFILE} (no engine: every token at once, nothing queued or cached). The default, ${DEFAULT_MOCK_PROFILE}, is the default --model ` +
        'on a T4 as the seeds deploy it (~33 tokens/s per request, 2,048-token context); instant keeps the engine with zero latency',
    },
    { name: 'max-num-seqs', kind: 'int', default: 0, help: "Running requests per step, per rank (0 = the profile's)" },
    { name: 'num-gpu-blocks', kind: 'int', default: 0, help: "KV cache blocks per rank (0 = the profile's)" },
    { name: 'block-size', kind: 'int', default: 0, help: "Tokens per KV block (0 = the profile's)" },
    { name: 'max-waiting-queue-length', kind: 'int', default: -1, help: 'Waiting requests per rank beyond which new ones get 429 (-1 = unbounded)' },
    {
      name: 'data-parallel-size',
      kind: 'int',
      default: 1,
      help: `DP ranks (1-${MAX_DATA_PARALLEL_SIZE}), as vLLM external-LB DP: rank i is its own server on --port + i with its own engine and /metrics (engine="i")`,
    },
    {
      name: 'failure-injection-rate',
      kind: 'int',
      default: 0,
      help: 'Percentage (0-100) of completions/chat requests answered with an injected error, as llm-d-inference-sim; the X-Return-Error: <status> request header forces one',
    },
    { name: 'failure-types', kind: 'list', help: `Injected error types to draw from (default all): ${FAILURE_TYPES.join(', ')}` },
    { name: 'seed', kind: 'int', default: -1, help: 'Seed of the failure-injection draws, rank i using seed + i (-1 = from the clock)' },
    { name: 'v', kind: 'int', default: 2, help: 'Log verbosity: 0-1 warn, 2 info, 4 debug (one line per request), 5 trace' },
  ],
  async run(flags: Flags): Promise<void> {
    const logger = createLogger(flags.number('v'), 'mock-vllm');
    const options = mockVllmOptions(flags);
    const server = await startMockVllm({ ...options, logger });
    logger.info(
      { url: server.url, host: server.host, port: server.port, ports: server.ranks.map((r) => r.port), model: flags.string('model'), profile: options.profile },
      'mock-vllm listening',
    );
    // The destination buffers; scripts wait for this line to know the server is up.
    logger.flush();
    const signal = await untilSignal();
    logger.info({ signal }, 'mock-vllm shutting down');
    await server.close();
    logger.flush();
  },
};
