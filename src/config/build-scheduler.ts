/**
 * Turns a decoded EndpointPickerConfig into running parts, as the reference's loader
 * (`pkg/epp/config/loader`, v0.10) does, reporting every problem at once with its path:
 *
 * 1. Legacy forms are moved to their new place with a warning (top-level `parser` →
 *    `requestHandler.parsers`, top-level `saturationDetector` → `flowControl.saturationDetector`,
 *    the older apiVersion); feature gates are resolved.
 * 2. Every plugin is instantiated through the registry; a plugin whose factory looks other plugins
 *    up by name (a disaggregation handler and its deciders) is built after the rest, so listing
 *    order does not matter. A type the reference has and this build lacks fails with
 *    `plugin type "X" is not implemented yet (issue N: …)`; references to a plugin that failed are
 *    not reported again.
 * 3. System defaults (`loader/defaults.go`): no profiles → one `default` profile with every filter,
 *    scorer and picker; one profile and no handler → a single-profile-handler; a profile without a
 *    picker gets the first declared picker (a max-score-picker is injected only when none is
 *    declared); scorers default to weight 1; no parsers → the default parser list (those this
 *    build has); no saturation detector → utilization-detector; the metrics data source and core
 *    extractor are added unless `dataLayer.injectDefaults: false` or a metrics source is
 *    configured; a data producer a configured scorer consumes is added with default parameters.
 * 4. Alpha plugins are refused unless experimental plugins are allowed.
 */
import type { SchedulerMetrics } from '../observability/metrics.js';
import { FileDiscovery } from '../discovery/file-discovery.js';
import { collectParameterWarnings } from '../plugin/parameters.js';
import type { Plugin } from '../plugin/plugin.js';
import type { PluginContext, PluginRegistry } from '../plugin/registry.js';
import { isRequestParser, OPENAI_PARSER_TYPE, PASSTHROUGH_PARSER_TYPE, type RequestParser } from '../request/request-parser.js';
import { APPROX_PREFIX_CACHE_PRODUCER_TYPE } from '../scheduling/plugins/producers/approx-prefix-cache-producer.js';
import { INFLIGHT_LOAD_PRODUCER_TYPE } from '../scheduling/plugins/producers/inflight-load-producer.js';
import { MAX_SCORE_PICKER_TYPE } from '../scheduling/plugins/pickers/max-score-picker.js';
import { SINGLE_PROFILE_HANDLER_TYPE } from '../scheduling/plugins/profile-handlers/single-profile-handler.js';
import { DATA_PARALLEL_PROFILE_HANDLER_TYPE } from '../scheduling/plugins/profile-handlers/data-parallel-profile-handler.js';
import { UTILIZATION_DETECTOR_TYPE } from '../scheduling/plugins/admission/utilization-detector.js';
import { isSaturationDetector, type SaturationDetector } from '../scheduling/saturation-detector.js';
import { Scheduler } from '../scheduling/scheduler.js';
import { isAdmitter, isDataProducer, isFilter, isFirstResponseByteHook, isPicker, isPreRequestHook, isProfileHandler, isRequestEndHook, isResponseHeadersHook, isScorer, type Filter, type Picker, type ProfileHandler, type ProfileSpec, type Scorer } from '../scheduling/types.js';
import { isAttributeSource, type AttributeExtractor, type AttributeSource } from '../scrape/attribute-source.js';
import { CORE_METRICS_EXTRACTOR_TYPE, CoreMetricsExtractor, METRICS_DATA_SOURCE_TYPE, MetricsDataSource } from '../scrape/data-layer-plugins.js';
import { ConfigError } from './decode.js';
import { didYouMean } from './did-you-mean.js';
import { DEPRECATED_API_VERSION, type EndpointPickerConfig, type FlowControlConfig } from './endpoint-picker-config.js';
import { FLOW_CONTROL_GATE, resolveFeatureGates } from './feature-gates.js';
import { notImplementedMessage, UNIMPLEMENTED_PLUGIN_TYPES } from './unimplemented-plugins.js';
import { MM_EMBEDDINGS_CACHE_PRODUCER_TYPE } from '../scheduling/plugins/producers/mm-embeddings-cache-producer.js';
import { MmEmbeddingsCacheScorer } from '../scheduling/plugins/scorers/mm-embeddings-cache-scorer.js';

