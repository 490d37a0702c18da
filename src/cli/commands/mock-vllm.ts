/** `epp mock-vllm`: an OpenAI-compatible mock of a vLLM model server, for demos and end-to-end tests. */
import { untilSignal, type Command } from '../command.js';
import { UsageError, type Flags } from '../flags.js';
import { createLogger } from '../../observability/logger.js';
import { parseFakeMetrics, type FakeMetrics } from '../../mockvllm/fake-metrics.js';
import { parseLoraModule } from '../../mockvllm/lora-registry.js';
import { startMockVllm } from '../../mockvllm/server.js';

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
    { name: 'v', kind: 'int', default: 2, help: 'Log verbosity: 0-1 warn, 2 info, 3 debug (one line per request), 4+ trace' },
  ],
  async run(flags: Flags): Promise<void> {
    const fakeMetrics = fakeMetricsFlag(flags);
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
