/** The one list of built-in plugin types (llm-d's type names are the config contract). */
import { OPENAI_PARSER_TYPE, openAIParserFactory, PASSTHROUGH_PARSER_TYPE, passthroughParserFactory } from './request/request-parser.js';
import { ANTHROPIC_PARSER_TYPE, anthropicParserFactory } from './request/anthropic-parser.js';
import { VLLMHTTP_PARSER_TYPE, vllmHttpParserFactory } from './request/vllmhttp-parser.js';
import { SGLANGHTTP_PARSER_TYPE, sglangHttpParserFactory } from './request/sglanghttp-parser.js';
import { VERTEXAI_PARSER_TYPE, vertexAIParserFactory } from './request/vertexai-parser.js';
import { DCGM_DATA_SOURCE_TYPE, dcgmDataSourceFactory } from './scrape/dcgm-data-source.js';
import { DCGM_EXTRACTOR_TYPE, dcgmExtractorFactory } from './scrape/dcgm-extractor.js';
import { MODELS_DATA_EXTRACTOR_TYPE, modelsDataExtractorFactory } from './scrape/models-data-extractor.js';
import { MODELS_DATA_SOURCE_TYPE, modelsDataSourceFactory } from './scrape/models-data-source.js';
import { CORE_METRICS_EXTRACTOR_TYPE, coreMetricsExtractorFactory, METRICS_DATA_SOURCE_TYPE, metricsDataSourceFactory } from './scrape/data-layer-plugins.js';
import { PluginRegistry } from './plugin/registry.js';
import { FILE_DISCOVERY_TYPE, fileDiscoveryFactory } from './discovery/file-discovery.js';
import { ACTIVE_REQUEST_SCORER_TYPE, activeRequestScorerFactory } from './scheduling/plugins/scorers/active-request-scorer.js';
import { ALWAYS_DISAGG_PD_DECIDER_TYPE, alwaysDisaggPdDeciderFactory } from './scheduling/plugins/profile-handlers/always-disagg-pd-decider.js';
import { APPROX_PREFIX_CACHE_PRODUCER_TYPE, approxPrefixCacheProducerFactory } from './scheduling/plugins/producers/approx-prefix-cache-producer.js';
import { BY_LABEL_TYPE, byLabelFactory } from './scheduling/plugins/filters/by-label-filter.js';
import { CONTEXT_LENGTH_AWARE_TYPE, contextLengthAwareFactory } from './scheduling/plugins/filters/context-length-aware.js';
import { DISAGG_HEADERS_HANDLER_TYPE, disaggHeadersHandlerFactory, PREFILL_HEADER_HANDLER_TYPE, prefillHeaderHandlerFactory } from './scheduling/plugins/profile-handlers/disagg-headers-handler.js';
import { DISAGG_PROFILE_HANDLER_TYPE, disaggProfileHandlerFactory, PD_PROFILE_HANDLER_TYPE } from './scheduling/plugins/profile-handlers/disagg-profile-handler.js';
import { DATA_PARALLEL_PROFILE_HANDLER_TYPE, dataParallelProfileHandlerFactory } from './scheduling/plugins/profile-handlers/data-parallel-profile-handler.js';
import { DATA_PARALLEL_RANK_HEADER_TYPE, dataParallelRankHeaderFactory } from './scheduling/plugins/profile-handlers/data-parallel-rank-header.js';
import { DP_GROUP_BALANCE_SCORER_TYPE, dpGroupBalanceScorerFactory } from './scheduling/plugins/scorers/dp-group-balance-scorer.js';
import { DP_GROUP_LEADER_FILTER_TYPE, dpGroupLeaderFilterFactory } from './scheduling/plugins/filters/dp-group-leader-filter.js';
import { HEADER_LABEL_AFFINITY_SCORER_TYPE, headerLabelAffinityScorerFactory } from './scheduling/plugins/scorers/header-label-affinity-scorer.js';
import { HEADER_PROFILE_HANDLER_TYPE, headerProfileHandlerFactory } from './scheduling/plugins/profile-handlers/header-profile-handler.js';
import { INFLIGHT_LOAD_PRODUCER_TYPE, inFlightLoadProducerFactory } from './scheduling/plugins/producers/inflight-load-producer.js';
import { MM_EMBEDDINGS_CACHE_PRODUCER_TYPE, mmEmbeddingsCacheProducerFactory } from './scheduling/plugins/producers/mm-embeddings-cache-producer.js';
import { MM_EMBEDDINGS_CACHE_SCORER_TYPE, mmEmbeddingsCacheScorerFactory } from './scheduling/plugins/scorers/mm-embeddings-cache-scorer.js';
import { KV_CACHE_UTILIZATION_SCORER_TYPE, kvCacheUtilizationScorerFactory } from './scheduling/plugins/scorers/kv-cache-utilization-scorer.js';
import { BY_LABEL_SELECTOR_TYPE, byLabelSelectorFactory, LABEL_SELECTOR_FILTER_TYPE, labelSelectorFilterFactory } from './scheduling/plugins/filters/label-selector-filter.js';
import { LOAD_AWARE_SCORER_TYPE, loadAwareScorerFactory } from './scheduling/plugins/scorers/load-aware-scorer.js';
import { LORA_AFFINITY_SCORER_TYPE, loraAffinityScorerFactory } from './scheduling/plugins/scorers/lora-affinity-scorer.js';
import { MAX_SCORE_PICKER_TYPE, maxScorePickerFactory } from './scheduling/plugins/pickers/max-score-picker.js';
import { NO_HIT_LRU_SCORER_TYPE, noHitLruScorerFactory } from './scheduling/plugins/scorers/no-hit-lru-scorer.js';
import { pdProfileHandlerFactory } from './scheduling/plugins/profile-handlers/pd-profile-handler.js';
import { PROBABILISTIC_ADMITTER_TYPE, probabilisticAdmitterFactory } from './scheduling/plugins/admission/probabilistic-admitter.js';
import { PREFILL_COST_SCORER_TYPE, prefillCostScorerFactory } from './scheduling/plugins/scorers/prefill-cost-scorer.js';
import { PREFIX_CACHE_AFFINITY_FILTER_TYPE, prefixCacheAffinityFilterFactory } from './scheduling/plugins/filters/prefix-cache-affinity-filter.js';
import { PREFIX_CACHE_SCORER_TYPE, prefixCacheScorerFactory } from './scheduling/plugins/scorers/prefix-cache-scorer.js';
import { PREFIX_BASED_PD_DECIDER_TYPE, prefixBasedPdDeciderFactory } from './scheduling/plugins/profile-handlers/prefix-based-pd-decider.js';
import { QUEUE_SCORER_TYPE, queueScorerFactory } from './scheduling/plugins/scorers/queue-scorer.js';
import { ENDPOINT_ATTRIBUTE_FILTER_TYPE, endpointAttributeFilterFactory } from './scheduling/plugins/filters/endpoint-attribute-filter.js';
import { ENDPOINT_ATTRIBUTE_SCORER_TYPE, endpointAttributeScorerFactory } from './scheduling/plugins/scorers/endpoint-attribute-scorer.js';
import { RANDOM_PICKER_TYPE, randomPickerFactory } from './scheduling/plugins/pickers/random-picker.js';
import { DECODE_FILTER_TYPE, decodeFilterFactory, ENCODE_FILTER_TYPE, encodeFilterFactory, PREFILL_FILTER_TYPE, prefillFilterFactory } from './scheduling/plugins/filters/role-filters.js';
import { RUNNING_REQUESTS_SIZE_SCORER_TYPE, runningRequestsSizeScorerFactory } from './scheduling/plugins/scorers/running-requests-size-scorer.js';
import { SESSION_AFFINITY_SCORER_TYPE, sessionAffinityScorerFactory } from './scheduling/plugins/scorers/session-affinity-scorer.js';
import { SINGLE_PROFILE_HANDLER_TYPE, singleProfileHandlerFactory } from './scheduling/plugins/profile-handlers/single-profile-handler.js';
import { TOKEN_LOAD_SCORER_TYPE, tokenLoadScorerFactory } from './scheduling/plugins/scorers/token-load-scorer.js';
import { UTILIZATION_FILTER_TYPE, utilizationFilterFactory } from './scheduling/plugins/filters/utilization-filter.js';
import { UTILIZATION_DETECTOR_TYPE, utilizationDetectorFactory } from './scheduling/plugins/admission/utilization-detector.js';
import { WEIGHTED_RANDOM_PICKER_TYPE, weightedRandomPickerFactory } from './scheduling/plugins/pickers/weighted-random-picker.js';

