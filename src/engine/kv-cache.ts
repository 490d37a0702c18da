/**
 * The paged KV cache of one simulated vLLM replica with automatic prefix caching (model-server.md
 * §2, vLLM V1 `block_pool.py` / `kv_cache_manager.py`):
 *
 * - `numBlocks` blocks of `blockSize` tokens; a request holds a block table (block ids, in order);
 * - a full prompt block gets its chained hash registered (`registerHashes`) and stays findable by
 *   that hash while the block lives: while referenced, and after release while it sits in the free
 *   queue; a block is evicted (hash forgotten) only when popped from the free queue for reuse;
 * - the free queue is LRU-first: released tables are appended in reverse, so a sequence's tail
 *   blocks are evicted before its head blocks; a hit on a free block takes it out of the queue;
 * - blocks with a reference are never evicted;
 * - `cachedBlocks` walks the hashes to the first miss and caps the hit at `floor((n − 1) / B)`
 *   blocks: the last prompt token is always recomputed.
 *
 * Storage is typed arrays, the hash → block table included; no allocation per call except growing the
 * caller's block table. Synchronous; one instance per replica (nothing is shared between instances).
 */

import { BlockHashTable } from './block-hash-table.js';

const NONE = -1;

/** A request's block table: block ids in token order. Owned by the caller, filled by `KvCache`. */
export type BlockTable = number[];

export class KvCache {
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly #refCnt: Int32Array;
  readonly #hashOf: Float64Array;
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  readonly #byHash: BlockHashTable;
  #head = NONE;
  #tail = NONE;
  #free = 0;
  #evictions = 0;

  /** Throws `RangeError` unless both are positive integers. */
  constructor(numBlocks: number, blockSize: number) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks must be a positive integer, got ${numBlocks}`);
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.#refCnt = new Int32Array(numBlocks);
    this.#hashOf = new Float64Array(numBlocks).fill(NONE);
    this.#prev = new Int32Array(numBlocks);
    this.#next = new Int32Array(numBlocks);
    this.#byHash = new BlockHashTable(numBlocks);
    for (let b = 0; b < numBlocks; b++) this.#append(b);
  }

  /** Blocks not referenced by any request (cached-but-free blocks included, as in vLLM). */
  get freeBlocks(): number {
    return this.#free;
  }

  /** `vllm:kv_cache_usage_perc`: fraction of blocks referenced by requests, in [0, 1]. */
  get usage(): number {
    return 1 - this.#free / this.numBlocks;
  }

  /** Blocks whose hash was forgotten because the block was reused. */
  get evictions(): number {
    return this.#evictions;
  }

  /** Blocks currently findable by hash. */
  get cachedBlockCount(): number {
    return this.#byHash.size;
  }

  /** Whether a block with hash `hash` is cached (referenced or free). */
  has(hash: number): boolean {
    return this.#byHash.has(hash);
  }

  /**
   * How many leading blocks of a prompt of `numTokens` tokens with block hashes `hashes` are
   * cached: stops at the first miss, at most `floor((numTokens − 1) / blockSize)`. Pure.
   */
  cachedBlocks(hashes: ArrayLike<number>, numTokens: number): number {
    const max = Math.min(hashes.length, Math.floor((numTokens - 1) / this.blockSize));
    let i = 0;
    while (i < max && this.#byHash.has(hashes[i] ?? NONE)) i++;
    return i;
  }

  /**
   * Makes `table` cover `totalTokens` tokens. When `table` is empty, its first `cached` blocks are
   * taken from the cache (`cached` ≤ what `cachedBlocks` just returned for `hashes`); the rest are
   * fresh blocks popped from the free queue (evicting their old hashes). All or nothing: returns
   * false, changing nothing, when there are not enough free blocks.
   */
  allocate(table: BlockTable, hashes: ArrayLike<number>, cached: number, totalTokens: number): boolean {
    const needed = Math.ceil(totalTokens / this.blockSize);
    const hits = table.length === 0 ? cached : 0;
    const fresh = needed - table.length - hits;
    if (fresh <= 0 && hits === 0) return true;
    let touchedFree = 0;
    for (let i = 0; i < hits; i++) {
      const b = this.#byHash.get(hashes[i] ?? NONE);
      if (b === undefined) throw new Error(`block ${i} is not cached`);
      if (this.#refCnt[b] === 0) touchedFree++;
    }
    if (touchedFree + Math.max(0, fresh) > this.#free) return false;
    for (let i = 0; i < hits; i++) {
      const b = this.#byHash.get(hashes[i] ?? NONE) ?? NONE;
      if (this.#refCnt[b] === 0) this.#unlink(b);
      this.#refCnt[b] = (this.#refCnt[b] ?? 0) + 1;
      table.push(b);
    }
    for (let i = 0; i < fresh; i++) {
      const b = this.#head;
      this.#unlink(b);
      const h = this.#hashOf[b] ?? NONE;
      if (h !== NONE) {
        if (this.#byHash.get(h) === b) this.#byHash.delete(h);
        this.#hashOf[b] = NONE;
        this.#evictions++;
      }
      this.#refCnt[b] = 1;
      table.push(b);
    }
    return true;
  }

  /**
   * Registers `hashes[from … to−1]` for the table's blocks at those positions (full, computed prompt
   * blocks). A hash already cached in another block keeps that block (vLLM allows duplicates; the
   * first stays the one found).
   */
  registerHashes(table: BlockTable, hashes: ArrayLike<number>, from: number, to: number): void {
    const end = Math.min(to, table.length, hashes.length);
    for (let i = from; i < end; i++) {
      const b = table[i] ?? NONE;
      const h = hashes[i] ?? NONE;
      if (b === NONE || h === NONE || this.#hashOf[b] !== NONE || this.#byHash.has(h)) continue;
      this.#hashOf[b] = h;
      this.#byHash.set(h, b);
    }
  }

  /** Drops the table's references (tail first, so tails are evicted first) and empties it. */
  release(table: BlockTable): void {
    for (let i = table.length - 1; i >= 0; i--) {
      const b = table[i] ?? NONE;
      const r = (this.#refCnt[b] ?? 0) - 1;
      this.#refCnt[b] = r;
      if (r === 0) this.#append(b);
    }
    table.length = 0;
  }

  /** Forgets every hash of an unreferenced block (vLLM `reset_prefix_cache`). */
  resetPrefixCache(): void {
    for (let b = this.#head; b !== NONE; b = this.#next[b] ?? NONE) {
      const h = this.#hashOf[b] ?? NONE;
      if (h !== NONE && this.#byHash.get(h) === b) this.#byHash.delete(h);
      this.#hashOf[b] = NONE;
    }
  }

  #append(b: number): void {
    this.#prev[b] = this.#tail;
    this.#next[b] = NONE;
    if (this.#tail === NONE) this.#head = b;
    else this.#next[this.#tail] = b;
    this.#tail = b;
    this.#free++;
  }

  #unlink(b: number): void {
    const p = this.#prev[b] ?? NONE;
    const n = this.#next[b] ?? NONE;
    if (p === NONE) this.#head = n;
    else this.#next[p] = n;
    if (n === NONE) this.#tail = p;
    else this.#prev[n] = p;
    this.#free--;
  }
}
