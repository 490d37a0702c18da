/**
 * `epp demo` (what `npm start` runs): mock vLLM replicas, the picker and the local gateway on one
 * machine, with example requests printed. With `--models a,b`, one pool per model (its own replicas
 * and picker) behind one gateway that routes by the body's `model`. Ctrl-C stops everything.
 */
import { startPicker, type PickerServer } from '../../app.js';
import { startGateway, type GatewayServer } from '../../gateway/gateway.js';
import { NO_ENGINE_PROFILE, startMockVllm, type MockVllmServer } from '../../mockvllm/server.js';
import { createLogger, type Logger } from '../../observability/logger.js';
import { untilSignal, type Command } from '../command.js';
import { UsageError, type Flags, type FlagSpec } from '../flags.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'port', kind: 'port', default: 8080, help: 'gateway port' },
  { name: 'replicas', kind: 'int', default: 3, help: 'mock vLLM replicas (per model)' },
  { name: 'model', kind: 'string', default: 'Qwen/Qwen2.5-3B-Instruct', help: 'served model name' },
  { name: 'models', kind: 'list', default: [], help: 'several models, one pool each (replicas + picker) behind one gateway routing by model; replaces --model' },
  { name: 'profile', kind: 'string', default: '', help: 'engine profile for the mock replicas (llama-8b-h100, qwen2.5-3b-t4, instant); none = answer at once' },
  { name: 'config-file', kind: 'string', default: '', help: "the picker's EndpointPickerConfig YAML (none = built-in default)" },
  { name: 'v', kind: 'int', default: 1, help: 'log verbosity (2 = info)' },
];

/** One model's pool: its mock replicas and its picker. */
interface Pool {
  readonly model: string;
  readonly mocks: MockVllmServer[];
  picker: PickerServer | undefined;
}

function demoModels(flags: Flags): string[] {
  const models = flags.list('models').map((m) => m.trim()).filter((m) => m !== '');
  if (models.length === 0) return [flags.string('model')];
  if (new Set(models).size !== models.length) throw new UsageError('--models lists a model twice');
  if (models.length > 8) throw new UsageError('--models takes at most 8 models');
  return models;
}

async function startPool(pool: Pool, index: number, replicas: number, flags: Flags, logger: Logger): Promise<void> {
  const profile = flags.string('profile');
  const prefix = index === 0 ? 'vllm' : `vllm-m${index}`;
  for (let i = 0; i < replicas; i++) {
    // Without --profile the demo answers at once (no engine), unlike a bare `epp mock-vllm`.
    pool.mocks.push(
      await startMockVllm({ host: '127.0.0.1', port: 0, model: pool.model, podName: `${prefix}-${i}`, logger: logger.child({ model: pool.model, replica: i }), profile: profile === '' ? NO_ENGINE_PROFILE : profile }),
    );
  }
  pool.picker = await startPicker({
    host: '127.0.0.1',
    grpcPort: 0,
    grpcHealthPort: 0,
    metricsPort: 0,
    secureServing: false,
    certPath: '',
    config: flags.string('config-file') === '' ? 'default' : { file: flags.string('config-file') },
    discovery: { endpoints: pool.mocks.map((m, i) => ({ name: `${prefix}-${i}`, address: m.host, port: m.port, labels: {} })) },
    maxRequestBodyBytes: 32 * 1024 * 1024,
    decisionTimeoutMs: 5000,
    requestBodyMode: 'full-duplex',
    disableSubsetFilter: false,
    healthChecking: false,
    refreshMetricsIntervalMs: 50,
    metricsStalenessMs: 2000,
    poolName: index === 0 ? 'demo' : `demo-${index}`,
    logger,
  });
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run mock replicas, the picker and a gateway locally (npm start)',
  flags: FLAGS,
  async run(flags) {
    const logger = createLogger(flags.number('v'));
    const models = demoModels(flags);
    const multi = flags.list('models').length > 0;
    const replicas = Math.max(1, Math.min(16, flags.number('replicas')));
    const pools: Pool[] = models.map((model) => ({ model, mocks: [], picker: undefined }));
    let gateway: GatewayServer | undefined;
    try {
      for (const [i, pool] of pools.entries()) await startPool(pool, i, replicas, flags, logger);
      const grpcPort = (pool: Pool): number => pool.picker?.grpcPort ?? 0;
      const first = pools[0] as Pool;
      gateway = multi
        ? await startGateway({ host: '127.0.0.1', port: flags.number('port'), pools: pools.map((p) => ({ model: p.model, epp: `127.0.0.1:${grpcPort(p)}` })), logger })
        : await startGateway({ host: '127.0.0.1', port: flags.number('port'), epp: `127.0.0.1:${grpcPort(first)}`, logger });
      const url = gateway.url;
      const lines = [''];
      for (const pool of pools) {
        lines.push(`epp demo: ${pool.mocks.length} mock vLLM replicas serving ${pool.model} (${pool.mocks.map((m) => m.url).join(', ')})`);
        lines.push(`          picker ext_proc on 127.0.0.1:${grpcPort(pool)}, health on :${pool.picker?.grpcHealthPort ?? 0}, metrics on http://127.0.0.1:${pool.picker?.metricsPort ?? 0}/metrics`);
      }
      lines.push(`          gateway on ${url}${multi ? ' (routes by the body\'s model; unknown models get 404)' : ''}`, '');
      lines.push('Try (the x-inference-pod response header names the replica that served the request):');
      for (const { model } of pools) lines.push(`  curl -i ${url}/v1/completions -H 'content-type: application/json' -d '{"model":"${model}","prompt":"hi"}'`);
      lines.push(
        `  curl -i ${url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${first.model}","messages":[{"role":"user","content":"hello"}]}'`,
        `  curl -N ${url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${first.model}","stream":true,"messages":[{"role":"user","content":"stream please"}]}'`,
        `  curl -i ${url}/v1/messages -H 'content-type: application/json' -d '{"model":"${first.model}","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}'`,
      );
      if (!multi) lines.push(`  curl ${url}/v1/models`);
      lines.push('', 'Ctrl-C stops everything.', '');
      process.stdout.write(lines.join('\n'));
      await untilSignal();
    } finally {
      await gateway?.close();
      for (const pool of pools) {
        await pool.picker?.shutdown(1000);
        await Promise.all(pool.mocks.map((m) => m.close()));
      }
      logger.flush();
    }
  },
};
