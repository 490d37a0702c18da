/**
 * Turns one scrape's exposition text into EndpointMetrics for an engine config. Only the engine's
 * families are parsed. Several series of one family that differ in the rank label (vLLM's `engine`,
 * SGLang's `dp_rank`) are data-parallel engines behind one endpoint: queue and running are summed,
 * KV use is averaged, and each rank's values are kept. Non-finite or negative values are ignored;
 * KV use is clamped to [0, 1].
 *
 * The result is `known` only when both the waiting-queue and the KV-usage families were found (the
 * KV family only for engines that have one: `triton` reports none, and its KV use reads 0): an
 * endpoint whose scrape lacks them (garbage, the wrong engine type) must not look idle. The engine's
 * `customMetrics` are kept under their attribute keys (the first matching series' value; missing
 * ones are reported in `missing`). A page that
 * lacks them but is exposition text is a scrape with missing data; one that is not exposition text
 * at all is `garbage`, which the collector counts as a failed scrape.
 */
import type { EndpointMetrics, RankMetrics } from '../datastore/endpoint.js';
import { UNKNOWN_METRICS } from '../datastore/endpoint.js';
import type { EngineConfig, SeriesSelector } from './engine-config.js';
import { hasAnySample, parsePrometheusText } from './prometheus-text.js';

interface Sample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface Extraction {
  readonly metrics: EndpointMetrics;
  /** Required families (queue, running, KV usage) that were absent or unusable. */
  readonly missing: readonly string[];
  readonly malformedLines: number;
  /**
   * True when the page has content but not one well-formed sample line of any family (an HTML page,
   * random bytes): not Prometheus text. An empty page, or one of other families only, is not garbage.
   */
  readonly garbage: boolean;
}

function matches(sample: Sample, selector: SeriesSelector): boolean {
  for (const m of selector.matchers) if (sample.labels[m.label] !== m.value) return false;
  return true;
}

/** Per rank, the first usable value of the selector's series. */
function byRank(samples: ReadonlyMap<string, Sample[]>, selector: SeriesSelector | undefined, rankLabel: string): Map<string, number> | undefined {
  if (selector === undefined) return undefined;
  const list = samples.get(selector.name);
  if (list === undefined) return undefined;
  const out = new Map<string, number>();
  for (const s of list) {
    if (!Number.isFinite(s.value) || s.value < 0 || !matches(s, selector)) continue;
    const rank = s.labels[rankLabel] ?? '';
    if (!out.has(rank)) out.set(rank, s.value);
  }
  return out.size === 0 ? undefined : out;
}

const NO_KV: ReadonlyMap<string, number> = new Map([['', 0]]);

function sum(values: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const v of values.values()) total += v;
  return total;
}

