/**
 * The routing configurations `epp simulate` compares: named baselines and config files, and the
 * plugin registry they are built with (the built-ins plus the simulator-only round-robin and
 * SGLang cache-aware pickers).
 */
import type { ConfigSource } from '../config/load-config.js';
import { registerBuiltins } from '../builtins.js';
import { PluginRegistry } from '../plugin/registry.js';
import { SGLANG_CACHE_AWARE_PICKER_TYPE, sglangCacheAwarePickerFactory } from './peers/sglang-cache-aware-picker.js';
import { ROUND_ROBIN_PICKER_TYPE, roundRobinPickerFactory } from './round-robin-picker.js';

const HEADER = 'apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\n';

function singlePicker(type: string): string {
  return `${HEADER}plugins:\n- type: ${type}\nschedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: ${type}\n`;
}

/**
 * A peer router's picker over a prefix producer that matches whole prompts (peers match the full
 * prompt: radix trees, block indexes), up to 128 Ki tokens.
 */
function wholePromptPrefixPicker(type: string, parameters = ''): string {
  return (
    `${HEADER}plugins:\n- type: approx-prefix-cache-producer\n  parameters: {maxPrefixTokensToMatch: 131072}\n- type: ${type}\n` +
    (parameters === '' ? '' : `  parameters: ${parameters}\n`) +
    `schedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: ${type}\n`
  );
}

/** Baseline name → where its configuration comes from. */
export const BASELINE_CONFIGS: ReadonlyMap<string, ConfigSource> = new Map<string, ConfigSource>([
  ['random', { text: singlePicker('random-picker') }],
  ['round-robin', { text: singlePicker(ROUND_ROBIN_PICKER_TYPE) }],
  [
    'least-queue',
    {
      text: `${HEADER}plugins:\n- type: queue-scorer\n- type: max-score-picker\nschedulingProfiles:\n- name: default\n  plugins:\n  - pluginRef: queue-scorer\n  - pluginRef: max-score-picker\n`,
    },
  ],
  ['llm-d-default', 'default'],
  ['sglang-cache-aware', { text: wholePromptPrefixPicker(SGLANG_CACHE_AWARE_PICKER_TYPE) }],
  // Dynamo's linear cost is our prefill-cost-scorer alone with Dynamo's weights: max-score over its
  // min-max scores is argmin cost.
  ['dynamo-cost', { text: wholePromptPrefixPicker('prefill-cost-scorer', '{decodeLoadScale: 1.0}') }],
  // Ours: the same scorer costing prefill work only (an estimate of TTFT).
  ['prefill-cost', { text: wholePromptPrefixPicker('prefill-cost-scorer') }],
]);

/**
 * A configuration to simulate: a file or text `ConfigSource`, or a string — a baseline name,
 * `'default'` (the built-in default, as `ConfigSource`), or any other string as a config file path.
 */
export type SimulationConfig = Exclude<ConfigSource, 'default'> | string;

/** The label and source of `config`: baselines by name, `'default'` as the built-in default, other strings as files. */
export function resolveSimulationConfig(config: SimulationConfig): { readonly label: string; readonly source: ConfigSource } {
  if (typeof config !== 'string') return { label: 'file' in config ? config.file : 'config-text', source: config };
  if (config === 'default') return { label: 'llm-d-default', source: 'default' };
  const baseline = BASELINE_CONFIGS.get(config);
  return { label: config, source: baseline ?? { file: config } };
}

/** A fresh registry holding every built-in plugin type and the simulator's `round-robin-picker`. */
export function simulationRegistry(): PluginRegistry {
  const registry = registerBuiltins(new PluginRegistry());
  registry.register(ROUND_ROBIN_PICKER_TYPE, roundRobinPickerFactory);
  registry.register(SGLANG_CACHE_AWARE_PICKER_TYPE, sglangCacheAwarePickerFactory);
  return registry;
}
