/** The one list of built-in plugin types (llm-d's type names are the config contract). */
import { PluginRegistry } from '../registry.js';
import { OPENAI_PARSER_TYPE, openAIParserFactory, PASSTHROUGH_PARSER_TYPE, passthroughParserFactory } from '../../request/request-parser.js';
import { CORE_METRICS_EXTRACTOR_TYPE, coreMetricsExtractorFactory, METRICS_DATA_SOURCE_TYPE, metricsDataSourceFactory } from '../../scrape/data-layer-plugins.js';
import { KV_CACHE_UTILIZATION_SCORER_TYPE, kvCacheUtilizationScorerFactory } from './kv-cache-utilization-scorer.js';
import { MAX_SCORE_PICKER_TYPE, maxScorePickerFactory } from './max-score-picker.js';
import { QUEUE_SCORER_TYPE, queueScorerFactory } from './queue-scorer.js';
import { RANDOM_PICKER_TYPE, randomPickerFactory } from './random-picker.js';
import { SINGLE_PROFILE_HANDLER_TYPE, singleProfileHandlerFactory } from './single-profile-handler.js';

/** Registers every built-in plugin type into `registry` (a fresh one by default). */
export function registerBuiltins(registry = new PluginRegistry()): PluginRegistry {
  registry.register(QUEUE_SCORER_TYPE, queueScorerFactory);
  registry.register(KV_CACHE_UTILIZATION_SCORER_TYPE, kvCacheUtilizationScorerFactory);
  registry.register(MAX_SCORE_PICKER_TYPE, maxScorePickerFactory);
  registry.register(RANDOM_PICKER_TYPE, randomPickerFactory);
  registry.register(SINGLE_PROFILE_HANDLER_TYPE, singleProfileHandlerFactory);
  registry.register(OPENAI_PARSER_TYPE, openAIParserFactory);
  registry.register(PASSTHROUGH_PARSER_TYPE, passthroughParserFactory);
  registry.register(METRICS_DATA_SOURCE_TYPE, metricsDataSourceFactory);
  registry.register(CORE_METRICS_EXTRACTOR_TYPE, coreMetricsExtractorFactory);
  return registry;
}
