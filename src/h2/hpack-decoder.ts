/**
 * HPACK header-block decoder (RFC 7541) with the dynamic table, as a server needs it. Names and
 * values are latin1 strings (HTTP/2 field values are octets). Limits: the dynamic table never
 * exceeds the size this endpoint advertised, and a decoded header list larger than `maxListBytes`
 * (counted as the spec does: name + value + 32 per field) is flagged rather than collected — the
 * block is still decoded to the end so the table stays in step with the peer's encoder, and the
 * work is bounded by the block's own (capped) size however the peer references big table entries.
 */
import { HuffmanError, huffmanDecode } from './hpack-huffman.js';
import { STATIC_TABLE } from './hpack-static-table.js';

/** A decoded header list, reused across blocks: `names[i]`, `values[i]` for i < `count`. */
export class HeaderList {
  names: string[] = [];
  values: string[] = [];
  count = 0;
  /** Bytes as the spec counts them (name + value + 32 per field). */
  bytes = 0;
  /** True when the list exceeded the limit and fields were dropped. */
  tooLarge = false;

  clear(): void {
    this.count = 0;
    this.bytes = 0;
    this.tooLarge = false;
  }

  /** The value of the first field named `name`, or undefined. */
  get(name: string): string | undefined {
    for (let i = 0; i < this.count; i++) if (this.names[i] === name) return this.values[i];
    return undefined;
  }

  push(name: string, value: string, maxBytes: number): void {
    const size = name.length + value.length + 32;
    if (this.tooLarge || this.bytes + size > maxBytes) {
      this.tooLarge = true;
      return;
    }
    this.bytes += size;
    this.names[this.count] = name;
    this.values[this.count] = value;
    this.count++;
  }
}

/** An HPACK decoding failure: a connection error of type COMPRESSION_ERROR. */
export class HpackError extends Error {
  override readonly name = 'HpackError';
}

const STATIC_COUNT = STATIC_TABLE.length;
const EMPTY = new Uint8Array(0);

export class HpackDecoder {
  // Dynamic table as a ring: entry 0 (index 62) is the newest.
  #names: string[] = [];
  #values: string[] = [];
  #head = 0; // slot of the newest entry
  #count = 0;
  #size = 0;
  #maxSize: number;
  readonly #limit: number;
  #src: Uint8Array = EMPTY;
  #pos = 0;

  /** `limit` is the SETTINGS_HEADER_TABLE_SIZE this endpoint advertised. */
  constructor(limit: number) {
    this.#limit = limit;
    this.#maxSize = limit;
  }

  /** Current dynamic table size in bytes (for tests). */
  get tableSize(): number {
    return this.#size;
  }

