/**
 * Data sources beyond the engine metrics page (`dcgm-data-source`, …): each is scraped per endpoint
 * on its own period by the attribute collector, and the extractors configured for it turn the page
 * into scalar attributes published on `Endpoint.attributes`.
 */
import type { Endpoint } from '../datastore/endpoint.js';
import type { Plugin } from '../plugin/plugin.js';
import type { MetricsFetcher } from './scrape-error.js';

/** Where and how an attribute source scrapes each endpoint. */
export interface AttributeScrapeTarget {
  readonly scheme: 'http' | 'https';
  readonly path: string;
  /** Port scraped on the endpoint's address (undefined = the endpoint's serving port). */
  readonly port: number | undefined;
  readonly timeoutMs: number;
  /** Pages larger than this fail the scrape (the pod controls the page). */
  readonly maxResponseBytes: number;
}

/** A configured data source whose pages feed attribute extractors. */
export interface AttributeSource extends Plugin {
  readonly target: AttributeScrapeTarget;
  /** The scrape period for base tick `baseMs` (`--refresh-metrics-interval`). */
  intervalMs(baseMs: number): number;
  /** A fetcher configured for this source's TLS settings. */
  createFetcher(): MetricsFetcher;
  /** True when `extractor` reads this source's pages. */
  accepts(extractor: Plugin): extractor is AttributeExtractor;
}

/** The attributes one page yields for one endpoint, or why it yields none. */
export type AttributeExtraction = { readonly ok: true; readonly values: Readonly<Record<string, number>> } | { readonly ok: false; readonly reason: string };

/** Turns one scraped page into attributes of one endpoint; never throws because of the page. */
export interface AttributeExtractor extends Plugin {
  /** The attribute names this extractor may publish (keys of `values`), each under `attributeKey(typedName.type, name)`. */
  readonly produces: readonly string[];
  extract(page: string, endpoint: Endpoint): AttributeExtraction;
}

export function isAttributeSource(plugin: Plugin): plugin is AttributeSource {
  return 'target' in plugin && 'accepts' in plugin && typeof (plugin as Partial<AttributeSource>).accepts === 'function';
}
