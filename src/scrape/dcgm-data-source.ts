/**
 * `dcgm-data-source`: scrapes NVIDIA DCGM Exporter's Prometheus page for each endpoint and hands it
 * to the `dcgm-extractor`s configured for it (llm-d-router v0.10 parameters and defaults):
 *
 * ```yaml
 * - type: dcgm-data-source
 *   parameters:
 *     scheme: http               # http (default) | https
 *     path: /metrics             # default
 *     port: 9400                 # default: the exporter's port on the endpoint's pod (sidecar)
 *     insecureSkipVerify: true   # default
 *     interval: 1s               # default: every --refresh-metrics-interval tick
 *     useNodeAddress: false      # true (DaemonSet exporter on the node) is rejected: endpoints carry no node address here
 *     # beyond the reference: timeout (1s), maxResponseBytes (4 MiB)
 * ```
 */
import { z } from 'zod';
import type { PluginFactory } from '../plugin/registry.js';
import type { Plugin, TypedName } from '../plugin/plugin.js';
import { decodeParameters, durationSchema } from '../plugin/parameters.js';
import type { AttributeExtractor, AttributeScrapeTarget, AttributeSource } from './attribute-source.js';
import { sourceIntervalMs } from './data-layer-plugins.js';
import { DcgmExtractor } from './dcgm-extractor.js';
import { KeepAliveMetricsFetcher } from './metrics-http-client.js';
import type { MetricsFetcher } from './scrape-error.js';

export const DCGM_DATA_SOURCE_TYPE = 'dcgm-data-source';

const MIB = 1024 * 1024;

const schema = z
  .strictObject({
    scheme: z.enum(['http', 'https']).default('http'),
    path: z.string().startsWith('/').default('/metrics'),
    port: z.number().int().min(1).max(65535).default(9400),
    insecureSkipVerify: z.boolean().default(true),
    useNodeAddress: z.boolean().default(false),
    interval: durationSchema.optional(),
    timeout: durationSchema.default(1000),
    maxResponseBytes: z.number().int().min(1024).max(64 * MIB).default(4 * MIB),
  })
  .superRefine((p, ctx) => {
    if (p.useNodeAddress) ctx.addIssue({ code: 'custom', path: ['useNodeAddress'], message: 'scraping the node address (a DaemonSet exporter) is not supported: endpoints carry no node address here; run the exporter as a sidecar (useNodeAddress: false)' });
    if (p.interval !== undefined && p.interval < 0) ctx.addIssue({ code: 'custom', path: ['interval'], message: 'must be non-negative' });
    if (p.timeout <= 0) ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'must be positive' });
  });

export class DcgmDataSource implements AttributeSource {
  readonly typedName: TypedName;
  readonly target: AttributeScrapeTarget;

  constructor(
    name: string,
    readonly parameters: z.output<typeof schema>,
  ) {
    this.typedName = { type: DCGM_DATA_SOURCE_TYPE, name };
    this.target = { scheme: parameters.scheme, path: parameters.path, port: parameters.port, timeoutMs: parameters.timeout, maxResponseBytes: parameters.maxResponseBytes };
  }

  intervalMs(baseMs: number): number {
    return sourceIntervalMs(this.parameters.interval, baseMs);
  }

  createFetcher(): MetricsFetcher {
    return new KeepAliveMetricsFetcher({ insecureSkipVerify: this.parameters.insecureSkipVerify });
  }

  accepts(extractor: Plugin): extractor is AttributeExtractor {
    return extractor instanceof DcgmExtractor;
  }
}

export const dcgmDataSourceFactory: PluginFactory = (name, parameters) => new DcgmDataSource(name, decodeParameters(schema, parameters, DCGM_DATA_SOURCE_TYPE, name));
