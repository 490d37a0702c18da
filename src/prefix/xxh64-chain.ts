/**
 * Chained XXH64 (seed 0) over a whole prompt in one WebAssembly call: the block hasher's inner loop
 * (block-hasher.ts) without a JS → WebAssembly crossing, a copy and two BigInts per block.
 *
 * The module is assembled from the listing below when this module is imported, and owns one linear
 * memory that callers lay out:
 *
 *     chain(seedAt, seedLen, src, len, blockBytes, out) → n = ⌈len / blockBytes⌉
 *       h₀ = XXH64(mem[seedAt, seedAt + seedLen))
 *       hᵢ = XXH64(chunkᵢ ‖ LE64(hᵢ₋₁))    chunkᵢ = mem[src + (i−1)·blockBytes, min(src + i·blockBytes, src + len))
 *       mem[out + 8(i−1), out + 8i) = LE64(hᵢ)
 *
 * Each chunk borrows the 8 bytes after it for LE64(hᵢ₋₁) and puts them back, so `src + len + 8` must
 * lie within the memory. `len` and `blockBytes` must be positive. Synchronous; not re-entrant.
 */
import { assembleModule, i32, i64, instantiate, mem, op, type, type WasmFunction, type WasmMemory } from '../util/wasm-assembler.js';

const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

const { localGet: GET, localSet: SET, localTee: TEE } = op;

// xxh64(p, len): parameters, then locals.
const P = 0, LEN = 1, END = 2, LIMIT = 3, V1 = 4, V2 = 5, V3 = 6, V4 = 7, H = 8;

/** v ← rotl(v + lane·P2, 31)·P1, for the 8-byte lane at p + offset. */
const round = (v: number, offset: number): number[] => [
  GET, v, GET, P, ...mem(op.i64Load, offset), ...i64(P2), op.i64Mul, op.i64Add, ...i64(31n), op.i64Rotl, ...i64(P1), op.i64Mul, SET, v,
];
/** h ← (h ⊕ rotl(v·P2, 31)·P1)·P1 + P4. */
const merge = (v: number): number[] => [
  GET, H, GET, v, ...i64(P2), op.i64Mul, ...i64(31n), op.i64Rotl, ...i64(P1), op.i64Mul, op.i64Xor, ...i64(P1), op.i64Mul, ...i64(P4), op.i64Add, SET, H,
];

const xxh64: WasmFunction = {
  params: [type.i32, type.i32],
  results: [type.i64],
  locals: [[2, type.i32], [5, type.i64]],
  body: [
    GET, P, GET, LEN, op.i32Add, SET, END,
    GET, LEN, ...i32(32), op.i32GeU,
    op.if, type.void,
    ...i64(P1 + P2), SET, V1,
    ...i64(P2), SET, V2,
    ...i64(0n), SET, V3,
    ...i64(-P1), SET, V4,
    GET, END, ...i32(32), op.i32Sub, SET, LIMIT,
    // 32-byte stripes while p ≤ end − 32
    op.loop, type.void,
    ...round(V1, 0), ...round(V2, 8), ...round(V3, 16), ...round(V4, 24),
    GET, P, ...i32(32), op.i32Add, TEE, P, GET, LIMIT, op.i32LeU, op.brIf, 0,
    op.end,
    GET, V1, ...i64(1n), op.i64Rotl,
    GET, V2, ...i64(7n), op.i64Rotl, op.i64Add,
    GET, V3, ...i64(12n), op.i64Rotl, op.i64Add,
    GET, V4, ...i64(18n), op.i64Rotl, op.i64Add,
    SET, H,
    ...merge(V1), ...merge(V2), ...merge(V3), ...merge(V4),
    op.else,
    ...i64(P5), SET, H,
    op.end,
    GET, H, GET, LEN, op.i64ExtendI32U, op.i64Add, SET, H,
    // 8-byte lanes while p + 8 ≤ end: h ← rotl(h ⊕ rotl(lane·P2, 31)·P1, 27)·P1 + P4
    op.block, type.void, op.loop, type.void,
    GET, P, ...i32(8), op.i32Add, GET, END, op.i32GtU, op.brIf, 1,
    GET, H, GET, P, ...mem(op.i64Load), ...i64(P2), op.i64Mul, ...i64(31n), op.i64Rotl, ...i64(P1), op.i64Mul, op.i64Xor,
    ...i64(27n), op.i64Rotl, ...i64(P1), op.i64Mul, ...i64(P4), op.i64Add, SET, H,
    GET, P, ...i32(8), op.i32Add, SET, P,
    op.br, 0,
    op.end, op.end,
    // one 4-byte lane if p + 4 ≤ end: h ← rotl(h ⊕ u32·P1, 23)·P2 + P3
    GET, P, ...i32(4), op.i32Add, GET, END, op.i32LeU,
    op.if, type.void,
    GET, H, GET, P, ...mem(op.i64Load32U), ...i64(P1), op.i64Mul, op.i64Xor, ...i64(23n), op.i64Rotl, ...i64(P2), op.i64Mul, ...i64(P3), op.i64Add, SET, H,
    GET, P, ...i32(4), op.i32Add, SET, P,
    op.end,
    // bytes while p < end: h ← rotl(h ⊕ byte·P5, 11)·P1
    op.block, type.void, op.loop, type.void,
    GET, P, GET, END, op.i32GeU, op.brIf, 1,
    GET, H, GET, P, ...mem(op.i64Load8U), ...i64(P5), op.i64Mul, op.i64Xor, ...i64(11n), op.i64Rotl, ...i64(P1), op.i64Mul, SET, H,
    GET, P, ...i32(1), op.i32Add, SET, P,
    op.br, 0,
    op.end, op.end,
    // avalanche
    GET, H, GET, H, ...i64(33n), op.i64ShrU, op.i64Xor, ...i64(P2), op.i64Mul, TEE, H,
    GET, H, ...i64(29n), op.i64ShrU, op.i64Xor, ...i64(P3), op.i64Mul, TEE, H,
    GET, H, ...i64(32n), op.i64ShrU, op.i64Xor,
    op.end,
  ],
};

