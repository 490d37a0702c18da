/** `epp mock-vllm`: an OpenAI-compatible mock of a vLLM model server, for demos and end-to-end tests. */
import { untilSignal, type Command } from '../command.js';
import { UsageError, type Flags } from '../flags.js';
import { createLogger } from '../../observability/logger.js';
import { parseFakeMetrics, type FakeMetrics } from '../../mockvllm/fake-metrics.js';
import { parseLoraModule } from '../../mockvllm/lora-registry.js';
import { startMockVllm, type MockVllmOptions } from '../../mockvllm/server.js';
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

/** The engine options of the flags: none without `--profile`; 0 in a limit flag keeps the profile's value. */
function engineFlags(flags: Flags): Pick<MockVllmOptions, 'profile' | 'profileOverrides' | 'maxWaitingQueueLength'> {
  const profile = flags.string('profile');
  const limits = { maxNumSeqs: 'max-num-seqs', numGpuBlocks: 'num-gpu-blocks', blockSize: 'block-size' } as const;
  const overrides: { maxNumSeqs?: number; numGpuBlocks?: number; blockSize?: number } = {};
  for (const [key, flag] of Object.entries(limits) as [keyof typeof limits, string][]) {
    const v = positiveInt(flags, flag, 0, 100_000_000);
    if (v > 0) overrides[key] = v;
  }
  const maxWaiting = positiveInt(flags, 'max-waiting-queue-length', -1, 100_000_000);
  if (profile === '') {
    if (Object.keys(overrides).length > 0 || maxWaiting >= 0) throw new UsageError('--max-num-seqs, --num-gpu-blocks, --block-size and --max-waiting-queue-length need --profile');
    return {};
  }
  if (!ENGINE_PROFILES.has(profile)) throw new UsageError(`--profile: unknown profile "${profile}" (known: ${[...ENGINE_PROFILES.keys()].join(', ')})`);
  return { profile, profileOverrides: overrides, ...(maxWaiting >= 0 ? { maxWaitingQueueLength: maxWaiting } : {}) };
}

export const mockVllmCommand: Command = {
  name: 'mock-vllm',
  summary: 'Run a mock vLLM model server (OpenAI API, vLLM /metrics) for demos and tests',
  flags: [
    { name: 'host', kind: 'string', default: '0.0.0.0', help: 'Address to listen on' },
    { name: 'port', kind: 'int', default: 8000, help: 'Port to listen on (0 = any free port)' },
    { name: 'model', kind: 'string', default: 'Qwen/Qwen2.5-3B-Instruct', help: 'Served model name' },
    {
      name: 'fake-metrics',
      kind: 'string',
      default: '',
      help: 'JSON pinning /metrics values, llm-d-inference-sim keys: {"running-requests":n,"waiting-requests":n,"kv-cache-usage":0..1,"loras":[{"running":"a,b","waiting":"c","timestamp":t}]}',
    },
    { name: 'max-loras', kind: 'int', default: 1, help: 'max_lora reported in vllm:lora_requests_info' },
    { name: 'lora-modules', kind: 'list', help: 'LoRA adapters to serve, as name or name=path (repeatable, comma-separated)' },
    {
      name: 'profile',
      kind: 'string',
      default: '',
      help: `Engine model pacing tokens and filling queue/KV/prefix-cache metrics: ${[...ENGINE_PROFILES.keys()].join(', ')} (default: none, answer at once)`,
    },
    { name: 'max-num-seqs', kind: 'int', default: 0, help: "With --profile: running requests per step (0 = the profile's)" },
    { name: 'num-gpu-blocks', kind: 'int', default: 0, help: "With --profile: KV cache blocks (0 = the profile's)" },
    { name: 'block-size', kind: 'int', default: 0, help: "With --profile: tokens per KV block (0 = the profile's)" },
    { name: 'max-waiting-queue-length', kind: 'int', default: -1, help: 'With --profile: waiting requests beyond which new ones get 429 (-1 = unbounded)' },
    { name: 'v', kind: 'int', default: 2, help: 'Log verbosity: 0-1 warn, 2 info, 3 debug (one line per request), 4+ trace' },
  ],
  async run(flags: Flags): Promise<void> {
    const fakeMetrics = fakeMetricsFlag(flags);
    const engine = engineFlags(flags);
    const logger = createLogger(flags.number('v'), 'mock-vllm');
    const loras = flags.list('lora-modules').map((spec) => {
      try {
        return parseLoraModule(spec);
      } catch (err) {
        throw new UsageError(`--lora-modules: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    const server = await startMockVllm({
      host: flags.string('host'),
      port: positiveInt(flags, 'port', 0, 65535),
      model: flags.string('model'),
      maxLoras: positiveInt(flags, 'max-loras', 1, 1_000_000),
      ...(fakeMetrics !== undefined ? { fakeMetrics } : {}),
      loras,
      ...engine,
      logger,
    });
    logger.info({ url: server.url, host: server.host, port: server.port, model: flags.string('model') }, 'mock-vllm listening');
    // The destination buffers; scripts wait for this line to know the server is up.
    logger.flush();
    const signal = await untilSignal();
    logger.info({ signal }, 'mock-vllm shutting down');
    await server.close();
    logger.flush();
  },
};
