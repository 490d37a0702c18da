/**
 * How a scrape failed; every kind makes the endpoint unreachable until its next good scrape, and a
 * refused connection also makes its metrics unknown at once. The fetcher rejects with the first
 * five; `garbage` (a 200 page that is not Prometheus text) is the collector's verdict on a page.
 */
export type ScrapeFailure = 'refused' | 'timeout' | 'too-large' | 'http-status' | 'network' | 'garbage';

export class ScrapeError extends Error {
  override readonly name = 'ScrapeError';
  constructor(
    readonly kind: ScrapeFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface FetchOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

/** Fetches one metrics page; rejects with ScrapeError. */
export interface MetricsFetcher {
  fetch(url: URL, options: FetchOptions): Promise<string>;
  /** Releases the connection kept for the origin of `url` (an endpoint that left the pool). */
  forget(url: URL): void;
  close(): void;
}
