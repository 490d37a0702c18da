/**
 * The data-layer plugins of EndpointPickerConfig. They hold configuration only (the collector runs
 * them): `metrics-data-source` says where to scrape, `core-metrics-extractor` how to read the
 * metrics of each engine type. Both are injected with defaults when the config does not list them.
 *
 * ```yaml
 * - type: metrics-data-source
 *   parameters: {scheme: http, path: /metrics, insecureSkipVerify: true}   # + nameFilter, timeout, maxResponseBytes
 * - type: core-metrics-extractor
 *   parameters: {engineLabelKey: llm-d.ai/engine-type, defaultEngine: vllm, engineConfigs: [{name: …, queuedRequestsSpec: …}]}
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../datastore/endpoint.js';
import type { PluginFactory } from '../plugin/registry.js';
import type { Plugin, TypedName } from '../plugin/plugin.js';
import { decodeParameters, durationSchema } from '../plugin/parameters.js';
import { BUILTIN_ENGINE_SPECS, compileEngineConfig, ENGINE_LABEL_KEYS, type EngineConfig } from './engine-config.js';

export const METRICS_DATA_SOURCE_TYPE = 'metrics-data-source';
export const CORE_METRICS_EXTRACTOR_TYPE = 'core-metrics-extractor';


const dataSourceSchema = z.strictObject({
  scheme: z.enum(['http', 'https']).default('http'),
  path: z.string().startsWith('/').default('/metrics'),
  insecureSkipVerify: z.boolean().default(true),
  nameFilter: z.boolean().default(true),
  timeout: durationSchema.default(1000),
  maxResponseBytes: z.number().int().min(1024).default(16 * 1024 * 1024),
});

export class MetricsDataSource implements Plugin {
  readonly typedName: TypedName;
  constructor(
    name: string,
    readonly parameters: z.output<typeof dataSourceSchema>,
  ) {
    this.typedName = { type: METRICS_DATA_SOURCE_TYPE, name };
  }
}

export const metricsDataSourceFactory: PluginFactory = (name, parameters) =>
  new MetricsDataSource(name, decodeParameters(dataSourceSchema, parameters, METRICS_DATA_SOURCE_TYPE, name));

const engineSpecSchema = z.strictObject({
  name: z.string().min(1),
  queuedRequestsSpec: z.string().optional(),
  runningRequestsSpec: z.string().optional(),
  kvUsageSpec: z.string().optional(),
  loraSpec: z.string().optional(),
  cacheInfoSpec: z.string().optional(),
  cacheBlockSizeLabelName: z.string().optional(),
  cacheNumBlocksLabelName: z.string().optional(),
  cacheBlockSizeSpec: z.string().optional(),
  cacheNumBlocksSpec: z.string().optional(),
  rankLabelName: z.string().optional(),
});

const extractorSchema = z.strictObject({
  engineLabelKey: z.string().min(1).optional(),
  defaultEngine: z.string().min(1).default('vllm'),
  engineConfigs: z.array(engineSpecSchema).default([]),
});

/** Chooses each endpoint's engine config from its engine-type label. */
export class CoreMetricsExtractor implements Plugin {
  readonly typedName: TypedName;
  readonly #engines = new Map<string, EngineConfig>();
  readonly #labelKeys: readonly string[];
  readonly #default: EngineConfig;

  constructor(name: string, parameters: z.output<typeof extractorSchema>) {
    this.typedName = { type: CORE_METRICS_EXTRACTOR_TYPE, name };
    for (const spec of BUILTIN_ENGINE_SPECS) this.#engines.set(spec.name, compileEngineConfig(spec));
    for (const spec of parameters.engineConfigs) this.#engines.set(spec.name, compileEngineConfig(spec));
    this.#labelKeys = parameters.engineLabelKey === undefined ? ENGINE_LABEL_KEYS : [parameters.engineLabelKey];
    const fallback = this.#engines.get(parameters.defaultEngine);
    if (fallback === undefined) throw new Error(`defaultEngine "${parameters.defaultEngine}" is not a known engine (${[...this.#engines.keys()].join(', ')})`);
    this.#default = fallback;
  }

  /** The engine config for an endpoint; an unknown engine-type label falls back to the default. */
  engineFor(endpoint: Endpoint): EngineConfig {
    for (const key of this.#labelKeys) {
      const value = endpoint.labels[key];
      if (value !== undefined) return this.#engines.get(value) ?? this.#default;
    }
    return this.#default;
  }
}

export const coreMetricsExtractorFactory: PluginFactory = (name, parameters) =>
  new CoreMetricsExtractor(name, decodeParameters(extractorSchema, parameters, CORE_METRICS_EXTRACTOR_TYPE, name));
