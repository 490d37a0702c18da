/**
 * Loading and building in one pass of error reporting: when the document fails its schema, the plugin
 * declarations that do decode are still instantiated, so an unknown plugin type or parameter is
 * reported together with a misspelt field elsewhere — one restart fixes every mistake of a config.
 */
import type { SchedulerMetrics } from '../observability/metrics.js';
import type { PluginContext, PluginRegistry } from '../plugin/registry.js';
import { buildScheduler, type BuildOptions, type BuiltConfig } from './build-scheduler.js';
import { ConfigError, decode } from './decode.js';
import { readConfigDocument, type ConfigSource } from './load-config.js';
import { API_VERSIONS, endpointPickerConfigSchema, type EndpointPickerConfig } from './endpoint-picker-config.js';

const PLUGIN_PROBLEM = /^plugins\[\d+\]/;

export function loadAndBuildScheduler(source: ConfigSource, registry: PluginRegistry, context: PluginContext, metrics: SchedulerMetrics | undefined, options: BuildOptions = {}): BuiltConfig {
  const document = readConfigDocument(source);
  let config: EndpointPickerConfig;
  try {
    config = decode(endpointPickerConfigSchema, document.raw, document.name);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const more = pluginProblems(document.raw, registry, context, options).filter((p) => !err.problems.includes(p));
    throw more.length === 0 ? err : new ConfigError(err.source, [...err.problems, ...more]);
  }
  return buildScheduler(config, registry, context, metrics, 'EndpointPickerConfig', options);
}

/** The problems of the `plugins` list alone (types, parameters, references between plugins), or none when it does not decode either. */
function pluginProblems(raw: unknown, registry: PluginRegistry, context: PluginContext, options: BuildOptions): string[] {
  const plugins = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>).plugins : undefined;
  if (!Array.isArray(plugins)) return [];
  let config: EndpointPickerConfig;
  try {
    config = decode(endpointPickerConfigSchema, { apiVersion: API_VERSIONS[0], kind: 'EndpointPickerConfig', plugins }, 'plugins');
  } catch {
    return [];
  }
  try {
    buildScheduler(config, registry, context, undefined, 'EndpointPickerConfig', options);
    return [];
  } catch (err) {
    return err instanceof ConfigError ? err.problems.filter((p) => PLUGIN_PROBLEM.test(p)) : [];
  }
}
