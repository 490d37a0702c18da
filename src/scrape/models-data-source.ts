/**
 * `models-data-source`: fetches each endpoint's OpenAI `/v1/models` list on the serving port and hands
 * it to the `models-data-extractor`s configured for it (llm-d-router v0.10 parameters and defaults):
 *
 * ```yaml
 * - type: models-data-source
 *   parameters:
 *     scheme: http                 # http (default) | https
 *     path: /v1/models             # default
 *     insecureSkipVerify: true     # default
 *     caCertPath: /certs/ca.pem    # with insecureSkipVerify: false
 *     clientCertPath: /certs/tls.crt
 *     clientKeyPath: /certs/tls.key
 *     interval: 5s                 # default: every --refresh-metrics-interval tick
 *     # beyond the reference: timeout (1s), maxResponseBytes (1 MiB)
 * ```
 *
 * The certificate files are read and checked when the configuration is loaded, as for
 * `metrics-data-source`.
 */
import { z } from 'zod';
import type { PluginFactory } from '../plugin/registry.js';
import type { Plugin, TypedName } from '../plugin/plugin.js';
import { decodeParameters, durationSchema } from '../plugin/parameters.js';
import type { AttributeExtractor, AttributeScrapeTarget, AttributeSource } from './attribute-source.js';
import { loadScrapeTls, sourceIntervalMs } from './data-layer-plugins.js';
import { KeepAliveMetricsFetcher } from './metrics-http-client.js';
import { ModelsDataExtractor } from './models-data-extractor.js';
import type { MetricsFetcher } from './scrape-error.js';

export const MODELS_DATA_SOURCE_TYPE = 'models-data-source';

const MIB = 1024 * 1024;

const schema = z
  .strictObject({
    scheme: z.enum(['http', 'https']).default('http'),
    path: z.string().startsWith('/').default('/v1/models'),
    insecureSkipVerify: z.boolean().default(true),
    caCertPath: z.string().default(''),
    clientCertPath: z.string().default(''),
    clientKeyPath: z.string().default(''),
    interval: durationSchema.optional(),
    timeout: durationSchema.default(1000),
    maxResponseBytes: z.number().int().min(1024).max(64 * MIB).default(MIB),
  })
  .transform((p, ctx) => {
    if (p.interval !== undefined && p.interval < 0) ctx.addIssue({ code: 'custom', path: ['interval'], message: 'must be non-negative' });
    if (p.timeout <= 0) ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'must be positive' });
    return { ...p, tls: loadScrapeTls(p, ctx) };
  });

export class ModelsDataSource implements AttributeSource {
  readonly typedName: TypedName;
  readonly target: AttributeScrapeTarget;

  constructor(
    name: string,
    readonly parameters: z.output<typeof schema>,
  ) {
    this.typedName = { type: MODELS_DATA_SOURCE_TYPE, name };
    this.target = { scheme: parameters.scheme, path: parameters.path, port: undefined, timeoutMs: parameters.timeout, maxResponseBytes: parameters.maxResponseBytes };
  }

  intervalMs(baseMs: number): number {
    return sourceIntervalMs(this.parameters.interval, baseMs);
  }

  createFetcher(): MetricsFetcher {
    const { tls } = this.parameters;
    return new KeepAliveMetricsFetcher({ insecureSkipVerify: !tls.verify, ca: tls.ca, cert: tls.cert, key: tls.key });
  }

  accepts(extractor: Plugin): extractor is AttributeExtractor {
    return extractor instanceof ModelsDataExtractor;
  }
}

export const modelsDataSourceFactory: PluginFactory = (name, parameters) => new ModelsDataSource(name, decodeParameters(schema, parameters, MODELS_DATA_SOURCE_TYPE, name));