/** Consumer plugin type → the data-producer type it needs, auto-injected when missing. */
const PRODUCERS_FOR: readonly (readonly [string, string])[] = [
  ['active-request-scorer', 'inflight-load-producer'],
  ['token-load-scorer', 'inflight-load-producer'],
  ['prefix-cache-scorer', 'approx-prefix-cache-producer'],
  ['no-hit-lru-scorer', 'approx-prefix-cache-producer'],
  ['prefill-cost-scorer', 'approx-prefix-cache-producer'],
  ['prefix-cache-affinity-filter', 'approx-prefix-cache-producer'],
  ['prefix-cache-affinity-filter', 'inflight-load-producer'],
  ['mm-embeddings-cache-scorer', 'mm-embeddings-cache-producer'],
];

/** The reference's default parser list, in order; the types this build lacks are left out silently. */
export const DEFAULT_PARSER_TYPES: readonly string[] = [OPENAI_PARSER_TYPE, 'anthropic-parser', 'vllmhttp-parser', PASSTHROUGH_PARSER_TYPE];

/** Default `dataLayer.crossReplicaSyncInterval` (ms), as the reference. */
export const DEFAULT_CROSS_REPLICA_SYNC_INTERVAL_MS = 200;

/** A metrics source with the extractors configured for it. */
export interface DataSourceBinding {
  readonly source: MetricsDataSource;
  readonly extractors: readonly CoreMetricsExtractor[];
}

/** A non-metrics data source (`dcgm-data-source`, …) with the attribute extractors configured for it. */
export interface AttributeSourceBinding {
  readonly source: AttributeSource;
  readonly extractors: readonly AttributeExtractor[];
}

/** A configuration turned into running parts. */
export interface BuiltConfig {
  readonly scheduler: Scheduler;
  /** Every plugin instance by name, injected defaults included. */
  readonly plugins: ReadonlyMap<string, Plugin>;
  /** `requestHandler.parsers` in order (never empty when the registry has a parser type). */
  readonly parsers: readonly RequestParser[];
  /** `flowControl.saturationDetector` (undefined only when the registry has no detector type). */
  readonly saturationDetector: (Plugin & SaturationDetector) | undefined;
  /** `dataLayer.sources`, defaults included; empty = metrics collection disabled. */
  readonly dataSources: readonly DataSourceBinding[];
  /** `dataLayer.sources` that publish endpoint attributes, each scraped on its own period. */
  readonly attributeSources: readonly AttributeSourceBinding[];
  /** `dataLayer.discovery`, when configured. */
  readonly discovery: FileDiscovery | undefined;
  /** Every registered feature gate with its value. */
  readonly featureGates: ReadonlyMap<string, boolean>;
  readonly flowControl: FlowControlConfig | undefined;
  /** Things accepted but deprecated, ignored or not acted on; the caller logs them at startup. */
  readonly warnings: readonly string[];
}

/** Loader switches the CLI sets. */
export interface BuildOptions {
  /** Load Alpha plugins (`--allow-experimental-plugins`); default true for embedded use, `epp serve` defaults it to false. */
  readonly allowExperimentalPlugins?: boolean;
}

interface Declared {
  readonly index: number;
  readonly name: string;
  readonly type: string;
  readonly parameters: unknown;
}

