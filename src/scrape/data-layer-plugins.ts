/**
 * The data-layer plugins of EndpointPickerConfig. They hold configuration only (the collector runs
 * them): `metrics-data-source` says where to scrape, `core-metrics-extractor` how to read the
 * metrics of each engine type. Both are injected with defaults when the config does not list them.
 *
 * ```yaml
 * - type: metrics-data-source
 *   parameters:
 *     scheme: https                  # http (default) | https
 *     path: /metrics                 # default
 *     port: 9090                     # scrape this port instead of each endpoint's serving port (1–65535)
 *     interval: 1s                   # scrape period; default every --refresh-metrics-interval tick
 *     insecureSkipVerify: false      # default true: the server certificate is not checked
 *     caCertPath: /certs/ca.pem      # PEM CA bundle the server certificate must chain to (when verifying)
 *     clientCertPath: /certs/tls.crt # client certificate presented for mTLS (with clientKeyPath)
 *     clientKeyPath: /certs/tls.key
 *     # beyond the reference: nameFilter (true), timeout (1s), maxResponseBytes (16 MiB)
 * - type: core-metrics-extractor
 *   parameters: {engineLabelKey: llm-d.ai/engine-type, defaultEngine: vllm, engineConfigs: [{name: …, queuedRequestsSpec: …, customMetrics: [{attributeKey: …, metricSpec: …}]}]}
 * ```
 *
 * `interval` follows llm-d-router v0.10: shorter than `--refresh-metrics-interval`, it is used as is
 * (not below 50 ms); longer, it is rounded to the nearest multiple of it. The certificate files are
 * read when the configuration is loaded (an unreadable or malformed file is a configuration error),
 * as the reference does; like it, the CA bundle is used only when `insecureSkipVerify` is false and
 * the TLS files only with `scheme: https`. Server names are checked against the address scraped
 * (an IP address: the certificate needs it as an IP SAN).
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import type { Endpoint } from '../datastore/endpoint.js';
import type { PluginFactory } from '../plugin/registry.js';
import type { Plugin, TypedName } from '../plugin/plugin.js';
import { decodeParameters, durationSchema } from '../plugin/parameters.js';
import { BUILTIN_ENGINE_SPECS, compileEngineConfig, ENGINE_LABEL_KEYS, type EngineConfig } from './engine-config.js';
import { KeepAliveMetricsFetcher } from './metrics-http-client.js';

export const METRICS_DATA_SOURCE_TYPE = 'metrics-data-source';
export const CORE_METRICS_EXTRACTOR_TYPE = 'core-metrics-extractor';


/** The smallest scrape period a source interval can ask for (llm-d's floor of the base tick). */
export const MIN_SCRAPE_INTERVAL_MS = 50;

/** A file the configuration names, read now: its bytes, or an issue at `path`. */
function readConfigFile(file: string, ctx: z.RefinementCtx, path: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: [path], message: `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}` });
    return undefined;
  }
}

