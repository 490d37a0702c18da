/**
 * One full scheduling cycle with the reference's default profile — queue-scorer 2,
 * kv-cache-utilization-scorer 2, prefix-cache-scorer 3, max-score-picker — plus the
 * approx-prefix-cache-producer's `produce` before and `preRequest` after, as the director runs them,
 * over N endpoints (256) with long completions prompts (32,768 characters). Target: ≤ 200 µs p50.
 *
 * Scenarios (each on a fresh scheduler and index, warmed up first):
 * - `shared`: 64 system prompts of 8 KB, each request one of them plus a unique 24 KB tail: half the
 *   256 hashed blocks match somewhere, half are new and are inserted into the target's LRU;
 * - `cold`: every prompt distinct: the match stops at block 0, every request inserts 256 new blocks;
 * - `shared-chat`: `shared` as chat completions (system message + user message, lines of 80
 *   characters), so the hashed text is the JSON of the messages;
 * - `hot`: worst case for matching: one 16 KB prefix held by every endpoint, so the walk visits
 *   256 blocks × 256 holders.
 *
 * Reported per scenario: the cycle (produce + schedule + preRequest) p50/p90/p99, and the p50 of each
 * part: prompt text + hashing, matching (index walk), the rest of produce, schedule (the three scorers
 * and the picker), preRequest (index insert). Hashing and matching are timed in separate passes over
 * the same requests, reading the same index.
 *
 * Usage: npx tsx bench/prefix/cycle.ts [--endpoints 256] [--prompt-chars 32768] [--warmup 5000]
 *          [--iterations 20000] [--scenario shared|cold|hot|all]
 */
import { parseArgs } from 'node:util';
import { buildScheduler } from '../../src/config/build-scheduler.js';
import { loadConfig } from '../../src/config/load-config.js';
import { Endpoint, UNKNOWN_METRICS } from '../../src/datastore/endpoint.js';
import { BlockHasher, seedText } from '../../src/prefix/block-hasher.js';
import { promptText } from '../../src/prefix/prompt-text.js';
import type { LLMRequest } from '../../src/request/llm-request.js';
import { CycleState } from '../../src/scheduling/cycle-state.js';
import { APPROX_PREFIX_CACHE_PRODUCER_TYPE, ApproxPrefixCacheProducer } from '../../src/scheduling/plugins/producers/approx-prefix-cache-producer.js';
import { registerBuiltins } from '../../src/builtins.js';
import type { Scheduler } from '../../src/scheduling/scheduler.js';
import type { SchedulingRequest } from '../../src/scheduling/types.js';

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '256' },
    'prompt-chars': { type: 'string', default: '32768' },
    warmup: { type: 'string', default: '5000' },
    iterations: { type: 'string', default: '20000' },
    scenario: { type: 'string', default: 'all' },
  },
});
const ENDPOINTS = Number(values.endpoints);
const PROMPT_CHARS = Number(values['prompt-chars']);
const WARMUP = Number(values.warmup);
const ITERATIONS = Number(values.iterations);


let seed = 12345;
function random(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
}

/** Pseudo-random ASCII text; distinct keys share no 64-byte block. */
function text(key: number, length: number): string {
  let x = (key * 2654435761 + 7) >>> 0;
  const parts: string[] = [];
  let n = 0;
  while (n < length) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const word = (x >>> 4).toString(36);
    parts.push(word, ' ');
    n += word.length + 1;
  }
  return parts.join('').slice(0, length);
}

function build(): { scheduler: Scheduler; producer: ApproxPrefixCacheProducer } {
  const registry = registerBuiltins();
  // The built-in default profile: queue 2, kv-cache-utilization 2, prefix-cache 3 (producer injected).
  const built = buildScheduler(loadConfig('default'), registry, { random }, undefined);
  const producer = built.plugins.get(APPROX_PREFIX_CACHE_PRODUCER_TYPE);
  if (!(producer instanceof ApproxPrefixCacheProducer)) throw new Error('producer missing');
  return { scheduler: built.scheduler, producer };
}

function pool(n: number): Endpoint[] {
  return Array.from({ length: n }, (_, i) => {
    const e = new Endpoint(`pod-${i}`, `10.0.${i >> 8}.${i & 255}`, 8000, {});
    e.metrics = { ...UNKNOWN_METRICS, known: true, updatedAtMs: 1, waitingQueueSize: Math.floor(random() * 8), kvCacheUsage: random() * 0.8, cacheBlockSize: 16, cacheNumBlocks: 31250 };
    return e;
  });
}

