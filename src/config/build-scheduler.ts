/**
 * Turns a decoded EndpointPickerConfig into a Scheduler: instantiates every plugin through the
 * registry, assigns each profile's plugins to their slots by interface (filter, scorer, picker),
 * injects the reference's defaults (a max-score-picker in profiles without a picker, a
 * single-profile-handler when there is one profile and no handler, the data producer a configured
 * scorer consumes; no profiles → one `default` profile holding every filter, scorer and picker), and
 * reports every problem at once.
 */
import type { SchedulerMetrics } from '../observability/metrics.js';
import { MaxScorePicker } from '../scheduling/plugins/max-score-picker.js';
import { SingleProfileHandler, SINGLE_PROFILE_HANDLER_TYPE } from '../scheduling/plugins/single-profile-handler.js';
import type { PluginContext, PluginRegistry } from '../plugin/registry.js';
import { Scheduler } from '../scheduling/scheduler.js';
import { isDataProducer, isFilter, isFirstResponseByteHook, isPicker, isPreRequestHook, isProfileHandler, isRequestEndHook, isResponseHeadersHook, isScorer, type Filter, type Picker, type ProfileHandler, type ProfileSpec, type Scorer } from '../scheduling/types.js';
import type { Plugin } from '../plugin/plugin.js';
import { ConfigError } from './decode.js';
import type { EndpointPickerConfig } from './endpoint-picker-config.js';

/** Consumer plugin type → the data-producer type it needs, auto-injected when missing. */
const PRODUCERS_FOR: readonly (readonly [string, string])[] = [
  ['active-request-scorer', 'inflight-load-producer'],
  ['token-load-scorer', 'inflight-load-producer'],
  ['prefix-cache-scorer', 'approx-prefix-cache-producer'],
  ['no-hit-lru-scorer', 'approx-prefix-cache-producer'],
  ['prefill-cost-scorer', 'approx-prefix-cache-producer'],
];

/** A configuration turned into running parts: the scheduler and every plugin instance by name. */
export interface BuiltConfig {
  readonly scheduler: Scheduler;
  readonly plugins: ReadonlyMap<string, Plugin>;
}

export function buildScheduler(
  config: EndpointPickerConfig,
  registry: PluginRegistry,
  context: PluginContext,
  metrics: SchedulerMetrics | undefined,
  source = 'EndpointPickerConfig',
): BuiltConfig {
  const problems: string[] = [];
  const plugins = new Map<string, Plugin>();
  config.plugins.forEach((p, i) => {
    const name = p.name ?? p.type;
    if (plugins.has(name)) {
      problems.push(`plugins[${i}].name: duplicate plugin name "${name}"`);
      return;
    }
    if (!registry.has(p.type)) {
      problems.push(`plugins[${i}].type: unknown plugin type "${p.type}" (known: ${registry.types().join(', ')})`);
      return;
    }
    try {
      plugins.set(name, registry.create(p.type, name, p.parameters, context));
    } catch (err) {
      const detail = err instanceof ConfigError ? err.problems.join('; ') : err instanceof Error ? err.message : String(err);
      problems.push(`plugins[${i}].parameters: ${detail}`);
    }
  });

  // The reference injects the data producer a configured consumer needs, with default parameters.
  for (const [consumer, producer] of PRODUCERS_FOR) {
    const present = [...plugins.values()].map((p) => p.typedName.type);
    if (present.includes(consumer) && !present.includes(producer) && registry.has(producer) && !plugins.has(producer)) {
      plugins.set(producer, registry.create(producer, producer, undefined, context));
    }
  }

  const handlers = [...plugins.values()].filter(isProfileHandler);
  if (handlers.length > 1) problems.push(`plugins: exactly one profile handler allowed, found ${handlers.map((h) => h.typedName.name).join(', ')}`);

  const profileDecls =
    config.schedulingProfiles.length > 0
      ? config.schedulingProfiles
      : [{ name: 'default', plugins: [...plugins.entries()].filter(([, p]) => isFilter(p) || isScorer(p) || isPicker(p)).map(([name]) => ({ pluginRef: name, weight: undefined })) }];

  const profiles: ProfileSpec[] = [];
  const profileNames = new Set<string>();
  profileDecls.forEach((decl, i) => {
    if (profileNames.has(decl.name)) problems.push(`schedulingProfiles[${i}].name: duplicate profile "${decl.name}"`);
    profileNames.add(decl.name);
    const filters: Filter[] = [];
    const scorers: { scorer: Scorer; weight: number }[] = [];
    let picker: Picker | undefined;
    decl.plugins.forEach((ref, j) => {
      const at = `schedulingProfiles[${i}].plugins[${j}]`;
      const plugin = plugins.get(ref.pluginRef);
      if (plugin === undefined) {
        problems.push(`${at}.pluginRef: no plugin named "${ref.pluginRef}"`);
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
      if (!placed) problems.push(`${at}: plugin "${ref.pluginRef}" (type ${plugin.typedName.type}) is not a filter, scorer or picker and cannot be placed in a profile`);
    });
    profiles.push({ name: decl.name, filters, scorers, picker: picker ?? new MaxScorePicker('max-score-picker', 1) });
  });

  let handler: ProfileHandler | undefined = handlers[0];
  if (handler === undefined) {
    if (profiles.length === 1) handler = new SingleProfileHandler(SINGLE_PROFILE_HANDLER_TYPE);
    else problems.push(`plugins: ${profiles.length} scheduling profiles need a profile handler plugin`);
  } else if (handler.typedName.type === SINGLE_PROFILE_HANDLER_TYPE && profiles.length > 1) {
    problems.push(`schedulingProfiles: single-profile-handler cannot run ${profiles.length} profiles`);
  }
  if (problems.length > 0 || handler === undefined) throw new ConfigError(source, problems);
  // Lifecycle plugins act on every request, wherever they are listed (as in the reference).
  const all = [...plugins.values()];
  const hooks = {
    producers: all.filter(isDataProducer),
    preRequest: all.filter(isPreRequestHook),
    responseHeaders: all.filter(isResponseHeadersHook),
    firstResponseByte: all.filter(isFirstResponseByteHook),
    requestEnd: all.filter(isRequestEndHook),
  };
  return { scheduler: new Scheduler(handler, profiles, metrics, hooks), plugins };
}