const ALPHA = { stability: 'Alpha' } as const;
const LATE = { stability: 'Beta', resolvesReferences: true } as const;

/**
 * Registers every built-in plugin type into `registry` (a fresh one by default), with the stability
 * level the reference gives it (v0.10 `registerInTreePlugins`; Beta unless marked). Types this
 * project adds (prefill-cost-scorer, the dp-group plugins, data-parallel-rank-header) are Beta.
 */
export function registerBuiltins(registry = new PluginRegistry()): PluginRegistry {
  // Scorers
  registry.register(QUEUE_SCORER_TYPE, queueScorerFactory);
  registry.register(RUNNING_REQUESTS_SIZE_SCORER_TYPE, runningRequestsSizeScorerFactory);
  registry.register(KV_CACHE_UTILIZATION_SCORER_TYPE, kvCacheUtilizationScorerFactory);
  registry.register(PREFIX_CACHE_SCORER_TYPE, prefixCacheScorerFactory);
  registry.register(LORA_AFFINITY_SCORER_TYPE, loraAffinityScorerFactory);
  registry.register(LOAD_AWARE_SCORER_TYPE, loadAwareScorerFactory);
  registry.register(ACTIVE_REQUEST_SCORER_TYPE, activeRequestScorerFactory);
  registry.register(TOKEN_LOAD_SCORER_TYPE, tokenLoadScorerFactory);
  registry.register(SESSION_AFFINITY_SCORER_TYPE, sessionAffinityScorerFactory, ALPHA);
  registry.register(NO_HIT_LRU_SCORER_TYPE, noHitLruScorerFactory);
  registry.register(ENDPOINT_ATTRIBUTE_SCORER_TYPE, endpointAttributeScorerFactory, ALPHA);
  registry.register(CONTEXT_LENGTH_AWARE_TYPE, contextLengthAwareFactory);
  registry.register(PREFILL_COST_SCORER_TYPE, prefillCostScorerFactory);
  registry.register(HEADER_LABEL_AFFINITY_SCORER_TYPE, headerLabelAffinityScorerFactory, ALPHA);
  registry.register(MM_EMBEDDINGS_CACHE_SCORER_TYPE, mmEmbeddingsCacheScorerFactory);
  // Filters and the saturation detector
  registry.register(LABEL_SELECTOR_FILTER_TYPE, labelSelectorFilterFactory);
  registry.register(ENDPOINT_ATTRIBUTE_FILTER_TYPE, endpointAttributeFilterFactory, ALPHA);
  registry.register(PREFIX_CACHE_AFFINITY_FILTER_TYPE, prefixCacheAffinityFilterFactory);
  registry.register(BY_LABEL_SELECTOR_TYPE, byLabelSelectorFactory, { stability: 'Beta', deprecatedFor: LABEL_SELECTOR_FILTER_TYPE });
  registry.register(BY_LABEL_TYPE, byLabelFactory, { stability: 'Beta', deprecatedFor: LABEL_SELECTOR_FILTER_TYPE });
  registry.register(DECODE_FILTER_TYPE, decodeFilterFactory);
  registry.register(PREFILL_FILTER_TYPE, prefillFilterFactory);
  registry.register(ENCODE_FILTER_TYPE, encodeFilterFactory);
  registry.register(UTILIZATION_FILTER_TYPE, utilizationFilterFactory, ALPHA);
  registry.register(UTILIZATION_DETECTOR_TYPE, utilizationDetectorFactory);
  registry.register(PROBABILISTIC_ADMITTER_TYPE, probabilisticAdmitterFactory);
  // Pickers and profile handlers
  registry.register(MAX_SCORE_PICKER_TYPE, maxScorePickerFactory);
  registry.register(RANDOM_PICKER_TYPE, randomPickerFactory);
  registry.register(WEIGHTED_RANDOM_PICKER_TYPE, weightedRandomPickerFactory);
  registry.register(SINGLE_PROFILE_HANDLER_TYPE, singleProfileHandlerFactory);
  registry.register(HEADER_PROFILE_HANDLER_TYPE, headerProfileHandlerFactory, ALPHA);
  registry.register(DATA_PARALLEL_PROFILE_HANDLER_TYPE, dataParallelProfileHandlerFactory, { stability: 'Beta', deprecatedFor: SINGLE_PROFILE_HANDLER_TYPE });
  // P/D disaggregation: profile handlers, their deciders, the deprecated header plugins
  registry.register(DISAGG_PROFILE_HANDLER_TYPE, disaggProfileHandlerFactory, LATE);
  registry.register(PD_PROFILE_HANDLER_TYPE, pdProfileHandlerFactory, { ...LATE, deprecatedFor: DISAGG_PROFILE_HANDLER_TYPE });
  registry.register(PREFIX_BASED_PD_DECIDER_TYPE, prefixBasedPdDeciderFactory);
  registry.register(ALWAYS_DISAGG_PD_DECIDER_TYPE, alwaysDisaggPdDeciderFactory);
  registry.register(DISAGG_HEADERS_HANDLER_TYPE, disaggHeadersHandlerFactory, { stability: 'Beta', deprecatedFor: DISAGG_PROFILE_HANDLER_TYPE });
  registry.register(PREFILL_HEADER_HANDLER_TYPE, prefillHeaderHandlerFactory, { stability: 'Beta', deprecatedFor: DISAGG_PROFILE_HANDLER_TYPE });
  // Data producers
  registry.register(INFLIGHT_LOAD_PRODUCER_TYPE, inFlightLoadProducerFactory);
  registry.register(APPROX_PREFIX_CACHE_PRODUCER_TYPE, approxPrefixCacheProducerFactory);
  registry.register(MM_EMBEDDINGS_CACHE_PRODUCER_TYPE, mmEmbeddingsCacheProducerFactory);
  // Parsers and the data layer
  registry.register(OPENAI_PARSER_TYPE, openAIParserFactory);
  registry.register(PASSTHROUGH_PARSER_TYPE, passthroughParserFactory);
  registry.register(ANTHROPIC_PARSER_TYPE, anthropicParserFactory);
  registry.register(VLLMHTTP_PARSER_TYPE, vllmHttpParserFactory);
  registry.register(SGLANGHTTP_PARSER_TYPE, sglangHttpParserFactory);
  registry.register(VERTEXAI_PARSER_TYPE, vertexAIParserFactory);
  registry.register(METRICS_DATA_SOURCE_TYPE, metricsDataSourceFactory);
  registry.register(CORE_METRICS_EXTRACTOR_TYPE, coreMetricsExtractorFactory);
  registry.register(DCGM_DATA_SOURCE_TYPE, dcgmDataSourceFactory, ALPHA);
  registry.register(DCGM_EXTRACTOR_TYPE, dcgmExtractorFactory, ALPHA);
  registry.register(MODELS_DATA_SOURCE_TYPE, modelsDataSourceFactory);
  registry.register(MODELS_DATA_EXTRACTOR_TYPE, modelsDataExtractorFactory);
  registry.register(FILE_DISCOVERY_TYPE, fileDiscoveryFactory);
  // Data-parallel groups and engine-rank pinning
  registry.register(DP_GROUP_LEADER_FILTER_TYPE, dpGroupLeaderFilterFactory);
  registry.register(DP_GROUP_BALANCE_SCORER_TYPE, dpGroupBalanceScorerFactory);
  registry.register(DATA_PARALLEL_RANK_HEADER_TYPE, dataParallelRankHeaderFactory);
  return registry;
}