// chain(seedAt, seedLen, src, len, blockBytes, out): parameters, then locals.
const SEED = 0, SEED_LEN = 1, SRC = 2, CLEN = 3, BLOCK_BYTES = 4, OUT = 5, CH = 6, START = 7, CEND = 8, SAVE = 9, N = 10;

const chain: WasmFunction = {
  export: 'chain',
  params: [type.i32, type.i32, type.i32, type.i32, type.i32, type.i32],
  results: [type.i32],
  locals: [[1, type.i64], [2, type.i32], [1, type.i64], [1, type.i32]],
  body: [
    GET, SEED, GET, SEED_LEN, op.call, 0, SET, CH,
    op.block, type.void, op.loop, type.void,
    GET, START, GET, CLEN, op.i32GeU, op.brIf, 1,
    // end = min(start + blockBytes, len)
    GET, START, GET, BLOCK_BYTES, op.i32Add, TEE, CEND, GET, CLEN, GET, CEND, GET, CLEN, op.i32LtU, op.select, SET, CEND,
    // borrow the 8 bytes after the chunk for LE64(h), hash, put them back
    GET, SRC, GET, CEND, op.i32Add, ...mem(op.i64Load), SET, SAVE,
    GET, SRC, GET, CEND, op.i32Add, GET, CH, ...mem(op.i64Store),
    GET, SRC, GET, START, op.i32Add, GET, CEND, GET, START, op.i32Sub, ...i32(8), op.i32Add, op.call, 0, SET, CH,
    GET, SRC, GET, CEND, op.i32Add, GET, SAVE, ...mem(op.i64Store),
    GET, OUT, GET, N, ...i32(3), op.i32Shl, op.i32Add, GET, CH, ...mem(op.i64Store),
    GET, N, ...i32(1), op.i32Add, SET, N,
    GET, CEND, SET, START,
    op.br, 0,
    op.end, op.end,
    GET, N,
    op.end,
  ],
};

interface ChainExports {
  readonly memory: WasmMemory;
  readonly chain: (seedAt: number, seedLen: number, src: number, len: number, blockBytes: number, out: number) => number;
}

const instance = instantiate(assembleModule([xxh64, chain], 1)) as ChainExports;

/** The chain function of the module doc. */
export const xxh64Chain = instance.chain;

/** The linear memory `xxh64Chain` reads and writes; `grow` replaces its buffer. */
export const xxh64ChainMemory = instance.memory;
