/** Loads an EndpointPickerConfig the way `epp serve --config-file` does: strict decode, then build. */
import { parse as parseYaml } from 'yaml';
import { registerBuiltins } from '../../src/builtins.js';
import { buildScheduler } from '../../src/config/build-scheduler.js';
import { loadConfig } from '../../src/config/load-config.js';
import { endpoint, schedulingRequest } from '../helpers/endpoints.js';

/** Plugin types a config names that the registry does not know. */
export function missingPluginTypes(text: string): string[] {
  const doc = parseYaml(text) as { plugins?: { type?: unknown }[] } | null;
  const known = new Set(registerBuiltins().types());
  const types = (doc?.plugins ?? []).map((p) => p.type).filter((t): t is string => typeof t === 'string');
  return [...new Set(types.filter((t) => !known.has(t)))];
}

/**
 * Decodes and builds the config (throws ConfigError listing every problem), then runs one scheduling
 * cycle over three endpoints. Returns the plugin instance names and the primary profile's pick.
 */
export function buildPickerConfig(text: string): { plugins: string[]; picked: string | undefined } {
  const built = buildScheduler(loadConfig({ text }), registerBuiltins(), { random: () => 0.5 }, undefined);
  const pool = [endpoint(0), endpoint(1), endpoint(2)];
  const result = built.scheduler.schedule(schedulingRequest(), pool);
  const primary = result.profileResults.get(result.primaryProfileName);
  return { plugins: [...built.plugins.keys()], picked: primary?.targets[0]?.name };
}
