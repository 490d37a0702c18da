/**
 * What picker-work.ts and session-work.ts share: their flags, and the picker's routing core built
 * in-process (the built-in default config or `--config FILE`, 8 endpoints, the prefix producer's
 * metrics attached as `epp serve` attaches them).
 */
import { parseArgs } from 'node:util';
import { registerBuiltins } from '../../src/builtins.js';
import { buildScheduler } from '../../src/config/build-scheduler.js';
import { loadConfig } from '../../src/config/load-config.js';
import { Datastore } from '../../src/datastore/datastore.js';
import { Director } from '../../src/director/director.js';
import { EppMetrics } from '../../src/observability/metrics.js';
import { PrefixCacheMetrics } from '../../src/prefix/prefix-metrics.js';
import { ApproxPrefixCacheProducer } from '../../src/scheduling/plugins/producers/approx-prefix-cache-producer.js';

export interface WorkOptions {
  readonly promptBytes: number;
  readonly requests: number;
  readonly rounds: number;
  /** A config file, or '' for the built-in default. */
  readonly config: string;
}

/** `--prompt-bytes 4096 --requests 20000 --rounds 6 --config FILE`. */
export function workOptions(): WorkOptions {
  const { values } = parseArgs({
    options: {
      'prompt-bytes': { type: 'string', default: '4096' },
      requests: { type: 'string', default: '20000' },
      rounds: { type: 'string', default: '6' },
      config: { type: 'string', default: '' },
    },
  });
  return { promptBytes: Number(values['prompt-bytes']), requests: Number(values.requests), rounds: Number(values.rounds), config: values.config };
}

/** The config's name as the reports print it. */
export function configName(options: WorkOptions): string {
  return options.config === '' ? 'default config' : options.config;
}

/** A Director over 8 endpoints with `options.config`; `directorMetrics` also hands it the metrics (as the session path does). */
export function inProcessDirector(options: WorkOptions, directorMetrics: boolean): { readonly director: Director; readonly metrics: EppMetrics } {
  const metrics = new EppMetrics({ defaultMetrics: false });
  const config = loadConfig(options.config === '' ? 'default' : { file: options.config });
  const { scheduler, plugins } = buildScheduler(config, registerBuiltins(), { random: Math.random, now: () => Date.now() }, metrics);
  const prefixMetrics = new PrefixCacheMetrics(metrics.registry);
  for (const p of plugins.values()) if (p instanceof ApproxPrefixCacheProducer) p.attachMetrics(prefixMetrics.forPlugin(p.typedName, p.index));
  const datastore = new Datastore();
  datastore.setEndpoints(Array.from({ length: 8 }, (_, i) => ({ name: `e${i}`, address: `127.0.0.${i + 1}`, port: 8000, labels: {} })));
  const director = new Director(datastore, scheduler, { disableSubsetFilter: false, random: Math.random, ...(directorMetrics ? { metrics } : {}) });
  return { director, metrics };
}
