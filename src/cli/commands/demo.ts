/**
 * `epp demo` (what `npm start` runs): three mock vLLM replicas, the picker and the local gateway on
 * one machine, with example requests printed. Ctrl-C stops everything.
 */
import { startPicker, type PickerServer } from '../../app.js';
import { startGateway, type GatewayServer } from '../../gateway/gateway.js';
import { NO_ENGINE_PROFILE, startMockVllm, type MockVllmServer } from '../../mockvllm/server.js';
import { createLogger } from '../../observability/logger.js';
import { untilSignal, type Command } from '../command.js';
import type { FlagSpec } from '../flags.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'port', kind: 'int', default: 8080, help: 'gateway port' },
  { name: 'replicas', kind: 'int', default: 3, help: 'mock vLLM replicas' },
  { name: 'model', kind: 'string', default: 'Qwen/Qwen2.5-3B-Instruct', help: 'served model name' },
  { name: 'profile', kind: 'string', default: '', help: 'engine profile for the mock replicas (llama-8b-h100, qwen2.5-3b-t4, instant); none = answer at once' },
  { name: 'config-file', kind: 'string', default: '', help: "the picker's EndpointPickerConfig YAML (none = built-in default)" },
  { name: 'v', kind: 'int', default: 1, help: 'log verbosity (2 = info)' },
];

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run mock replicas, the picker and a gateway locally (npm start)',
  flags: FLAGS,
  async run(flags) {
    const logger = createLogger(flags.number('v'));
    const model = flags.string('model');
    const replicas = Math.max(1, Math.min(16, flags.number('replicas')));
    const mocks: MockVllmServer[] = [];
    let picker: PickerServer | undefined;
    let gateway: GatewayServer | undefined;
    try {
      for (let i = 0; i < replicas; i++) {
        const profile = flags.string('profile');
        // Without --profile the demo answers at once (no engine), unlike a bare `epp mock-vllm`.
        mocks.push(await startMockVllm({ host: '127.0.0.1', port: 0, model, podName: `vllm-${i}`, logger: logger.child({ replica: i }), profile: profile === '' ? NO_ENGINE_PROFILE : profile }));
      }
      picker = await startPicker({
        host: '127.0.0.1',
        grpcPort: 0,
        grpcHealthPort: 0,
        metricsPort: 0,
        secureServing: false,
        certPath: '',
        config: flags.string('config-file') === '' ? 'default' : { file: flags.string('config-file') },
        discovery: { endpoints: mocks.map((m, i) => ({ name: `vllm-${i}`, address: m.host, port: m.port, labels: {} })) },
        maxRequestBodyBytes: 32 * 1024 * 1024,
        decisionTimeoutMs: 5000,
        requestBodyMode: 'full-duplex',
        disableSubsetFilter: false,
        healthChecking: false,
        refreshMetricsIntervalMs: 50,
        metricsStalenessMs: 2000,
        poolName: 'demo',
        logger,
      });
      gateway = await startGateway({ host: '127.0.0.1', port: flags.number('port'), epp: `127.0.0.1:${picker.grpcPort}`, logger });
      const url = gateway.url;
      process.stdout.write(
        [
          '',
          `epp demo: ${replicas} mock vLLM replicas (${mocks.map((m) => m.url).join(', ')})`,
          `          picker ext_proc on 127.0.0.1:${picker.grpcPort}, health on :${picker.grpcHealthPort}, metrics on http://127.0.0.1:${picker.metricsPort}/metrics`,
          `          gateway on ${url}`,
          '',
          'Try (the x-inference-pod response header names the replica that served the request):',
          `  curl -i ${url}/v1/completions -H 'content-type: application/json' -d '{"model":"${model}","prompt":"hi"}'`,
          `  curl -i ${url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${model}","messages":[{"role":"user","content":"hello"}]}'`,
          `  curl -N ${url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"${model}","stream":true,"messages":[{"role":"user","content":"stream please"}]}'`,
          `  curl ${url}/v1/models`,
          '',
          'Ctrl-C stops everything.',
          '',
        ].join('\n'),
      );
      await untilSignal();
    } finally {
      await gateway?.close();
      await picker?.shutdown(1000);
      await Promise.all(mocks.map((m) => m.close()));
      logger.flush();
    }
  },
};
