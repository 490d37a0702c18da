/**
 * The approximate prefix-cache index (reference §5.4): which endpoints are believed to hold which
 * prompt blocks. One entry per (block hash, endpoint) pair, reached three ways:
 *
 * - per endpoint, an LRU of the block hashes routed to it, bounded by a capacity (the endpoint's
 *   `num_gpu_blocks` or a configured default); inserting into a full LRU evicts its least recently
 *   used entry, which is also what removes that endpoint from the hash's holders;
 * - per (hash, endpoint), a hash table: "does endpoint e hold block h" is one probe;
 * - per first-block hash, the endpoints holding it (the "root chain"), which is where a match starts.
 *
 * Storage is typed arrays only, so the GC has nothing per entry to trace: entries are 32-byte records
 * in one Int32Array (hash halves, endpoint slot, LRU and root-chain links: one cache line per entry),
 * found through open-addressing tables of (entry, key mix) slots (linear probing, load ≤ 1/2,
 * backward-shift deletion; the stored mix spares probes and deletions from reading entries). A large
 * index does not fit in cache, so the cost of an insert is its cache misses: about four for an
 * insert that evicts.
 * The reference's hash → set-of-endpoints map is kept for first blocks only (a prompt's block 0 is
 * 1/256 of its blocks): for every other block it would cost two more misses per insert and eviction,
 * and the match needs only probes past block 0 (see `match`). 40–80 bytes per block in all,
 * depending on where the arrays are in their growth (47 at 1 M blocks); a Map/Set + `lru-cache` port
 * of the reference's structure takes about 260 (bench/README.md, "prefix").
 *
 * Endpoints are keyed by object identity (an Endpoint object is stable while the endpoint is
 * unchanged); `removeEndpoint` / `retainOnly` drop endpoints that left the pool, and the storage
 * shrinks once it is less than a quarter used. Synchronous, not re-entrant; no allocation per call
 * except when the storage grows.
 */
import type { Endpoint } from '../datastore/endpoint.js';
import { HASH_WORDS } from './block-hasher.js';

const EMPTY = -1;
const MIN_ENTRIES = 1024;
/** Table slots (each two int32: entry number, key mix). */
const MIN_TABLE = 2048;
const MIN_SLOTS = 16;

// Entry record: STRIDE int32 words at e·STRIDE; hash halves are stored as int32 (`| 0`).
const STRIDE = 8;
const LO = 0;
const HI = 1;
const SLOT = 2;
/** Towards the LRU head (more recently used). */
const L_PREV = 3;
const L_NEXT = 4;
/** Root chain (entries holding a prompt's block 0, by hash): links, and 1 when the entry is in one. */
const R_PREV = 5;
const R_NEXT = 6;
const ROOT = 7;

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

