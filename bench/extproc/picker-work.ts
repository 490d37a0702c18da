/**
 * The picker's own per-request work, without the transport: `parse` then `Director.route` then
 * `release`, in-process, over the bench's distinct bodies (load.ts `BodyFactory`), 8 endpoints, the
 * built-in default config or `--config FILE`, 32 decisions held open at a time as at c=32. Reports
 * CPU µs per request (the minimum over rounds: the machine is shared) and the mean GC pause time per
 * request (which includes collecting the bench's own request bodies).
 *
 * It answers "what does the picker add beyond the ext_proc floor" without the gRPC/HTTP2 noise that
 * dominates `run.ts` rounds (see bench/README.md, "extproc").
 *
 *   npx tsx bench/extproc/picker-work.ts [--prompt-bytes 4096] [--requests 20000] [--rounds 6] [--config FILE]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import type { RoutingDecision } from '../../src/director/director.js';
import { OpenAIParser } from '../../src/request/request-parser.js';
import { BodyFactory } from './load.js';
import { configName, inProcessDirector, workOptions } from './work-setup.js';

const options = workOptions();
const { promptBytes, requests, rounds } = options;
const IN_FLIGHT = 32;
const RING = 2048;
const { director } = inProcessDirector(options, false);
const parser = new OpenAIParser('openai-parser');
const headers = new Map([[':path', '/v1/completions'], ['content-type', 'application/json']]);
const factory = new BodyFactory(promptBytes);

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

let tag = 0;
const open: RoutingDecision[] = [];

/** Runs `n` requests; returns CPU µs per request. Bodies are made between timed batches. */
function run(n: number): number {
  let cpu = 0;
  let done = 0;
  while (done < n) {
    tag++;
    const bodies = Array.from({ length: Math.min(RING, n - done) }, (_, i) => factory.body(i, `w${tag}`));
    const c0 = process.cpuUsage();
    for (const body of bodies) {
      const llm = parser.parse('/v1/completions', body);
      open.push(director.route({ requestId: `r${done++}`, headers, llm, bodyless: false, subsetHint: undefined }));
      if (open.length > IN_FLIGHT) director.release(open.shift() as RoutingDecision);
    }
    const c = process.cpuUsage(c0);
    cpu += c.user + c.system;
  }
  return cpu / n;
}

/** Lets the GC observer's entries arrive (they are delivered between event-loop turns). */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

// Warm-up: fills the prefix index to its LRU capacity, so measured requests evict as in steady state.
run(Math.max(requests, 8000));
await settle();
const gc0 = gcMs;
let best = Infinity;
for (let r = 0; r < rounds; r++) {
  best = Math.min(best, run(requests));
  await settle();
}
const gcPerRequest = ((gcMs - gc0) * 1000) / (rounds * requests);
process.stdout.write(
  `picker work, ${promptBytes}-byte distinct prompts, ${configName(options)}: ` +
    `${best.toFixed(1)} µs CPU per request (min of ${rounds} rounds of ${requests}), GC ${gcPerRequest.toFixed(1)} µs per request\n`,
);
