import { z } from 'zod';

/** One pinned `vllm:lora_requests_info` series. */
export interface FakeLoraInfo {
  /** Comma-separated running adapter names, written verbatim into `running_lora_adapters`. */
  readonly running?: string;
  /** Comma-separated waiting adapter names, written verbatim into `waiting_lora_adapters`. */
  readonly waiting?: string;
  /** The series value (Unix seconds); when absent, the scrape time is used. */
  readonly timestamp?: number;
}

/**
 * Values `/metrics` reports instead of live ones, in llm-d-inference-sim's `--fake-metrics` keys.
 * Each key is optional: an absent key leaves that metric live. `loras` replaces the live
 * `vllm:lora_requests_info` series with one series per entry.
 */
export interface FakeMetrics {
  /** `vllm:num_requests_running`, a non-negative integer. */
  readonly 'running-requests'?: number;
  /** `vllm:num_requests_waiting`, a non-negative integer. */
  readonly 'waiting-requests'?: number;
  /** `vllm:kv_cache_usage_perc`, a fraction in [0, 1]. */
  readonly 'kv-cache-usage'?: number;
  readonly loras?: readonly FakeLoraInfo[];
}

const loraSchema = z.strictObject({
  running: z.string().optional(),
  waiting: z.string().optional(),
  timestamp: z.number().nonnegative().optional(),
});

const fakeMetricsSchema = z.strictObject({
  'running-requests': z.int().nonnegative().optional(),
  'waiting-requests': z.int().nonnegative().optional(),
  'kv-cache-usage': z.number().min(0).max(1).optional(),
  loras: z.array(loraSchema).optional(),
});

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const parent = pathText(issue.path);
    return issue.keys.map((k) => `unknown key "${parent === '' ? k : `${parent}.${k}`}"`).join('; ');
  }
  const where = pathText(issue.path);
  return where === '' ? issue.message : `"${where}": ${issue.message}`;
}

/**
 * Parses and validates a `--fake-metrics` JSON document. Throws an `Error` whose message names the
 * offending key (`unknown key "loras[0].runing"`, `"kv-cache-usage": Too big: …`) or the JSON syntax error.
 */
export function parseFakeMetrics(json: string): FakeMetrics {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new Error(`fake metrics: invalid JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const result = fakeMetricsSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(`fake metrics: ${result.error.issues.map(describeIssue).join('; ')}`);
  }
  return result.data;
}
