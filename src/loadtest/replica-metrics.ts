/**
 * Replica identity without a response header: each replica's vLLM `/metrics` is read before and after
 * a request, and the request is credited to the one replica whose work counters moved. Only sound
 * while the load test's requests run one at a time and nothing else uses the replicas.
 */
import { parsePrometheusText } from '../scrape/prometheus-text.js';

/** A replica named for the report, and its metrics URL. */
export interface ReplicaMetricsTarget {
  readonly name: string;
  readonly url: string;
}

/** Counters that grow with every request a replica accepts: prompt tokens and finished requests. */
const WORK_COUNTERS: ReadonlySet<string> = new Set(['vllm:prompt_tokens_total', 'vllm:request_success_total']);

/** The sum of every sample of the work counters in a `/metrics` text (NaN when none is present). */
export function workCounter(text: string): number {
  let sum = 0;
  let seen = false;
  parsePrometheusText(text, WORK_COUNTERS, (_name, _labels, value) => {
    sum += value;
    seen = true;
  });
  return seen ? sum : Number.NaN;
}

/**
 * Parses `--replica-metrics` values: `NAME=URL` or a bare URL (named by its host:port). A URL without
 * a path gets `/metrics`. Throws `Error` naming the bad value.
 */
export function parseReplicaMetricsTargets(values: readonly string[]): ReplicaMetricsTarget[] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    const named = eq > 0 && !v.slice(0, eq).includes('/');
    const raw = named ? v.slice(eq + 1) : v;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(`--replica-metrics: "${v}" is not a URL (give http://HOST:PORT/metrics or NAME=URL)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--replica-metrics: "${v}" must be http(s)`);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/metrics';
    return { name: named ? v.slice(0, eq) : url.host, url: url.toString() };
  });
}

/** Work-counter values by replica name; NaN for a replica whose scrape failed. */
export type WorkSnapshot = ReadonlyMap<string, number>;

/**
 * The replica credited with one request between two snapshots: the only one whose counter grew.
 * Undefined when none or several grew (a scrape failed, stats lag, or other traffic).
 */
export function creditedReplica(before: WorkSnapshot, after: WorkSnapshot): string | undefined {
  let found: string | undefined;
  for (const [name, value] of after) {
    const prev = before.get(name);
    if (prev === undefined || !Number.isFinite(prev) || !Number.isFinite(value)) continue;
    if (value > prev) {
      if (found !== undefined) return undefined;
      found = name;
    }
  }
  return found;
}

/** Scrapes the replicas' metrics. */
export class ReplicaMetricsProbe {
  constructor(
    readonly targets: readonly ReplicaMetricsTarget[],
    private readonly timeoutMs: number,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  /** Every replica's work counter now (NaN where a scrape failed), read in parallel. */
  async snapshot(): Promise<WorkSnapshot> {
    const values = await Promise.all(
      this.targets.map(async (t) => {
        try {
          const res = await this.fetchFn(t.url, { signal: AbortSignal.timeout(this.timeoutMs) });
          const text = await res.text();
          return res.ok ? workCounter(text) : Number.NaN;
        } catch {
          return Number.NaN;
        }
      }),
    );
    return new Map(this.targets.map((t, i) => [t.name, values[i] ?? Number.NaN]));
  }
}
