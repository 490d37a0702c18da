/**
 * Data sources beyond the engine metrics page (`dcgm-data-source`, …): each is scraped per endpoint
 * on its own period by the attribute collector, and the extractors configured for it turn the page
 * into scalar attributes published on `Endpoint.attributes`.
 */
import { attributeKey, NO_ATTRIBUTES, type Endpoint } from '../datastore/endpoint.js';
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

/** The scalar attributes one page yields for one endpoint, or why it yields none. */
export type AttributeExtraction = { readonly ok: true; readonly values: Readonly<Record<string, number>> } | { readonly ok: false; readonly reason: string };

/** Turns one scraped page into what it publishes on one endpoint; never throws because of the page. */
export interface AttributeExtractor extends Plugin {
  /** Publishes what `page` says on `endpoint`; when it says nothing usable, clears instead and returns why. */
  update(page: string, endpoint: Endpoint): string | undefined;
  /** Removes everything this extractor published on `endpoint` (stale, or the endpoint left the pool). */
  clear(endpoint: Endpoint): void;
}

/** Most scalar attributes one endpoint carries (all producers together); a page cannot grow the map past it. */
export const MAX_ENDPOINT_ATTRIBUTES = 64;

/** Replaces `endpoint.attributes` with `values` set for `producer`'s `names` (absent in `values` = removed). */
export function publishAttributes(endpoint: Endpoint, producer: string, names: readonly string[], values: Readonly<Record<string, number>> | undefined): void {
  const next: Record<string, number> = { ...endpoint.attributes };
  let changed = false;
  for (const name of names) {
    const key = attributeKey(producer, name);
    const value = values?.[name];
    if (value === undefined) {
      if (key in next) {
        delete next[key];
        changed = true;
      }
    } else if (next[key] !== value) {
      if (!(key in next) && Object.keys(next).length >= MAX_ENDPOINT_ATTRIBUTES) continue;
      next[key] = value;
      changed = true;
    }
  }
  if (changed) endpoint.attributes = Object.keys(next).length === 0 ? NO_ATTRIBUTES : Object.freeze(next);
}

export function isAttributeSource(plugin: Plugin): plugin is AttributeSource {
  return 'target' in plugin && 'accepts' in plugin && typeof (plugin as Partial<AttributeSource>).accepts === 'function';
}