/** The TLS material a https scrape uses; undefined fields are not set. */
export interface ScrapeTls {
  /** Verify the server certificate (false = `insecureSkipVerify`). */
  readonly verify: boolean;
  /** CA bundle the server certificate must chain to (undefined = the system's). */
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

const dataSourceSchema = z
  .strictObject({
    scheme: z.enum(['http', 'https']).default('http'),
    path: z.string().startsWith('/').default('/metrics'),
    port: z.number().int().min(1).max(65535).optional(),
    interval: durationSchema.optional(),
    insecureSkipVerify: z.boolean().default(true),
    caCertPath: z.string().default(''),
    clientCertPath: z.string().default(''),
    clientKeyPath: z.string().default(''),
    nameFilter: z.boolean().default(true),
    timeout: durationSchema.default(1000),
    maxResponseBytes: z.number().int().min(1024).default(16 * 1024 * 1024),
  })
  .transform((p, ctx) => {
    if (p.interval !== undefined && p.interval < 0) ctx.addIssue({ code: 'custom', path: ['interval'], message: 'must be non-negative' });
    return { ...p, tls: loadScrapeTls(p, ctx) };
  });

/** The TLS parameters a scraping data source shares with `metrics-data-source`. */
export interface ScrapeTlsParameters {
  readonly scheme: 'http' | 'https';
  readonly insecureSkipVerify: boolean;
  readonly caCertPath: string;
  readonly clientCertPath: string;
  readonly clientKeyPath: string;
}

/** Reads and checks the certificate files the parameters name, reporting problems to `ctx`. */
export function loadScrapeTls(p: ScrapeTlsParameters, ctx: z.RefinementCtx): ScrapeTls {
  let ca: Buffer | undefined;
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  if (p.scheme === 'https') {
    if (!p.insecureSkipVerify && p.caCertPath !== '') {
      ca = readConfigFile(p.caCertPath, ctx, 'caCertPath');
      if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) ctx.addIssue({ code: 'custom', path: ['caCertPath'], message: `no PEM certificate in ${p.caCertPath}` });
    }
    if (p.clientCertPath !== '' || p.clientKeyPath !== '') {
      if (p.clientCertPath === '' || p.clientKeyPath === '') {
        ctx.addIssue({ code: 'custom', path: [p.clientCertPath === '' ? 'clientCertPath' : 'clientKeyPath'], message: 'clientCertPath and clientKeyPath must be set together' });
      } else {
        cert = readConfigFile(p.clientCertPath, ctx, 'clientCertPath');
        key = readConfigFile(p.clientKeyPath, ctx, 'clientKeyPath');
        if (cert !== undefined && key !== undefined) {
          try {
            createSecureContext({ cert, key });
          } catch (err) {
            ctx.addIssue({ code: 'custom', path: ['clientCertPath'], message: `cannot load the client certificate and key: ${err instanceof Error ? err.message : String(err)}` });
          }
        }
      }
    }
  }
  return { verify: !p.insecureSkipVerify, ca, cert, key };
}

export class MetricsDataSource implements Plugin {
  readonly typedName: TypedName;
  constructor(
    name: string,
    readonly parameters: z.output<typeof dataSourceSchema>,
  ) {
    this.typedName = { type: METRICS_DATA_SOURCE_TYPE, name };
  }

  /** The fetcher scraping as this source says (TLS verification, CA, client certificate). */
  createFetcher(): KeepAliveMetricsFetcher {
    const { tls } = this.parameters;
    return new KeepAliveMetricsFetcher({ insecureSkipVerify: !tls.verify, ca: tls.ca, cert: tls.cert, key: tls.key });
  }

  /** The scrape period for base tick `baseMs` (`--refresh-metrics-interval`), as llm-d's data layer derives it. */
  intervalMs(baseMs: number): number {
    return sourceIntervalMs(this.parameters.interval, baseMs);
  }
}

/** A data source's scrape period for its `interval` and base tick `baseMs`, as llm-d's data layer derives it. */
export function sourceIntervalMs(interval: number | undefined, baseMs: number): number {
  if (interval === undefined || interval <= 0) return baseMs;
  // The base tick drops to the shortest source interval (not below 50 ms); others round to its multiples.
  if (interval < baseMs) return Math.max(interval, MIN_SCRAPE_INTERVAL_MS);
  return Math.max(1, Math.round(interval / baseMs)) * baseMs;
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
  customMetrics: z.array(z.strictObject({ attributeKey: z.string().min(1), metricSpec: z.string().min(1) })).optional(),
});

const extractorSchema = z.strictObject({
  engineLabelKey: z.string().min(1).optional(),
  defaultEngine: z.string().min(1).default('vllm'),
  // "default" names the fallback mapping in the reference, so no engine may take it.
  engineConfigs: z.array(engineSpecSchema.refine((e) => e.name !== 'default', { message: 'engine config name "default" is reserved', path: ['name'] })).default([]),
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
