/**
 * Memory of the approximate prefix index: inserts N blocks (default 1,000,000 (block, endpoint)
 * entries) and reports the heap used plus array buffers (typed-array storage lives outside the JS
 * heap, in `arrayBuffers`), after a forced GC, minus the same before. Target: ≤ 150 MB for 1 M blocks.
 *
 * Variants, each in its own child process so one cannot hold memory for the next:
 * - `uniform`: 8 endpoints × N/8 distinct blocks (every block unique: the most entries per hash table);
 * - `skewed`: 64 endpoints, shares ∝ 1/(rank+1) (Zipf), every prompt a 64-block system prompt out of
 *   100 shared ones plus a 192-block unique tail, so popular blocks are held by many endpoints;
 * - `lru-cache`: the uniform variant stored the reference's way — `Map<hash, Set<endpoint>>` plus one
 *   `lru-cache` LRUCache per endpoint with a dispose hook (bigint keys, as the reference's uint64) —
 *   the structure this index replaces, measured for comparison.
 *
 * Every LRU is big enough to hold what it receives (no eviction), so N entries stay resident.
 *
 * Usage: node --expose-gc --import tsx bench/prefix/memory.ts [--blocks 1000000] [--variant uniform|skewed|lru-cache|all]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LRUCache } from 'lru-cache';
import { Endpoint } from '../../src/datastore/endpoint.js';
import { PrefixIndex } from '../../src/prefix/prefix-index.js';

const { values } = parseArgs({
  options: {
    blocks: { type: 'string', default: '1000000' },
    variant: { type: 'string', default: 'all' },
  },
});
const BLOCKS = Number(values.blocks);
const VARIANTS = ['uniform', 'skewed', 'lru-cache'] as const;
type Variant = (typeof VARIANTS)[number];

const gc = (globalThis as { gc?: () => void }).gc;

function used(): { heap: number; buffers: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

let seed = 1;
function random32(): number {
  // xorshift32: full-period 32-bit values (an LCG's low bits would repeat).
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

function randomHashes(blocks: number): Uint32Array {
  const out = new Uint32Array(blocks * 2);
  for (let i = 0; i < out.length; i++) out[i] = random32();
  return out;
}

const pool = (n: number): Endpoint[] => Array.from({ length: n }, (_, i) => new Endpoint(`pod-${i}`, `10.0.0.${i}`, 8000, {}));

/** Calls `add(endpoint, hashes)` with 256-block prompts until `BLOCKS` entries were added in all. */
function fill(variant: Exclude<Variant, 'lru-cache'>, add: (endpoint: Endpoint, hashes: Uint32Array) => void): { endpoints: number } {
  if (variant === 'uniform') {
    const endpoints = pool(8);
    const per = Math.floor(BLOCKS / endpoints.length);
    for (const e of endpoints) for (let done = 0; done < per; done += 256) add(e, randomHashes(Math.min(256, per - done)));
    return { endpoints: endpoints.length };
  }
  const endpoints = pool(64);
  const weights = endpoints.map((_, k) => 1 / (k + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const systems = Array.from({ length: 100 }, () => randomHashes(64));
  endpoints.forEach((e, k) => {
    const share = Math.round((BLOCKS * (weights[k] ?? 0)) / total);
    const seen = new Set<number>();
    for (let done = 0; done < share; ) {
      const s = Math.floor((random32() / 2 ** 32) * systems.length);
      const system = systems[s] as Uint32Array;
      // A system prompt already on this endpoint adds no entry the second time.
      const fresh = seen.has(s) ? 0 : 64;
      seen.add(s);
      const tail = Math.min(192, Math.max(0, share - done - fresh));
      const prompt = new Uint32Array((64 + tail) * 2);
      prompt.set(system);
      prompt.set(randomHashes(tail), system.length);
      add(e, prompt);
      done += tail + fresh;
    }
  });
  return { endpoints: endpoints.length };
}

function measure(variant: Variant): string {
  const before = used();
  let entries = 0;
  let endpoints: number;
  let keep: unknown;
  const t0 = performance.now();
  if (variant === 'lru-cache') {
    const hashToPods = new Map<bigint, Set<number>>();
    const lrus = new Map<Endpoint, LRUCache<bigint, true>>();
    const view = new DataView(new ArrayBuffer(8));
    const ids = new Map<Endpoint, number>();
    ({ endpoints } = fill('uniform', (e, hashes) => {
      let lru = lrus.get(e);
      let id = ids.get(e);
      if (id === undefined) ids.set(e, (id = ids.size));
      const pod = id;
      if (lru === undefined) {
        lru = new LRUCache<bigint, true>({
          // Sized for what it will hold (lru-cache preallocates its link arrays at `max`).
          max: Math.ceil(BLOCKS / 8),
          dispose: (_v, key) => {
            const set = hashToPods.get(key);
            set?.delete(pod);
            if (set?.size === 0) hashToPods.delete(key);
          },
        });
        lrus.set(e, lru);
      }
      for (let i = 0; i < hashes.length; i += 2) {
        view.setUint32(0, hashes[i] ?? 0, true);
        view.setUint32(4, hashes[i + 1] ?? 0, true);
        const key = view.getBigUint64(0, true);
        lru.set(key, true);
        let set = hashToPods.get(key);
        if (set === undefined) hashToPods.set(key, (set = new Set()));
        set.add(pod);
      }
    }));
    for (const lru of lrus.values()) entries += lru.size;
    keep = [hashToPods, lrus];
  } else {
    const index = new PrefixIndex();
    ({ endpoints } = fill(variant, (e, hashes) => index.add(e, hashes, BLOCKS)));
    entries = index.size;
    keep = index;
  }
  const ms = performance.now() - t0;
  const after = used();
  const heap = (after.heap - before.heap) / 2 ** 20;
  const buffers = (after.buffers - before.buffers) / 2 ** 20;
  const storage = keep instanceof PrefixIndex ? (keep.allocatedBytes / 2 ** 20).toFixed(1) : '–';
  return `| ${variant} | ${endpoints} | ${entries} | ${heap.toFixed(1)} | ${buffers.toFixed(1)} | ${(heap + buffers).toFixed(1)} | ${(((heap + buffers) * 2 ** 20) / entries).toFixed(0)} | ${storage} | ${ms.toFixed(0)} |`;
}

if (values.variant === 'all') {
  if (gc === undefined) throw new Error('run with node --expose-gc --import tsx bench/prefix/memory.ts');
  process.stdout.write(`\n## prefix: index memory, ${BLOCKS} blocks, node ${process.version}\n\n`);
  process.stdout.write('| variant | endpoints | entries | heap MB | array buffers MB | total MB | bytes/entry | typed-array storage MB | insert ms |\n|---|---|---|---|---|---|---|---|---|\n');
  const self = fileURLToPath(import.meta.url);
  for (const v of VARIANTS) {
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--variant', v, '--blocks', String(BLOCKS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (child.status !== 0) throw new Error(`variant ${v} failed (exit ${child.status ?? child.signal ?? '?'})`);
    process.stdout.write(child.stdout);
  }
} else {
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const v = VARIANTS.find((x) => x === values.variant);
  if (v === undefined) throw new Error(`unknown variant "${values.variant ?? ''}"`);
  process.stdout.write(`${measure(v)}\n`);
}