  /** Decodes a complete header block into `out` (cleared first). Throws HpackError. */
  decode(block: Uint8Array, out: HeaderList, maxListBytes: number): void {
    out.clear();
    this.#src = block;
    this.#pos = 0;
    const end = block.length;
    let fieldsSeen = false;
    try {
      while (this.#pos < end) {
        const b = block[this.#pos] as number;
        if ((b & 0x80) !== 0) {
          // Indexed field.
          const index = this.#readInt(7);
          if (index === 0) throw new HpackError('indexed field with index 0');
          this.#pushIndexed(index, out, maxListBytes);
          fieldsSeen = true;
        } else if ((b & 0xe0) === 0x20) {
          // Dynamic table size update: only before the first field of a block.
          if (fieldsSeen) throw new HpackError('dynamic table size update after a header field');
          const size = this.#readInt(5);
          if (size > this.#limit) throw new HpackError(`dynamic table size ${size} exceeds the advertised ${this.#limit}`);
          this.#maxSize = size;
          this.#evictTo(size);
        } else {
          // Literal with incremental indexing (01, 6-bit name index), without indexing (0000) or
          // never indexed (0001) (4-bit name index).
          const indexing = (b & 0xc0) === 0x40;
          const index = this.#readInt(indexing ? 6 : 4);
          const name = index === 0 ? this.#readString() : this.#nameAt(index);
          const value = this.#readString();
          if (indexing) this.#insert(name, value);
          out.push(name, value, maxListBytes);
          fieldsSeen = true;
        }
      }
    } finally {
      this.#src = EMPTY;
    }
  }

  /** Reads an HPACK integer with an N-bit prefix. */
  #readInt(prefixBits: number): number {
    const src = this.#src;
    const max = (1 << prefixBits) - 1;
    let value = (src[this.#pos] as number) & max;
    this.#pos++;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.#pos >= src.length) throw new HpackError('truncated integer');
      const b = src[this.#pos++] as number;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
      shift += 7;
      // Nothing legitimate needs more than 2^28; longer encodings are an attack on the decoder.
      if (shift > 21) throw new HpackError('integer too large');
    }
  }

  /** Reads an HPACK string literal. */
  #readString(): string {
    const src = this.#src;
    if (this.#pos >= src.length) throw new HpackError('truncated string');
    const huffman = ((src[this.#pos] as number) & 0x80) !== 0;
    const length = this.#readInt(7);
    const start = this.#pos;
    const end = start + length;
    if (end > src.length) throw new HpackError('string longer than the header block');
    this.#pos = end;
    if (!huffman) return latin1(src, start, end);
    try {
      return huffmanDecode(src, start, length);
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(err.message);
      throw err;
    }
  }

  #pushIndexed(index: number, out: HeaderList, maxListBytes: number): void {
    if (index <= STATIC_COUNT) {
      const entry = STATIC_TABLE[index - 1] as readonly [string, string];
      out.push(entry[0], entry[1], maxListBytes);
      return;
    }
    const slot = this.#slot(index);
    out.push(this.#names[slot] as string, this.#values[slot] as string, maxListBytes);
  }

  #nameAt(index: number): string {
    if (index <= STATIC_COUNT) return (STATIC_TABLE[index - 1] as readonly [string, string])[0];
    return this.#names[this.#slot(index)] as string;
  }

  /** Ring slot of dynamic index `index` (62 = newest). */
  #slot(index: number): number {
    const d = index - STATIC_COUNT - 1;
    if (d >= this.#count) throw new HpackError(`header index ${index} is beyond the table`);
    const capacity = this.#names.length;
    return (this.#head + d) % capacity;
  }

  #insert(name: string, value: string): void {
    const size = name.length + value.length + 32;
    if (size > this.#maxSize) {
      // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#maxSize - size);
    // Grow the ring when full (entries are ≥ 32 bytes, so it stays ≤ limit / 32 slots).
    if (this.#count === this.#names.length) this.#grow();
    const capacity = this.#names.length;
    this.#head = (this.#head - 1 + capacity) % capacity;
    this.#names[this.#head] = name;
    this.#values[this.#head] = value;
    this.#count++;
    this.#size += size;
  }

  #grow(): void {
    const capacity = Math.max(8, this.#names.length * 2);
    const names: string[] = new Array<string>(capacity);
    const values: string[] = new Array<string>(capacity);
    for (let d = 0; d < this.#count; d++) {
      const slot = (this.#head + d) % this.#names.length;
      names[d] = this.#names[slot] as string;
      values[d] = this.#values[slot] as string;
    }
    this.#names = names;
    this.#values = values;
    this.#head = 0;
  }

  #evictTo(size: number): void {
    while (this.#size > size && this.#count > 0) {
      const slot = (this.#head + this.#count - 1) % this.#names.length;
      this.#size -= (this.#names[slot] as string).length + (this.#values[slot] as string).length + 32;
      this.#names[slot] = '';
      this.#values[slot] = '';
      this.#count--;
    }
  }
}

function latin1(src: Uint8Array, start: number, end: number): string {
  return Buffer.isBuffer(src) ? src.toString('latin1', start, end) : Buffer.from(src.buffer, src.byteOffset + start, end - start).toString('latin1');
}
