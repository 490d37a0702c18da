/** How a scrape failed: a refused connection makes the endpoint unknown at once. */
export type ScrapeFailure = 'refused' | 'timeout' | 'too-large' | 'http-status' | 'network';

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