const completion = (prompt: string): LLMRequest => ({ api: 'completions', model: 'llama', stream: false, cacheSalt: undefined, body: { model: 'llama', prompt }, bodyBytes: prompt.length + 40 });
const chat = (messages: unknown[], bytes: number): LLMRequest => ({ api: 'chat-completions', model: 'llama', stream: false, cacheSalt: undefined, body: { model: 'llama', messages }, bodyBytes: bytes });

function schedulingRequest(llm: LLMRequest): SchedulingRequest {
  return { requestId: 'r', targetModel: llm.model, llm, headers: new Map(), state: new CycleState() };
}

interface Scenario {
  readonly name: string;
  /** The i-th request's prompt. */
  prompt(i: number): string;
  /** Chat: the prompt's first SYSTEM_CHARS characters are the system message, the rest the user's. */
  readonly chat?: boolean;
  prepare?(producer: ApproxPrefixCacheProducer, endpoints: readonly Endpoint[]): void;
}

const SYSTEM_CHARS = 8192;
const systems = Array.from({ length: 64 }, (_, k) => text(10_000 + k, SYSTEM_CHARS));
const tail = PROMPT_CHARS - SYSTEM_CHARS;
const hotPrefix = text(777, PROMPT_CHARS);

const scenarios: Scenario[] = [
  { name: 'shared', prompt: (i) => `${systems[i % systems.length] ?? ''}${text(i + 1, tail)}` },
  { name: 'cold', prompt: (i) => text(i + 1, PROMPT_CHARS) },
  { name: 'shared-chat', chat: true, prompt: (i) => `${systems[i % systems.length] ?? ''}${text(i + 1, tail)}` },
  {
    name: 'hot',
    // Only the first 16 KB (256 blocks) is hashed: every request hashes the same blocks.
    prompt: (i) => `${hotPrefix.slice(0, 16_384)}${text(i + 1, PROMPT_CHARS - 16_384)}`,
    prepare(producer, endpoints) {
      const req = schedulingRequest(completion(this.prompt(0)));
      producer.produce(req, endpoints);
      for (const e of endpoints) producer.preRequest(req, { primaryProfileName: 'default', profileResults: new Map([['default', { targets: [e] }]]) }, new Map());
    },
  },
];

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

const us = (ms: number): string => (ms * 1000).toFixed(1);

/** Requests built per batch, outside the timed loop (prompts are tens of KB each). */
const BATCH = 500;
/** A metrics "scrape" every this many requests: queue = requests routed since, KV use from the LRU fill. */
const SCRAPE_EVERY = 64;
/** One request in this many is used for the hashing / matching breakdown. */
const SAMPLE_EVERY = 8;

