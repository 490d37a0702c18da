/** Reads the picker's Prometheus page: its own gauges and prom-client's process metrics. */
import { get } from 'node:http';
import { parsePrometheusText } from '../../../src/scrape/prometheus-text.js';

/**
 * GETs `/metrics` from 127.0.0.1:`port` on a connection of its own (a pooled keep-alive connection
 * races the server's idle timeout when scrapes come every few seconds).
 */
export function fetchMetrics(port: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: timeoutMs }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no /metrics answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The sum of every sample of `name` (any labels); NaN when the page has none. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  let seen = false;
  parsePrometheusText(text, new Set([name]), (_name, _labels, value) => {
    if (!Number.isFinite(value)) return;
    sum += value;
    seen = true;
  });
  return seen ? sum : Number.NaN;
}

/** In-flight requests: `inference_objective_running_requests` over every model (0 when none was ever routed). */
export function runningRequests(text: string): number {
  const v = metricSum(text, 'inference_objective_running_requests');
  return Number.isNaN(v) ? 0 : v;
}

/**
 * The smallest bucket bound (`le`) under which `q` of `name`'s observations fall, over every label
 * set that has label `match[0]` equal to `match[1]` (every one without `match`): a histogram's
 * quantile, as coarse as its buckets; NaN without observations.
 */
export function histogramQuantile(text: string, name: string, q: number, match?: readonly [string, string]): number {
  const byBound = new Map<number, number>();
  parsePrometheusText(text, new Set([`${name}_bucket`]), (_name, labels, value) => {
    const le = labels.le;
    if (le === undefined || !Number.isFinite(value) || (match !== undefined && labels[match[0]] !== match[1])) return;
    const bound = le === '+Inf' ? Infinity : Number(le);
    byBound.set(bound, (byBound.get(bound) ?? 0) + value);
  });
  const total = byBound.get(Infinity) ?? 0;
  if (total === 0) return Number.NaN;
  for (const [bound, count] of [...byBound].sort((a, b) => a[0] - b[0])) if (count >= q * total) return bound;
  return Infinity;
}