export function buildScheduler(
  config: EndpointPickerConfig,
  registry: PluginRegistry,
  context: PluginContext,
  metrics: SchedulerMetrics | undefined,
  source = 'EndpointPickerConfig',
  options: BuildOptions = {},
): BuiltConfig {
  const problems: string[] = [];
  const warnings: string[] = [];
  /** Plugin names whose declaration already failed: references to them are not reported again. */
  const failed = new Set<string>();
  const plugins = new Map<string, Plugin>();
  /** Where each plugin came from, for messages (`plugins[3]`, or `injected`). */
  const origin = new Map<string, string>();

  // 1. Legacy forms and feature gates.
  if (config.apiVersion === DEPRECATED_API_VERSION) warnings.push(`apiVersion: ${DEPRECATED_API_VERSION} is deprecated; use llm-d.ai/v1alpha1`);
  let saturationRef = config.flowControl?.saturationDetector?.pluginRef ?? '';
  let saturationPath = 'flowControl.saturationDetector.pluginRef';
  if (config.saturationDetector !== undefined) {
    warnings.push('saturationDetector: the top-level field is deprecated; use flowControl.saturationDetector (when both are set, the new field is used)');
    if (config.flowControl?.saturationDetector === undefined) {
      saturationRef = config.saturationDetector.pluginRef;
      saturationPath = 'saturationDetector.pluginRef';
    }
  }
  let parserRefs = (config.requestHandler?.parsers ?? []).map((p, i) => ({ ref: p.pluginRef, path: `requestHandler.parsers[${i}].pluginRef` }));
  if (config.parser !== undefined) {
    warnings.push('parser: the top-level field is deprecated; use requestHandler.parsers (when both are set, the new field is used)');
    if (parserRefs.length === 0) parserRefs = [{ ref: config.parser.pluginRef, path: 'parser.pluginRef' }];
  }
  const { gates: featureGates, problems: gateProblems } = resolveFeatureGates(config.featureGates);
  problems.push(...gateProblems);

  // 2. Plugins: declared names and types, then instantiation (reference-resolving ones last).
  const declared: Declared[] = [];
  const names = new Set<string>();
  config.plugins.forEach((p, index) => {
    const name = p.name === '' ? p.type : p.name;
    if (p.type === '') {
      problems.push(`plugins[${index}].type: plugin "${name}" is missing a type`);
      return;
    }
    if (names.has(name)) {
      problems.push(`plugins[${index}].name: duplicate plugin name "${name}"`);
      return;
    }
    names.add(name);
    const gap = UNIMPLEMENTED_PLUGIN_TYPES.get(p.type);
    if (gap !== undefined) {
      problems.push(`plugins[${index}].type: ${notImplementedMessage(p.type, gap)}`);
      failed.add(name);
      return;
    }
    if (!registry.has(p.type)) {
      problems.push(`plugins[${index}].type: unknown plugin type "${p.type}"${didYouMean(p.type, [...registry.types(), ...UNIMPLEMENTED_PLUGIN_TYPES.keys()])} (known: ${registry.types().join(', ')})`);
      failed.add(name);
      return;
    }
    declared.push({ index, name, type: p.type, parameters: p.parameters });
  });
  const late = (d: Declared): boolean => registry.registration(d.type)?.resolvesReferences === true;
  for (const d of [...declared.filter((d) => !late(d)), ...declared.filter(late)]) {
    const at = `plugins[${d.index}]`;
    try {
      const built = collectParameterWarnings(() => registry.create(d.type, d.name, d.parameters, context));
      plugins.set(d.name, built.value);
      origin.set(d.name, at);
      for (const w of built.warnings) warnings.push(`${at}.${w}`);
    } catch (err) {
      const found = err instanceof ConfigError ? err.problems.map((p) => `${at}.parameters${p.startsWith('(root)') ? p.slice('(root)'.length) : `.${p}`}`) : [`${at}.parameters: ${err instanceof Error ? err.message : String(err)}`];
      // A plugin that names one whose declaration failed fails because of it: that is reported already.
      const consequence = (p: string): boolean => [...failed].some((name) => p.includes(`"${name}"`));
      problems.push(...found.filter((p) => !consequence(p)));
      failed.add(d.name);
    }
    const deprecatedFor = registry.registration(d.type)?.deprecatedFor;
    if (deprecatedFor !== undefined) warnings.push(`${at}.type: plugin type "${d.type}" is deprecated; use "${deprecatedFor}"`);
  }
  const inject = (type: string, why: string): Plugin | undefined => {
    if (!registry.has(type) || plugins.has(type) || failed.has(type)) return plugins.get(type);
    try {
      const plugin = registry.create(type, type, undefined, context);
      plugins.set(type, plugin);
      origin.set(type, `injected (${why})`);
      return plugin;
    } catch (err) {
      problems.push(`${why}: default plugin "${type}" could not be created: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  };
  const unresolved = (ref: string): string => `no plugin named "${ref}"${didYouMean(ref, plugins.keys())}`;

  // The reference injects the data producer a configured consumer needs, with default parameters.
  for (const [consumer, producer] of PRODUCERS_FOR) {
    const present = [...plugins.values()].map((p) => p.typedName.type);
    if (present.includes(consumer) && !present.includes(producer)) inject(producer, `needed by ${consumer}`);
  }

  // A consumer that names its producer instance must name one that exists, of the producer's type (as v0.10).
  for (const [name, plugin] of plugins) {
    for (const ref of producerReferences(plugin)) {
      if (failed.has(ref.name)) continue;
      const at = `${origin.get(name) ?? `plugin "${name}"`}.parameters.${ref.parameter}`;
      const target = plugins.get(ref.name);
      if (target === undefined) problems.push(`${at}: ${unresolved(ref.name)}`);
      else if (target.typedName.type !== ref.type) problems.push(`${at}: plugin "${ref.name}" has type ${target.typedName.type}, not ${ref.type}`);
    }
  }

  // 3. System defaults and references: scheduling profiles.
  const declaredPlugins = [...plugins.entries()];
  const handlers = declaredPlugins.filter(([, p]) => isProfileHandler(p)).map(([, p]) => p as ProfileHandler);
  const profileDecls =
    config.schedulingProfiles.length > 0
      ? config.schedulingProfiles
      : [{ name: 'default', plugins: declaredPlugins.filter(([, p]) => isFilter(p) || isScorer(p) || isPicker(p)).map(([name]) => ({ pluginRef: name, weight: undefined })) }];
  // A profile without a picker reuses the first declared picker; one is injected only when none is.
  let sharedPicker = declaredPlugins.find(([, p]) => isPicker(p))?.[1] as Picker | undefined;
  const profiles: ProfileSpec[] = [];
  const profileNames = new Set<string>();
  profileDecls.forEach((decl, i) => {
    if (decl.name === '') problems.push(`schedulingProfiles[${i}].name: is missing`);
    else if (profileNames.has(decl.name)) problems.push(`schedulingProfiles[${i}].name: duplicate profile "${decl.name}"`);
    profileNames.add(decl.name);
    const filters: Filter[] = [];
    const scorers: { scorer: Scorer; weight: number }[] = [];
    let picker: Picker | undefined;
    let broken = false;
    decl.plugins.forEach((ref, j) => {
      const at = `schedulingProfiles[${i}].plugins[${j}].pluginRef`;
      if (ref.pluginRef === '') {
        problems.push(`${at}: is missing`);
        return;
      }
      const plugin = plugins.get(ref.pluginRef);
      if (plugin === undefined) {
        broken = true;
        if (!failed.has(ref.pluginRef)) problems.push(`${at}: ${unresolved(ref.pluginRef)}`);
        return;
      }
      let placed = false;
      if (isFilter(plugin)) {
        filters.push(plugin);
        placed = true;
      }
      if (isScorer(plugin)) {
        scorers.push({ scorer: plugin, weight: ref.weight ?? 1 });
        placed = true;
      }
      if (isPicker(plugin)) {
        if (picker !== undefined) problems.push(`${at}: profile "${decl.name}" already has picker "${picker.typedName.name}"`);
        picker = plugin;
        placed = true;
      }
      // The reference skips such a plugin silently (its lifecycle hooks run wherever it is listed).
      if (!placed) warnings.push(`${at}: plugin "${ref.pluginRef}" (type ${plugin.typedName.type}) is not a filter, scorer or picker; ignored in profile "${decl.name}"`);
    });
    if (picker === undefined && !broken) {
      sharedPicker ??= inject(MAX_SCORE_PICKER_TYPE, `picker of profile "${decl.name}"`) as Picker | undefined;
      picker = sharedPicker;
    }
    if (picker !== undefined) profiles.push({ name: decl.name, filters, scorers, picker });
  });
  let handler: ProfileHandler | undefined = handlers[0];
  if (handlers.length > 1) problems.push(`plugins: exactly one profile handler allowed, found ${handlers.map((h) => h.typedName.name).join(', ')}`);
  if (handler === undefined) {
    if (profileDecls.length === 1) handler = inject(SINGLE_PROFILE_HANDLER_TYPE, 'profile handler for a single profile') as ProfileHandler | undefined;
    // When a plugin failed, the missing handler may be that plugin: it is reported already.
    else if (failed.size === 0) problems.push(`plugins: ${profileDecls.length} scheduling profiles need a profile handler plugin`);
  } else if ((handler?.typedName.type === SINGLE_PROFILE_HANDLER_TYPE || handler?.typedName.type === DATA_PARALLEL_PROFILE_HANDLER_TYPE) && profileDecls.length > 1) {
    problems.push(`schedulingProfiles: ${handler.typedName.type} cannot run ${profileDecls.length} profiles`);
  }

  // Parsers: a reference that names no plugin instantiates that type with default parameters, as
  // the reference does; the default list keeps only the types this build has.
  if (parserRefs.length === 0) parserRefs = DEFAULT_PARSER_TYPES.filter((t) => registry.has(t)).map((t) => ({ ref: t, path: 'requestHandler.parsers (default)' }));
  const parsers: RequestParser[] = [];
  for (const { ref, path } of parserRefs) {
    const plugin = resolveByNameOrType(ref, path, 'parser');
    if (plugin === undefined) continue;
    if (isRequestParser(plugin)) parsers.push(plugin);
    else problems.push(`${path}: plugin "${ref}" (type ${plugin.typedName.type}) is not a parser`);
  }

  // Saturation detector.
  let saturationDetector: (Plugin & SaturationDetector) | undefined;
  if (saturationRef === '' || saturationRef === UTILIZATION_DETECTOR_TYPE) inject(UTILIZATION_DETECTOR_TYPE, 'default saturation detector');
  {
    const ref = saturationRef === '' ? UTILIZATION_DETECTOR_TYPE : saturationRef;
    const plugin = plugins.get(ref);
    if (plugin === undefined) {
      if (!failed.has(ref) && registry.has(UTILIZATION_DETECTOR_TYPE)) problems.push(`${saturationPath}: saturation detector references undefined plugin: ${unresolved(ref)}`);
    } else if (isSaturationDetector(plugin)) saturationDetector = plugin;
    else problems.push(`${saturationPath}: plugin "${ref}" (type ${plugin.typedName.type}) is not a saturation detector`);
  }

  // Flow control: the settings are decoded and checked, but the layer itself is issue 16.
  const flowControl = config.flowControl;
  const fcSettings =
    flowControl !== undefined &&
    (flowControl.maxBytes !== undefined || flowControl.maxRequests !== undefined || flowControl.defaultRequestTTL !== undefined || flowControl.noEndpointRequestTTL !== undefined ||
      flowControl.defaultPriorityBand !== undefined || flowControl.defaultNegativePriorityBand !== undefined || flowControl.priorityBands.length > 0 || flowControl.usageLimitPolicyPluginRef !== '' || flowControl.enableEviction);
  if (featureGates.get(FLOW_CONTROL_GATE) === true) {
    warnings.push(`featureGates: ${FLOW_CONTROL_GATE} is on, but flow control (queueing, fairness, usage limits) is not implemented yet (issue 16); legacy admission applies: sheddable requests get 429 while the pool is saturated`);
    if (flowControl !== undefined) {
      const refs: [string, string][] = [['flowControl.usageLimitPolicyPluginRef', flowControl.usageLimitPolicyPluginRef]];
      const bands: [string, typeof flowControl.defaultPriorityBand][] = [['flowControl.defaultPriorityBand', flowControl.defaultPriorityBand], ['flowControl.defaultNegativePriorityBand', flowControl.defaultNegativePriorityBand], ...flowControl.priorityBands.map((b, i): [string, typeof b] => [`flowControl.priorityBands[${i}]`, b])];
      for (const [at, band] of bands) if (band !== undefined) refs.push([`${at}.fairnessPolicyRef`, band.fairnessPolicyRef], [`${at}.orderingPolicyRef`, band.orderingPolicyRef]);
      for (const [at, ref] of refs) if (ref !== '' && !plugins.has(ref) && !failed.has(ref)) problems.push(`${at}: ${unresolved(ref)}`);
    }
  } else if (fcSettings) {
    warnings.push(`flowControl: set, but the ${FLOW_CONTROL_GATE} feature gate is off; its settings other than saturationDetector are ignored`);
  }

  // Data layer.
  const dataLayer = config.dataLayer;
  const dataSources: DataSourceBinding[] = [];
  const attributeSources: AttributeSourceBinding[] = [];
  const isMetricsSource = (ref: string): boolean => plugins.get(ref) instanceof MetricsDataSource || ref === METRICS_DATA_SOURCE_TYPE;
  const sourceDecls = (dataLayer?.sources ?? []).map((s, i) => ({ ...s, path: `dataLayer.sources[${i}]` }));
  if (dataLayer?.injectDefaults !== false && !sourceDecls.some((s) => isMetricsSource(s.pluginRef))) {
    inject(METRICS_DATA_SOURCE_TYPE, 'default data source');
    inject(CORE_METRICS_EXTRACTOR_TYPE, 'default metrics extractor');
    if (plugins.has(METRICS_DATA_SOURCE_TYPE)) sourceDecls.push({ pluginRef: METRICS_DATA_SOURCE_TYPE, extractors: plugins.has(CORE_METRICS_EXTRACTOR_TYPE) ? [{ pluginRef: CORE_METRICS_EXTRACTOR_TYPE }] : [], path: 'dataLayer.sources (default)' });
  }
  for (const s of sourceDecls) {
    const plugin = plugins.get(s.pluginRef);
    if (plugin === undefined) {
      if (!failed.has(s.pluginRef)) problems.push(`${s.path}.pluginRef: ${unresolved(s.pluginRef)}`);
      continue;
    }
    if (isAttributeSource(plugin)) {
      const extractors: AttributeExtractor[] = [];
      s.extractors.forEach((e, j) => {
        const at = `${s.path}.extractors[${j}].pluginRef`;
        const extractor = plugins.get(e.pluginRef);
        if (extractor === undefined) {
          if (!failed.has(e.pluginRef)) problems.push(`${at}: ${unresolved(e.pluginRef)}`);
        } else if (plugin.accepts(extractor)) extractors.push(extractor);
        else problems.push(`${at}: plugin "${e.pluginRef}" (type ${extractor.typedName.type}) cannot read the pages of data source "${s.pluginRef}" (type ${plugin.typedName.type})`);
      });
      if (s.extractors.length === 0) warnings.push(`${s.path}: data source "${s.pluginRef}" has no extractors, so nothing is scraped from it`);
      if (extractors.length > 0) attributeSources.push({ source: plugin, extractors });
      continue;
    }
    if (!(plugin instanceof MetricsDataSource)) {
      problems.push(`${s.path}.pluginRef: plugin "${s.pluginRef}" (type ${plugin.typedName.type}) is not a data source`);
      continue;
    }
    const extractors: CoreMetricsExtractor[] = [];
    s.extractors.forEach((e, j) => {
      const at = `${s.path}.extractors[${j}].pluginRef`;
      const extractor = plugins.get(e.pluginRef);
      if (extractor === undefined) {
        if (!failed.has(e.pluginRef)) problems.push(`${at}: ${unresolved(e.pluginRef)}`);
      } else if (extractor instanceof CoreMetricsExtractor) extractors.push(extractor);
      else problems.push(`${at}: plugin "${e.pluginRef}" (type ${extractor.typedName.type}) is not a metrics extractor for ${METRICS_DATA_SOURCE_TYPE}`);
    });
    if (s.extractors.length === 0) warnings.push(`${s.path}: data source "${s.pluginRef}" has no extractors, so no endpoint metrics come from it`);
    if (extractors.length > 1) warnings.push(`${s.path}.extractors: ${extractors.length} metrics extractors listed; the first, "${extractors[0]?.typedName.name ?? ''}", reads the metrics`);
    dataSources.push({ source: plugin, extractors });
  }
  if (dataSources.length > 1) warnings.push(`dataLayer.sources: ${dataSources.length} metrics sources configured; each endpoint is scraped once, with the first source (that has an extractor) and its first extractor`);
  let discovery: FileDiscovery | undefined;
  if (dataLayer?.discovery !== undefined) {
    const ref = dataLayer.discovery.pluginRef;
    const plugin = plugins.get(ref);
    if (plugin === undefined) {
      if (!failed.has(ref)) problems.push(`dataLayer.discovery.pluginRef: ${unresolved(ref)}`);
    } else if (plugin instanceof FileDiscovery) discovery = plugin;
    else problems.push(`dataLayer.discovery.pluginRef: plugin "${ref}" (type ${plugin.typedName.type}) does not implement endpoint discovery`);
  }
  for (const p of [...plugins.values()]) {
    if (p instanceof FileDiscovery && p !== discovery) warnings.push(`${origin.get(p.typedName.name) ?? 'plugins'}: file-discovery plugin "${p.typedName.name}" is not named by dataLayer.discovery.pluginRef and does nothing`);
  }
  if (dataLayer?.peerDiscovery !== undefined) warnings.push('dataLayer.peerDiscovery: accepted but not acted on (active-active HA is scaffolding in the reference too; this picker runs active-passive)');
  if (dataLayer !== undefined && dataLayer.crossReplicaSyncerPluginRef !== '') warnings.push('dataLayer.crossReplicaSyncerPluginRef: accepted but not acted on (the reference registers no cross-replica syncer either)');
  if (dataLayer?.crossReplicaSyncInterval !== undefined) warnings.push('dataLayer.crossReplicaSyncInterval: accepted but not acted on (no cross-replica sync)');

  // 4. Stability.
  if (options.allowExperimentalPlugins === false) {
    for (const [name, p] of [...plugins.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (registry.registration(p.typedName.type)?.stability === 'Alpha') {
        problems.push(`${origin.get(name) ?? 'plugins'}: plugin "${name}" (type ${p.typedName.type}) has Alpha stability level, but command line flag --allow-experimental-plugins is not set`);
      }
    }
  }

  if (problems.length > 0 || handler === undefined) throw new ConfigError(source, problems.length > 0 ? problems : ['plugins: no profile handler']);
  // Lifecycle plugins act on every request, wherever they are listed (as in the reference).
  const all = [...plugins.values()];
  const hooks = {
    producers: all.filter(isDataProducer),
    preRequest: all.filter(isPreRequestHook),
    responseHeaders: all.filter(isResponseHeadersHook),
    firstResponseByte: all.filter(isFirstResponseByteHook),
    requestEnd: all.filter(isRequestEndHook),
    admitters: all.filter(isAdmitter),
  };
  return {
    scheduler: new Scheduler(handler, profiles, metrics, hooks),
    plugins,
    parsers,
    saturationDetector,
    dataSources,
    attributeSources,
    discovery,
    featureGates,
    flowControl,
    warnings,
  };

  /** A section's pluginRef: a declared plugin, else (as the reference) a type instantiated with defaults. */
  function resolveByNameOrType(ref: string, path: string, what: string): Plugin | undefined {
    const plugin = plugins.get(ref);
    if (plugin !== undefined) return plugin;
    if (failed.has(ref)) return undefined;
    const gap = UNIMPLEMENTED_PLUGIN_TYPES.get(ref);
    if (gap !== undefined) {
      problems.push(`${path}: ${notImplementedMessage(ref, gap)}`);
      return undefined;
    }
    if (registry.has(ref)) return inject(ref, path);
    problems.push(`${path}: ${what} references undefined plugin: ${unresolved(ref)}`);
    return undefined;
  }
}

/** A producer instance a plugin reads by name (`prefixMatchInfoProducerName`, `inFlightLoadProducerName`). */
interface ProducerReference {
  readonly parameter: string;
  readonly name: string;
  readonly type: string;
}

function producerReferences(plugin: Plugin): ProducerReference[] {
  const refs: ProducerReference[] = [];
  const p = plugin as { readonly prefixMatchProducer?: unknown; readonly inFlightLoadProducer?: unknown; readonly config?: { readonly prefixMatchProducer?: unknown } };
  const prefix = p.prefixMatchProducer ?? p.config?.prefixMatchProducer;
  if (typeof prefix === 'string' && prefix !== '') refs.push({ parameter: 'prefixMatchInfoProducerName', name: prefix, type: APPROX_PREFIX_CACHE_PRODUCER_TYPE });
  if (typeof p.inFlightLoadProducer === 'string' && p.inFlightLoadProducer !== '') refs.push({ parameter: 'inFlightLoadProducerName', name: p.inFlightLoadProducer, type: INFLIGHT_LOAD_PRODUCER_TYPE });
  if (plugin instanceof MmEmbeddingsCacheScorer && plugin.producerName !== undefined) refs.push({ parameter: 'producerName', name: plugin.producerName, type: MM_EMBEDDINGS_CACHE_PRODUCER_TYPE });
  return refs;
}