function splitList(csv: string | undefined): readonly string[] {
  if (csv === undefined || csv === '') return [];
  return csv
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function positiveInt(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = Number.parseInt(text, 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * @param capacity when false, the cache-capacity families are not read and `previous`'s block size
 *   and count are kept (they change only when the server restarts).
 */
export function extractMetrics(text: string, engine: EngineConfig, nowMs: number, capacity = true, previous?: EndpointMetrics): Extraction {
  const samples = new Map<string, Sample[]>();
  const stats = parsePrometheusText(text, capacity ? engine.wanted : engine.wantedFrequent, (name, labels, value) => {
    const list = samples.get(name);
    if (list === undefined) samples.set(name, [{ labels, value }]);
    else list.push({ labels, value });
  });

  const missing: string[] = [];
  const queued = byRank(samples, engine.queued, engine.rankLabel);
  if (queued === undefined && engine.queued !== undefined) missing.push(engine.queued.name);
  const running = byRank(samples, engine.running, engine.rankLabel);
  if (running === undefined && engine.running !== undefined) missing.push(engine.running.name);
  // An engine without a KV-usage family (triton) reports none: its KV use is 0.
  let kv: ReadonlyMap<string, number> | undefined = engine.kvUsage.length === 0 ? NO_KV : undefined;
  for (const selector of engine.kvUsage) {
    kv = byRank(samples, selector, engine.rankLabel);
    if (kv !== undefined) break;
  }
  if (kv === undefined && engine.kvUsage[0] !== undefined) missing.push(engine.kvUsage[0].name);

  if (queued === undefined || kv === undefined) {
    const garbage = stats.samples === 0 && stats.malformed + stats.skipped > 0 && !hasAnySample(text);
    return { metrics: UNKNOWN_METRICS, missing, malformedLines: stats.malformed, garbage };
  }

  let kvMean = 0;
  for (const v of kv.values()) kvMean += v > 1 ? 1 : v;
  kvMean /= kv.size;

  const rankNames = new Set([...queued.keys(), ...kv.keys(), ...(running?.keys() ?? [])]);
  const ranks: RankMetrics[] =
    rankNames.size > 1
      ? [...rankNames].sort().map((rank) => ({
          rank,
          waitingQueueSize: queued.get(rank) ?? 0,
          runningRequestsSize: running?.get(rank) ?? 0,
          kvCacheUsage: Math.min(1, kv.get(rank) ?? 1),
        }))
      : [];

  let activeModels: readonly string[] = UNKNOWN_METRICS.activeModels;
  let waitingModels: readonly string[] = UNKNOWN_METRICS.waitingModels;
  let maxActiveModels = 0;
  const loraSeries = engine.lora === undefined ? undefined : samples.get(engine.lora.name);
  if (loraSeries !== undefined && engine.lora !== undefined) {
    // Every adapter-set change leaves a series behind; the current one has the largest timestamp value.
    let latest: Sample | undefined;
    for (const s of loraSeries) if (matches(s, engine.lora) && Number.isFinite(s.value) && (latest === undefined || s.value > latest.value)) latest = s;
    if (latest !== undefined) {
      activeModels = splitList(latest.labels.running_lora_adapters);
      waitingModels = splitList(latest.labels.waiting_lora_adapters);
      maxActiveModels = positiveInt(latest.labels.max_lora);
    }
  }

  let cacheBlockSize = capacity ? 0 : (previous?.cacheBlockSize ?? 0);
  let cacheNumBlocks = capacity ? 0 : (previous?.cacheNumBlocks ?? 0);
  const info = engine.cacheInfo === undefined ? undefined : samples.get(engine.cacheInfo.name)?.find((s) => engine.cacheInfo !== undefined && matches(s, engine.cacheInfo));
  if (info !== undefined) {
    cacheBlockSize = positiveInt(info.labels[engine.cacheBlockSizeLabel]);
    cacheNumBlocks = positiveInt(info.labels[engine.cacheNumBlocksLabel]);
  }
  const gaugeValue = (selector: SeriesSelector | undefined): number => {
    const v = byRank(samples, selector, engine.rankLabel)?.values().next().value;
    return v === undefined ? 0 : Math.floor(v);
  };
  if (capacity && cacheBlockSize === 0) cacheBlockSize = gaugeValue(engine.cacheBlockSize);
  if (capacity && cacheNumBlocks === 0) cacheNumBlocks = gaugeValue(engine.cacheNumBlocks);

  let custom: Record<string, number> | undefined;
  for (const c of engine.custom) {
    const v = samples.get(c.selector.name)?.find((s) => matches(s, c.selector) && Number.isFinite(s.value))?.value;
    if (v === undefined) {
      missing.push(c.selector.name);
      continue;
    }
    (custom ??= {})[c.key] = v;
  }

  const metrics: EndpointMetrics = Object.freeze({
    known: true,
    waitingQueueSize: sum(queued),
    runningRequestsSize: running === undefined ? 0 : sum(running),
    kvCacheUsage: kvMean,
    activeModels,
    waitingModels,
    maxActiveModels,
    cacheBlockSize,
    cacheNumBlocks,
    ranks,
    updatedAtMs: nowMs,
    ...(custom === undefined ? {} : { custom: Object.freeze(custom) }),
  });
  return { metrics, missing, malformedLines: stats.malformed, garbage: false };
}
