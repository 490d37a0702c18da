/**
 * HPACK's Huffman code (RFC 7541 Appendix B) and a decoder for it. The code is canonical, so the 257
 * code lengths below (symbols 0–255 and EOS) define it completely; the decoder is a table-driven
 * automaton over 4-bit nibbles built once at load: 256 states (the code tree's internal nodes) × 16
 * nibbles, each step emitting at most one symbol (no code is shorter than 5 bits).
 */

/** Code length in bits of symbols 0…255 and of EOS (256). */
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11,
  10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8,
  7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22,
  23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22,
  23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27,
  26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27,
  27, 27, 27, 26, 30,
];

const EOS = 256;

/** Canonical codes: symbols sorted by (length, symbol) get consecutive code values. */
function canonicalCodes(): { codes: Uint32Array; lengths: Uint8Array } {
  const lengths = Uint8Array.from(CODE_LENGTHS);
  const order = Array.from({ length: 257 }, (_, s) => s).sort((a, b) => (lengths[a] as number) - (lengths[b] as number) || a - b);
  const codes = new Uint32Array(257);
  let code = 0;
  let previous = 0;
  for (const s of order) {
    const len = lengths[s] as number;
    code = code * 2 ** (len - previous);
    previous = len;
    codes[s] = code;
    code++;
  }
  return { codes, lengths };
}

const { codes: CODES, lengths: LENGTHS } = canonicalCodes();

// Code tree: node 0 is the root; children[2n + bit] is a node index, or −1 − symbol for a leaf.
function buildTree(): Int32Array {
  const children = new Int32Array(2 * 256).fill(0);
  let nodes = 1;
  for (let s = 0; s <= EOS; s++) {
    const len = LENGTHS[s] as number;
    const code = CODES[s] as number;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) {
        children[slot] = -1 - s;
      } else {
        if (children[slot] === 0) children[slot] = nodes++;
        node = children[slot] as number;
      }
    }
  }
  return children;
}

// Automaton entry for (state, nibble): bits 0–7 next state, bit 8 "emits", bits 9–16 the symbol,
// bit 17 "accepting" (the bits read since the last symbol are a valid end padding: all ones, < 8
// bits), bit 18 "failed" (EOS decoded, which the spec forbids).
const EMITS = 1 << 8;
const ACCEPTING = 1 << 17;
const FAILED = 1 << 18;

function buildAutomaton(): Uint32Array {
  const tree = buildTree();
  // Depth and all-ones-ness of each internal node decide whether ending there is valid padding.
  const depth = new Int32Array(256);
  const allOnes = new Uint8Array(256);
  allOnes[0] = 1;
  for (let n = 0; n < 256; n++) {
    for (let bit = 0; bit < 2; bit++) {
      const child = tree[2 * n + bit] as number;
      if (child > 0) {
        depth[child] = (depth[n] as number) + 1;
        allOnes[child] = allOnes[n] === 1 && bit === 1 ? 1 : 0;
      }
    }
  }
  const table = new Uint32Array(256 * 16);
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let i = 3; i >= 0; i--) {
        const child = tree[2 * node + ((nibble >> i) & 1)] as number;
        if (child < 0) {
          const symbol = -1 - child;
          if (symbol === EOS) {
            entry |= FAILED;
            break;
          }
          entry |= EMITS | (symbol << 9);
          node = 0;
        } else {
          node = child;
        }
      }
      if ((entry & FAILED) === 0 && allOnes[node] === 1 && (depth[node] as number) < 8) entry |= ACCEPTING;
      table[state * 16 + nibble] = entry | node;
    }
  }
  return table;
}

const AUTOMATON = buildAutomaton();

/** Thrown for an invalid Huffman string (an HPACK COMPRESSION_ERROR). */
export class HuffmanError extends Error {
  override readonly name = 'HuffmanError';
}

/** Decodes `length` Huffman-coded bytes of `src` from `start` into a latin1 string. */
export function huffmanDecode(src: Uint8Array, start: number, length: number): string {
  // Each byte decodes to at most 8/5 symbols; one scratch buffer serves all calls.
  const cap = Math.ceil((length * 8) / 5);
  if (scratch.length < cap) scratch = Buffer.allocUnsafe(Math.max(cap, 2 * scratch.length));
  const out = scratch;
  let n = 0;
  let state = 0;
  let accepting = true;
  const end = start + length;
  for (let i = start; i < end; i++) {
    const byte = src[i] as number;
    let entry = AUTOMATON[state * 16 + (byte >> 4)] as number;
    if ((entry & FAILED) !== 0) throw new HuffmanError('EOS symbol in a Huffman string');
    if ((entry & EMITS) !== 0) out[n++] = (entry >> 9) & 0xff;
    state = entry & 0xff;
    entry = AUTOMATON[state * 16 + (byte & 0xf)] as number;
    if ((entry & FAILED) !== 0) throw new HuffmanError('EOS symbol in a Huffman string');
    if ((entry & EMITS) !== 0) out[n++] = (entry >> 9) & 0xff;
    state = entry & 0xff;
    accepting = (entry & ACCEPTING) !== 0;
  }
  if (!accepting) throw new HuffmanError('invalid Huffman padding');
  return out.toString('latin1', 0, n);
}

let scratch = Buffer.allocUnsafe(4096);

/** Huffman-encodes a latin1 string (used by tests and by clients written on this module). */
export function huffmanEncode(text: string): Buffer {
  let bits = 0;
  for (let i = 0; i < text.length; i++) bits += LENGTHS[text.charCodeAt(i) & 0xff] as number;
  const out = Buffer.alloc(Math.ceil(bits / 8));
  let bitPos = 0;
  for (let i = 0; i < text.length; i++) {
    const s = text.charCodeAt(i) & 0xff;
    const len = LENGTHS[s] as number;
    const code = CODES[s] as number;
    for (let b = len - 1; b >= 0; b--, bitPos++) {
      if ((Math.floor(code / 2 ** b) & 1) === 1) out[bitPos >> 3] = (out[bitPos >> 3] as number) | (0x80 >> (bitPos & 7));
    }
  }
  // Pad with the most significant bits of EOS (all ones).
  for (; bitPos % 8 !== 0; bitPos++) out[bitPos >> 3] = (out[bitPos >> 3] as number) | (0x80 >> (bitPos & 7));
  return out;
}