function run(scenario: Scenario): string {
  const { scheduler, producer } = build();
  const endpoints = pool(ENDPOINTS);
  scenario.prepare?.(producer, endpoints);
  const { producers, preRequest } = scheduler.hooks;
  const noHeaders = new Map<string, string>();
  const routed = new Int32Array(endpoints.length);
  const indexOf = new Map(endpoints.map((e, i) => [e, i]));
  const scrape = (): void => {
    endpoints.forEach((e, i) => {
      const fill = producer.index.sizeOf(e) / producer.capacityFor(e);
      e.metrics = { ...e.metrics, waitingQueueSize: routed[i] ?? 0, kvCacheUsage: Math.min(0.95, 0.05 + 0.9 * fill) };
    });
    routed.fill(0);
  };
  let served = 0;
  // Per-phase times of each measured cycle: total, produce, schedule, preRequest.
  const times = [new Float64Array(ITERATIONS), new Float64Array(ITERATIONS), new Float64Array(ITERATIONS), new Float64Array(ITERATIONS)] as const;
  let measured = 0;
  const cycle = (llm: LLMRequest, measure: boolean): void => {
    const req = schedulingRequest(llm);
    const t0 = performance.now();
    for (const p of producers) p.produce(req, endpoints);
    const t1 = performance.now();
    const result = scheduler.schedule(req, endpoints);
    const t2 = performance.now();
    for (const h of preRequest) h.preRequest(req, result, noHeaders);
    const t3 = performance.now();
    if (measure) {
      times[0][measured] = t3 - t0;
      times[1][measured] = t1 - t0;
      times[2][measured] = t2 - t1;
      times[3][measured] = t3 - t2;
      measured++;
    }
    const target = result.profileResults.get(result.primaryProfileName)?.targets[0];
    if (target !== undefined) {
      const k = indexOf.get(target) ?? 0;
      routed[k] = (routed[k] ?? 0) + 1;
    }
    if (++served % SCRAPE_EVERY === 0) scrape();
  };
  // Bodies go through JSON as they arrive (flat strings, as the parser makes them); building them is
  // not the picker's work and happens between timed batches.
  const batch = (from: number, count: number): LLMRequest[] =>
    Array.from({ length: count }, (_, i) => {
      const prompt = scenario.prompt(from + i);
      if (scenario.chat === true) {
        // Lines of about 80 characters: the newlines are JSON-escaped, as in real chat bodies.
        const lines = (t: string): string => t.replace(/(.{79}) /g, '$1\n');
        const messages = [
          { role: 'system', content: lines(prompt.slice(0, SYSTEM_CHARS)) },
          { role: 'user', content: lines(prompt.slice(SYSTEM_CHARS)) },
        ];
        const raw = JSON.stringify({ model: 'llama', messages });
        const body = JSON.parse(raw) as { messages: unknown[] };
        return chat(body.messages, raw.length);
      }
      const body = JSON.parse(JSON.stringify({ model: 'llama', prompt })) as { model: string; prompt: string };
      return completion(body.prompt);
    });
  for (let i = 0; i < WARMUP; i += BATCH) for (const llm of batch(i, Math.min(BATCH, WARMUP - i))) cycle(llm, false);

  // Every SAMPLE_EVERY-th request is hashed and matched on its own first, against the index its cycle
  // will see (match does not modify it); that request's cycle, which then finds warm caches, is left
  // out of the cycle figures.
  const hashTimes: number[] = [];
  const matchTimes: number[] = [];
  const hasher = new BlockHasher();
  const counts = new Int32Array(endpoints.length);
  let blocks = 0;
  let depthSum = 0;
  for (let start = 0; start < ITERATIONS; start += BATCH) {
    const requests = batch(WARMUP + start, Math.min(BATCH, ITERATIONS - start));
    requests.forEach((llm, i) => {
      if ((start + i) % SAMPLE_EVERY !== 0) {
        cycle(llm, true);
        return;
      }
      const t0 = performance.now();
      const hashes = hasher.hash(promptText(llm, 64 * 256), seedText(llm.model, llm.cacheSalt), 64, 256);
      const t1 = performance.now();
      depthSum += producer.index.match(hashes, endpoints, counts);
      const t2 = performance.now();
      hashTimes.push(t1 - t0);
      matchTimes.push(t2 - t1);
      blocks += hashes.length / 2;
      cycle(llm, false);
    });
  }
  const [total, produce, schedule, pre] = times.map((t) => t.subarray(0, measured).sort()) as [Float64Array, Float64Array, Float64Array, Float64Array];
  const hashSorted = Float64Array.from(hashTimes).sort();
  const matchSorted = Float64Array.from(matchTimes).sort();
  const holding = endpoints.filter((e) => producer.index.sizeOf(e) > 0).length;
  return (
    `| ${scenario.name} | ${us(percentile(total, 0.5))} | ${us(percentile(total, 0.9))} | ${us(percentile(total, 0.99))} | ` +
    `${us(percentile(hashSorted, 0.5))} | ${us(percentile(matchSorted, 0.5))} | ${us(percentile(produce, 0.5))} | ${us(percentile(schedule, 0.5))} | ${us(percentile(pre, 0.5))} | ` +
    `${(blocks / hashTimes.length).toFixed(0)} | ${(depthSum / hashTimes.length).toFixed(0)} | ${producer.index.size} / ${holding} |`
  );
}

const chosen = values.scenario === 'all' ? scenarios : scenarios.filter((s) => s.name === values.scenario);
if (chosen.length === 0) throw new Error(`unknown scenario "${values.scenario ?? ''}"`);
process.stdout.write(
  `\n## prefix: one scheduling cycle, ${ENDPOINTS} endpoints, ${PROMPT_CHARS}-character completions prompts, warm-up ${WARMUP}, ${ITERATIONS} measured, node ${process.version}\n\n`,
);
process.stdout.write('| scenario | cycle p50 µs | p90 µs | p99 µs | hash p50 µs | match p50 µs | produce p50 µs | schedule p50 µs | preRequest p50 µs | blocks/req | matched depth/req | index entries / endpoints |\n');
process.stdout.write('|---|---|---|---|---|---|---|---|---|---|---|---|\n');
for (const s of chosen) process.stdout.write(`${run(s)}\n`);