// Block hashes are XXH64 output and already uniform; the mix spreads (hash, endpoint) pairs and
// protects the table against structured keys (hand-made test hashes, another hash function later).
function mixPair(lo: number, hi: number, slot: number): number {
  let h = Math.imul(lo ^ Math.imul(hi ^ Math.imul(slot + 1, 0x27d4eb2f), 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  return Math.imul(h, 0xc2b2ae35) ^ (h >>> 13);
}

function mixHash(lo: number, hi: number): number {
  return mixPair(lo, hi, -1);
}

function filledInt32(length: number): Int32Array<ArrayBuffer> {
  return new Int32Array(length).fill(EMPTY);
}

/** An empty table of `slots` slots: [entry, mix] pairs, entry EMPTY when free. */
function newTable(slots: number): Int32Array<ArrayBuffer> {
  return filledInt32(slots * 2);
}

function grownInt32(a: Int32Array, length: number, fill: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(length);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

/** Empties slot `pos` of `table`, shifting later slots of its probe run back so lookups stay correct. */
function deleteAt(table: Int32Array, pos: number): void {
  const mask = (table.length >>> 1) - 1;
  let hole = pos;
  let j = pos;
  table[2 * hole] = EMPTY;
  for (;;) {
    j = (j + 1) & mask;
    const e = table[2 * j] as number;
    if (e === EMPTY) return;
    const home = (table[2 * j + 1] as number) & mask;
    // The slot at j may fill the hole unless its home lies cyclically in (hole, j].
    if (hole <= j ? hole < home && home <= j : hole < home || home <= j) continue;
    table[2 * hole] = e;
    table[2 * hole + 1] = table[2 * j + 1] as number;
    table[2 * j] = EMPTY;
    hole = j;
  }
}

/** `table` re-laid into a new table of `slots` slots (keys are placed by their stored mix). */
function rehash(table: Int32Array, slots: number): Int32Array<ArrayBuffer> {
  const out = newTable(slots);
  const mask = slots - 1;
  for (let i = 0; i < table.length; i += 2) {
    const e = table[i] as number;
    if (e === EMPTY) continue;
    const mix = table[i + 1] as number;
    let pos = mix & mask;
    while (out[2 * pos] !== EMPTY) pos = (pos + 1) & mask;
    out[2 * pos] = e;
    out[2 * pos + 1] = mix;
  }
  return out;
}

export class PrefixIndex {
  // Endpoints ("slots").
  readonly #slotOf = new Map<Endpoint, number>();
  readonly #slotEndpoint: (Endpoint | undefined)[] = [];
  readonly #freeSlots: number[] = [];
  #slotHead = filledInt32(MIN_SLOTS);
  #slotTail = filledInt32(MIN_SLOTS);
  #slotSize = new Int32Array(MIN_SLOTS);
  #slotCap = new Int32Array(MIN_SLOTS);

  #e = new Int32Array(MIN_ENTRIES * STRIDE);
  #entryTop = 0;
  #freeEntry = EMPTY;
  #live = 0;

  /** (hash, slot) → entry. */
  #table = newTable(MIN_TABLE);
  /** First-block hash → head of its root chain. */
  #roots = newTable(MIN_TABLE);
  #rootCount = 0;

  // Match scratch: which slots are candidates of the running match, and their results.
  #slotStamp = new Int32Array(MIN_SLOTS);
  #slotCount = new Int32Array(MIN_SLOTS);
  #stamp = 0;
  #candidateSlots = new Int32Array(64);
  /** `add` scratch: the key mixes of the blocks being added (and, past them, what `#prefetch` read). */
  #mixes = new Int32Array(256);

  /** Entries (block, endpoint) in the index: the sum of every endpoint's LRU size. */
  get size(): number {
    return this.#live;
  }

  /** Endpoints with an LRU in the index. */
  get endpointCount(): number {
    return this.#slotOf.size;
  }

  /** Bytes of typed-array storage currently allocated (entries, table, per-endpoint arrays). */
  get allocatedBytes(): number {
    return (this.#e.length + this.#table.length + this.#roots.length + this.#slotHead.length * 6 + this.#candidateSlots.length) * 4;
  }

  /** The endpoints that have an LRU in the index. */
  endpoints(): Endpoint[] {
    return [...this.#slotOf.keys()];
  }

  /** Entries in `endpoint`'s LRU (0 if it has none). */
  sizeOf(endpoint: Endpoint): number {
    const slot = this.#slotOf.get(endpoint);
    return slot === undefined ? 0 : (this.#slotSize[slot] as number);
  }

  /** Capacity of `endpoint`'s LRU (0 if it has none). */
  capacityOf(endpoint: Endpoint): number {
    const slot = this.#slotOf.get(endpoint);
    return slot === undefined ? 0 : (this.#slotCap[slot] as number);
  }

  /** True when `endpoint` holds block `i` of `hashes`. */
  holds(endpoint: Endpoint, hashes: Uint32Array, i: number): boolean {
    const slot = this.#slotOf.get(endpoint);
    return slot !== undefined && this.#holds(hashes, i, slot);
  }

  /** The endpoints holding block `i` of `hashes` (one probe per endpoint in the index; for tests and tools). */
  holders(hashes: Uint32Array, i: number): Endpoint[] {
    const out: Endpoint[] = [];
    for (const [endpoint, slot] of this.#slotOf) if (this.#holds(hashes, i, slot)) out.push(endpoint);
    return out;
  }

  /**
   * Greedy longest-prefix match (reference §5.4 step 5, restricted to the candidates): writes into
   * `out[i]` how many leading blocks of `hashes` candidate i holds (`out` must have room for every
   * candidate) and returns the longest of them — the depth at which the reference's walk stops, the
   * first block no candidate holds.
   *
   * `hashes` must be chained (block i's hash determines blocks 0…i−1, as BlockHasher's are). Then the
   * blocks of a prompt that one endpoint holds always form a prefix of it: `add` touches a prompt's
   * blocks last to first, so a block is never less recently used than any block after it, and the
   * LRU drops descendants before ancestors. On prefix-closed sets the reference's walk (every holder
   * of a visited block gets +1) gives each candidate exactly its own longest prefix. So the match
   * takes block 0's holders from its root chain and, for each that is a candidate, probes the last
   * block or binary-searches the first block it lacks: one probe for a prompt nobody holds, and
   * O(H₀ · log blocks) probes otherwise, where the walk costs O(Σ holders over the matched blocks) —
   * 65,536 holder visits when 256 endpoints all hold a 256-block prompt.
   */
  match(hashes: Uint32Array, candidates: readonly Endpoint[], out: Int32Array): number {
    const n = candidates.length;
    out.fill(0, 0, n);
    const blocks = hashes.length >>> 1;
    if (blocks === 0 || this.#rootCount === 0 || n === 0) return 0;
    const lo0 = (hashes[0] as number) | 0;
    const hi0 = (hashes[1] as number) | 0;
    const root = this.#findRoot(lo0, hi0, mixHash(lo0, hi0));
    if (root < 0) return 0;
    if (this.#candidateSlots.length < n) this.#candidateSlots = new Int32Array(nextPow2(n));
    const candidateSlots = this.#candidateSlots;
    const stampOf = this.#slotStamp;
    const count = this.#slotCount;
    if (this.#stamp === 0x7fffffff) {
      stampOf.fill(0);
      this.#stamp = 0;
    }
    const stamp = ++this.#stamp;
    for (let i = 0; i < n; i++) {
      const slot = this.#slotOf.get(candidates[i] as Endpoint);
      if (slot === undefined) {
        candidateSlots[i] = EMPTY;
      } else {
        candidateSlots[i] = slot;
        stampOf[slot] = stamp;
        count[slot] = 0;
      }
    }
    const m = this.#e;
    let depth = 0;
    for (let e = this.#roots[2 * root] as number; e !== EMPTY; e = m[e * STRIDE + R_NEXT] as number) {
      const slot = m[e * STRIDE + SLOT] as number;
      if (stampOf[slot] !== stamp) continue;
      let held: number;
      if (this.#holds(hashes, blocks - 1, slot)) {
        held = blocks;
      } else {
        // Blocks [0, lo) are held, block hi is not: find the first block not held.
        let lo = 1;
        let hi = blocks - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (this.#holds(hashes, mid, slot)) lo = mid + 1;
          else hi = mid;
        }
        held = lo;
      }
      count[slot] = held;
      if (held > depth) depth = held;
    }
    if (depth > 0) {
      for (let i = 0; i < n; i++) {
        const slot = candidateSlots[i] as number;
        if (slot !== EMPTY) out[i] = count[slot] as number;
      }
    }
    return depth;
  }

  /**
   * Records that `endpoint` now holds every block of `hashes`. Blocks are touched last to first, so
   * block 0 ends most recently used: an LRU under pressure drops a prompt's tail before its head (as
   * vLLM evicts a freed request's blocks tail first) and the blocks of a prompt held by one endpoint
   * stay a prefix of it, which `match` relies on. The reference touches them first to last, so its
   * LRUs drop a prompt's head first and keep unusable tails. `capacity` (≥ 1) bounds the endpoint's
   * LRU and may change between calls: a smaller one evicts down to it at once.
   */
  add(endpoint: Endpoint, hashes: Uint32Array, capacity: number): void {
    const blocks = hashes.length >>> 1;
    const cap = Math.max(1, Math.floor(capacity));
    let slot = this.#slotOf.get(endpoint);
    if (slot === undefined) {
      if (blocks === 0) return;
      slot = this.#newSlot(endpoint, cap);
    } else if (this.#slotCap[slot] !== cap) {
      this.#slotCap[slot] = cap;
      while ((this.#slotSize[slot] as number) > cap) this.#freeEntryAt(this.#evict(slot, this.#slotTail[slot] as number));
    }
    const mixes = this.#prefetch(hashes, blocks, slot, cap);
    // The loop below is `#find`, `#evict`, `#linkFront` and `#insert` written out over locals: it runs
    // for every block of every routed prompt. The per-slot arrays are only replaced by `#newSlot`;
    // the entries and the table are re-read after anything that may grow them.
    const head = this.#slotHead;
    const tail = this.#slotTail;
    const size = this.#slotSize;
    let m = this.#e;
    let table = this.#table;
    let mask = (table.length >>> 1) - 1;
    for (let i = blocks - 1; i >= 0; i--) {
      const lo = (hashes[i * HASH_WORDS] as number) | 0;
      const hi = (hashes[i * HASH_WORDS + 1] as number) | 0;
      const mix = mixes[i] as number;
      let pos = mix & mask;
      let found = EMPTY;
      for (;;) {
        const f = table[2 * pos] as number;
        if (f === EMPTY) break;
        if (table[2 * pos + 1] === mix) {
          const b = f * STRIDE;
          if (m[b + LO] === lo && m[b + HI] === hi && m[b + SLOT] === slot) {
            found = f;
            break;
          }
        }
        pos = (pos + 1) & mask;
      }
      if (found !== EMPTY) {
        if (head[slot] !== found) {
          this.#unlinkLru(slot, found);
          this.#linkFront(slot, found);
        }
        continue;
      }
      let e: number;
      if ((size[slot] as number) >= cap) {
        // Evict the least recently used entry and reuse its record.
        e = tail[slot] as number;
        const b = e * STRIDE;
        const prev = m[b + L_PREV] as number;
        tail[slot] = prev;
        if (prev !== EMPTY) m[prev * STRIDE + L_NEXT] = EMPTY;
        else head[slot] = EMPTY;
        this.#deleteKey(m[b + LO] as number, m[b + HI] as number, slot, e);
        if (m[b + ROOT] === 1) this.#unlinkRoot(e);
      } else {
        e = this.#allocEntry();
        m = this.#e;
        size[slot] = (size[slot] as number) + 1;
        this.#live++;
        if (this.#live * 4 > table.length) {
          this.#table = rehash(table, table.length);
          table = this.#table;
          mask = (table.length >>> 1) - 1;
        }
      }
      const b = e * STRIDE;
      m[b + LO] = lo;
      m[b + HI] = hi;
      m[b + SLOT] = slot;
      // Link at the front of the LRU.
      const first = head[slot] as number;
      m[b + L_PREV] = EMPTY;
      m[b + L_NEXT] = first;
      if (first !== EMPTY) m[first * STRIDE + L_PREV] = e;
      else tail[slot] = e;
      head[slot] = e;
      // Into the table: the first free slot from its home (an eviction may have freed one earlier).
      pos = mix & mask;
      while (table[2 * pos] !== EMPTY) pos = (pos + 1) & mask;
      table[2 * pos] = e;
      table[2 * pos + 1] = mix;
      if (i === 0) this.#linkRoot(e, lo, hi);
      else m[b + ROOT] = 0;
    }
  }

  /**
   * Computes the blocks' key mixes into a scratch array and reads the table slots `add` is about to
   * probe — each block's home, and the home of each entry it may evict — in one tight loop. In a large
   * index each is a cache miss; issued together they overlap, where the insert loop would wait for
   * them one at a time.
   */
  #prefetch(hashes: Uint32Array, blocks: number, slot: number, cap: number): Int32Array {
    if (this.#mixes.length <= blocks) this.#mixes = new Int32Array(nextPow2(blocks + 1));
    const mixes = this.#mixes;
    const table = this.#table;
    const mask = (table.length >>> 1) - 1;
    let sink = 0;
    for (let i = 0; i < blocks; i++) {
      const mix = mixPair((hashes[i * HASH_WORDS] as number) | 0, (hashes[i * HASH_WORDS + 1] as number) | 0, slot);
      mixes[i] = mix;
      sink ^= table[2 * (mix & mask)] as number;
    }
    const m = this.#e;
    let e = this.#slotTail[slot] as number;
    for (let k = Math.min(blocks, (this.#slotSize[slot] as number) + blocks - cap); k > 0 && e !== EMPTY; k--) {
      sink ^= table[2 * (mixPair(m[e * STRIDE + LO] as number, m[e * STRIDE + HI] as number, slot) & mask)] as number;
      e = m[e * STRIDE + L_PREV] as number;
    }
    // Stored so the reads are not optimised away.
    mixes[blocks] = sink;
    return mixes;
  }

  /** Drops `endpoint` and every entry it holds. Returns false if it had none. */
  removeEndpoint(endpoint: Endpoint): boolean {
    const slot = this.#slotOf.get(endpoint);
    if (slot === undefined) return false;
    let e = this.#slotHead[slot] as number;
    while (e !== EMPTY) {
      const next = this.#e[e * STRIDE + L_NEXT] as number;
      this.#delete(e, slot);
      if (this.#e[e * STRIDE + ROOT] === 1) this.#unlinkRoot(e);
      this.#freeEntryAt(e);
      e = next;
    }
    this.#live -= this.#slotSize[slot] as number;
    this.#slotHead[slot] = EMPTY;
    this.#slotTail[slot] = EMPTY;
    this.#slotSize[slot] = 0;
    this.#slotCap[slot] = 0;
    this.#slotEndpoint[slot] = undefined;
    this.#slotOf.delete(endpoint);
    this.#freeSlots.push(slot);
    this.#shrinkIfSparse();
    return true;
  }

  /** Drops every endpoint not in `endpoints` (e.g. the pool after a discovery change). Returns how many. */
  retainOnly(endpoints: Iterable<Endpoint>): number {
    const keep = new Set(endpoints);
    let removed = 0;
    for (const e of [...this.#slotOf.keys()]) {
      if (!keep.has(e) && this.removeEndpoint(e)) removed++;
    }
    return removed;
  }

  /** Drops everything and returns the storage to its initial size. */
  clear(): void {
    for (const e of [...this.#slotOf.keys()]) this.removeEndpoint(e);
    this.#rebuild(MIN_ENTRIES);
  }

  // ---- endpoints

  #newSlot(endpoint: Endpoint, cap: number): number {
    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      slot = this.#slotEndpoint.length;
      this.#slotEndpoint.push(undefined);
      if (slot >= this.#slotHead.length) {
        const n = this.#slotHead.length * 2;
        this.#slotHead = grownInt32(this.#slotHead, n, EMPTY);
        this.#slotTail = grownInt32(this.#slotTail, n, EMPTY);
        this.#slotSize = grownInt32(this.#slotSize, n, 0);
        this.#slotCap = grownInt32(this.#slotCap, n, 0);
        this.#slotStamp = grownInt32(this.#slotStamp, n, 0);
        this.#slotCount = grownInt32(this.#slotCount, n, 0);
      }
    }
    this.#slotEndpoint[slot] = endpoint;
    this.#slotOf.set(endpoint, slot);
    this.#slotHead[slot] = EMPTY;
    this.#slotTail[slot] = EMPTY;
    this.#slotSize[slot] = 0;
    this.#slotCap[slot] = cap;
    this.#slotStamp[slot] = 0;
    return slot;
  }

  // ---- entries and LRU lists

  #allocEntry(): number {
    const free = this.#freeEntry;
    if (free !== EMPTY) {
      this.#freeEntry = this.#e[free * STRIDE + L_NEXT] as number;
      return free;
    }
    if (this.#entryTop * STRIDE === this.#e.length) {
      // 1.5×, not 2×: entries are most of the memory, and a copy now and then is cheap.
      const grown = new Int32Array(Math.ceil(this.#entryTop * 1.5) * STRIDE);
      grown.set(this.#e);
      this.#e = grown;
    }
    return this.#entryTop++;
  }

  #freeEntryAt(e: number): void {
    const m = this.#e;
    m[e * STRIDE + SLOT] = EMPTY;
    m[e * STRIDE + L_NEXT] = this.#freeEntry;
    this.#freeEntry = e;
  }

  #linkFront(slot: number, e: number): void {
    const m = this.#e;
    const head = this.#slotHead[slot] as number;
    m[e * STRIDE + L_PREV] = EMPTY;
    m[e * STRIDE + L_NEXT] = head;
    if (head !== EMPTY) m[head * STRIDE + L_PREV] = e;
    else this.#slotTail[slot] = e;
    this.#slotHead[slot] = e;
    this.#slotSize[slot] = (this.#slotSize[slot] as number) + 1;
  }

  #unlinkLru(slot: number, e: number): void {
    const m = this.#e;
    const prev = m[e * STRIDE + L_PREV] as number;
    const next = m[e * STRIDE + L_NEXT] as number;
    if (prev !== EMPTY) m[prev * STRIDE + L_NEXT] = next;
    else this.#slotHead[slot] = next;
    if (next !== EMPTY) m[next * STRIDE + L_PREV] = prev;
    else this.#slotTail[slot] = prev;
    this.#slotSize[slot] = (this.#slotSize[slot] as number) - 1;
  }

  /** Unlinks entry `e` of `slot` from its LRU and the table; returns it for reuse. */
  #evict(slot: number, e: number): number {
    this.#unlinkLru(slot, e);
    this.#delete(e, slot);
    if (this.#e[e * STRIDE + ROOT] === 1) this.#unlinkRoot(e);
    this.#live--;
    return e;
  }

  // ---- first-block hash → root chain

  /** The roots-table slot of hash (lo, hi) whose mix is `mix`, or −1 − (the free slot where it would go). */
  #findRoot(lo: number, hi: number, mix: number): number {
    const table = this.#roots;
    const m = this.#e;
    const mask = (table.length >>> 1) - 1;
    let pos = mix & mask;
    for (;;) {
      const e = table[2 * pos] as number;
      if (e === EMPTY) return -1 - pos;
      if (table[2 * pos + 1] === mix && m[e * STRIDE + LO] === lo && m[e * STRIDE + HI] === hi) return pos;
      pos = (pos + 1) & mask;
    }
  }

  #linkRoot(e: number, lo: number, hi: number): void {
    if ((this.#rootCount + 1) * 4 > this.#roots.length) this.#roots = rehash(this.#roots, this.#roots.length);
    const m = this.#e;
    const mix = mixHash(lo, hi);
    const pos = this.#findRoot(lo, hi, mix);
    m[e * STRIDE + ROOT] = 1;
    m[e * STRIDE + R_PREV] = EMPTY;
    if (pos >= 0) {
      const head = this.#roots[2 * pos] as number;
      m[e * STRIDE + R_NEXT] = head;
      m[head * STRIDE + R_PREV] = e;
      this.#roots[2 * pos] = e;
    } else {
      m[e * STRIDE + R_NEXT] = EMPTY;
      this.#roots[2 * (-1 - pos)] = e;
      this.#roots[2 * (-1 - pos) + 1] = mix;
      this.#rootCount++;
    }
  }

  #unlinkRoot(e: number): void {
    const m = this.#e;
    m[e * STRIDE + ROOT] = 0;
    const prev = m[e * STRIDE + R_PREV] as number;
    const next = m[e * STRIDE + R_NEXT] as number;
    if (prev !== EMPTY) {
      m[prev * STRIDE + R_NEXT] = next;
      if (next !== EMPTY) m[next * STRIDE + R_PREV] = prev;
      return;
    }
    const lo = m[e * STRIDE + LO] as number;
    const hi = m[e * STRIDE + HI] as number;
    const pos = this.#findRoot(lo, hi, mixHash(lo, hi));
    if (next !== EMPTY) {
      m[next * STRIDE + R_PREV] = EMPTY;
      this.#roots[2 * pos] = next;
    } else {
      deleteAt(this.#roots, pos);
      this.#rootCount--;
    }
  }

  // ---- (hash, slot) → entry

  #holds(hashes: Uint32Array, i: number, slot: number): boolean {
    const lo = (hashes[i * HASH_WORDS] as number) | 0;
    const hi = (hashes[i * HASH_WORDS + 1] as number) | 0;
    return this.#find(lo, hi, slot, mixPair(lo, hi, slot)) >= 0;
  }

  /** The table slot of (lo, hi, slot) whose mix is `mix`, or −1 − (the free slot where it would go). */
  #find(lo: number, hi: number, slot: number, mix: number): number {
    const table = this.#table;
    const m = this.#e;
    const mask = (table.length >>> 1) - 1;
    let pos = mix & mask;
    for (;;) {
      const e = table[2 * pos] as number;
      if (e === EMPTY) return -1 - pos;
      if (table[2 * pos + 1] === mix) {
        const b = e * STRIDE;
        if (m[b + LO] === lo && m[b + HI] === hi && m[b + SLOT] === slot) return pos;
      }
      pos = (pos + 1) & mask;
    }
  }

  #insert(e: number, mix: number): void {
    if (this.#live * 4 > this.#table.length) this.#table = rehash(this.#table, this.#table.length);
    const table = this.#table;
    const mask = (table.length >>> 1) - 1;
    let pos = mix & mask;
    while (table[2 * pos] !== EMPTY) pos = (pos + 1) & mask;
    table[2 * pos] = e;
    table[2 * pos + 1] = mix;
  }

  /** Removes entry `e`, whose key is (lo, hi, slot), from the table. */
  #deleteKey(lo: number, hi: number, slot: number, e: number): void {
    const table = this.#table;
    const mask = (table.length >>> 1) - 1;
    let pos = mixPair(lo, hi, slot) & mask;
    for (;;) {
      const f = table[2 * pos] as number;
      if (f === e) break;
      if (f === EMPTY) return;
      pos = (pos + 1) & mask;
    }
    deleteAt(table, pos);
  }

  #delete(e: number, slot: number): void {
    const m = this.#e;
    this.#deleteKey(m[e * STRIDE + LO] as number, m[e * STRIDE + HI] as number, slot, e);
  }


  // ---- storage

  #shrinkIfSparse(): void {
    const capacity = this.#e.length / STRIDE;
    if (capacity > MIN_ENTRIES && this.#live * 4 < capacity) this.#rebuild(Math.max(MIN_ENTRIES, nextPow2(this.#live * 2)));
  }

  /** Re-lays every live entry densely into storage for `entryCapacity` entries, keeping LRU orders. */
  #rebuild(entryCapacity: number): void {
    const old = this.#e;
    const oldTails = this.#slotTail.slice();
    this.#e = new Int32Array(entryCapacity * STRIDE);
    this.#entryTop = 0;
    this.#freeEntry = EMPTY;
    this.#table = newTable(Math.max(MIN_TABLE, nextPow2(this.#live * 2 + 2)));
    this.#roots = newTable(Math.max(MIN_TABLE, nextPow2(this.#rootCount * 2 + 2)));
    this.#rootCount = 0;
    const live = this.#live;
    this.#live = 0;
    for (const slot of this.#slotOf.values()) {
      this.#slotHead[slot] = EMPTY;
      this.#slotTail[slot] = EMPTY;
      this.#slotSize[slot] = 0;
      // Oldest first, each pushed to the front: the LRU order comes out unchanged.
      for (let o = oldTails[slot] as number; o !== EMPTY; o = old[o * STRIDE + L_PREV] as number) {
        const e = this.#entryTop++;
        const m = this.#e;
        const lo = old[o * STRIDE + LO] as number;
        const hi = old[o * STRIDE + HI] as number;
        m[e * STRIDE + LO] = lo;
        m[e * STRIDE + HI] = hi;
        m[e * STRIDE + SLOT] = slot;
        this.#linkFront(slot, e);
        this.#live++;
        this.#insert(e, mixPair(lo, hi, slot));
        if (old[o * STRIDE + ROOT] === 1) this.#linkRoot(e, lo, hi);
        else m[e * STRIDE + ROOT] = 0;
      }
    }
    if (this.#live !== live) throw new Error(`prefix index rebuild lost entries (${live} → ${this.#live})`);
  }
}
