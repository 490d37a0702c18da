/**
 * The index's own operations at scale, without hashing or scheduling: 256 endpoints filled with
 * random 256-block prompts to `--per-endpoint` entries each (6.4 M in all by default), then the mean
 * cost of `add` for a 256-block prompt that is new (each block evicts once the LRUs are full) and of
 * `add` for one already held (256 LRU touches), and of `match` for a prompt nobody holds and for one
 * every endpoint holds. A large index is far bigger than the CPU caches, so these are mostly cache
 * misses.
 *
 * Usage: npx tsx bench/prefix/index-ops.ts [--per-endpoint 25000] [--capacity 25000] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { Endpoint } from '../../src/datastore/endpoint.js';
import { PrefixIndex } from '../../src/prefix/prefix-index.js';

const { values } = parseArgs({
  options: {
    'per-endpoint': { type: 'string', default: '25000' },
    capacity: { type: 'string', default: '25000' },
    rounds: { type: 'string', default: '3' },
  },
});
const PER = Number(values['per-endpoint']);
const CAPACITY = Number(values.capacity);
const ROUNDS = Number(values.rounds);
const N = 256;
const OPS = 4000;

let seed = 1;
function random32(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}
function prompt(): Uint32Array {
  const h = new Uint32Array(512);
  for (let i = 0; i < h.length; i++) h[i] = random32();
  return h;
}

const endpoints = Array.from({ length: N }, (_, i) => new Endpoint(`pod-${i}`, `10.0.${i >> 8}.${i & 255}`, 8000, {}));
const index = new PrefixIndex();
const fillStart = performance.now();
for (let r = 0; r < Math.ceil((N * PER) / 256); r++) index.add(endpoints[r % N] as Endpoint, prompt(), CAPACITY);
const fillMs = performance.now() - fillStart;
const hot = prompt();
for (const e of endpoints) index.add(e, hot, CAPACITY);

const us = (ms: number, n: number): string => ((ms * 1000) / n).toFixed(1);
process.stdout.write(`\n## prefix: index operations, ${N} endpoints, ${index.size} entries (capacity ${CAPACITY} each), node ${process.version}\n\n`);
process.stdout.write(`fill: ${fillMs.toFixed(0)} ms\n\n| round | add new 256 blocks µs | add held 256 blocks µs | match, nobody holds µs | match, all 256 hold µs |\n|---|---|---|---|---|\n`);
const out = new Int32Array(N);
for (let round = 1; round <= ROUNDS; round++) {
  const prompts = Array.from({ length: OPS }, prompt);
  let t0 = performance.now();
  prompts.forEach((p, i) => index.add(endpoints[(i * 7) % N] as Endpoint, p, CAPACITY));
  const added = performance.now() - t0;
  t0 = performance.now();
  prompts.forEach((p, i) => index.add(endpoints[(i * 7) % N] as Endpoint, p, CAPACITY));
  const touched = performance.now() - t0;
  const cold = Array.from({ length: OPS }, prompt);
  for (const e of endpoints) index.add(e, hot, CAPACITY);
  t0 = performance.now();
  for (const p of cold) index.match(p, endpoints, out);
  const missed = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < OPS; i++) index.match(hot, endpoints, out);
  const matched = performance.now() - t0;
  process.stdout.write(`| ${round} | ${us(added, OPS)} | ${us(touched, OPS)} | ${us(missed, OPS)} | ${us(matched, OPS)} |\n`);
}
