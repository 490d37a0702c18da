/**
 * Just enough of the WebAssembly binary format to write small hot loops from an instruction listing in
 * TypeScript (no toolchain, no binary blob in the tree): opcodes, LEB128 immediates, and a module of
 * functions over one exported linear memory. Used by the prefix hasher and the request body scanner.
 */

/** Opcodes used by the modules here (WebAssembly 1.0). */
export const op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f, call: 0x10, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load8U: 0x2d, i64Load: 0x29, i64Load8U: 0x31, i64Load32U: 0x35, i64Store: 0x37,
  i32Const: 0x41, i64Const: 0x42,
  i32Eq: 0x46, i32LtU: 0x49, i32GtU: 0x4b, i32LeU: 0x4d, i32GeU: 0x4f,
  i32Ctz: 0x68, i32Add: 0x6a, i32Sub: 0x6b, i32Or: 0x72, i32Shl: 0x74,
  i64Add: 0x7c, i64Mul: 0x7e, i64Xor: 0x85, i64ShrU: 0x88, i64Rotl: 0x89, i64ExtendI32U: 0xad,
} as const;

/** SIMD (128-bit) opcodes, each emitted after the 0xfd prefix. */
export const simd = { v128Load: 0x00, v128Const: 0x0c, i8x16Eq: 0x23, i8x16LtU: 0x26, v128Or: 0x50, i8x16Bitmask: 0x64 } as const;

/** Value and block types. */
export const type = { void: 0x40, i32: 0x7f, i64: 0x7e, v128: 0x7b } as const;

/** Unsigned LEB128 of `n` (a u32). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of `v`. */
export function sleb(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** `i32.const v`. */
export const i32 = (v: number): number[] => [op.i32Const, ...sleb(BigInt(v | 0))];
/** `i64.const v`, v taken modulo 2⁶⁴. */
export const i64 = (v: bigint): number[] => [op.i64Const, ...sleb(BigInt.asIntN(64, v))];
/** A load or store with alignment hint 0 (the inputs are unaligned) and `offset`. */
export const mem = (opcode: number, offset = 0): number[] => [opcode, 0, ...uleb(offset)];
/** A SIMD instruction. */
export const v128 = (opcode: number, ...immediates: number[]): number[] => [0xfd, ...uleb(opcode), ...immediates];

/** One function of a module. */
export interface WasmFunction {
  readonly params: readonly number[];
  readonly results: readonly number[];
  /** Locals after the parameters, in groups of one type. */
  readonly locals: readonly (readonly [count: number, type: number])[];
  /** The instructions, ending with `end`. */
  readonly body: readonly number[];
  /** Export name, if exported. */
  readonly export?: string;
}

function section(id: number, content: readonly number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vec(items: readonly (readonly number[])[]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

/** A module's exported linear memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  /** Adds `pages` 64 KiB pages; the old `buffer` is detached. */
  grow(pages: number): number;
}

interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: unknown };
}

// The project's lib (ES2023, no DOM) declares no WebAssembly API; Node has it.
const wasm = (globalThis as unknown as { readonly WebAssembly: WasmApi }).WebAssembly;

/** Compiles and instantiates `bytes` (synchronously: the modules here are small) and returns its exports. */
export function instantiate(bytes: Uint8Array): unknown {
  return new wasm.Instance(new wasm.Module(bytes)).exports;
}

/** A module of `functions` (called by their index) with one memory of `pages` 64 KiB pages, exported as `memory`. */
export function assembleModule(functions: readonly WasmFunction[], pages: number): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const exports = [[...name('memory'), 0x02, 0], ...functions.flatMap((f, i) => (f.export === undefined ? [] : [[...name(f.export), 0x00, ...uleb(i)]]))];
  const codes = functions.map((f) => {
    const content = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.body];
    return [...uleb(content.length), ...content];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(7, vec(exports)),
    ...section(10, vec(codes)),
  ]);
}
