/**
 * Collects a connection's outgoing bytes between flushes. Small pieces (frame headers, HPACK blocks,
 * small payloads) are copied into a slab so one flush is usually one socket write; large payloads
 * are queued by reference (no copy). Slab regions handed to the socket are never reused: a new slab
 * is cut when one fills, as Node's own buffer pool does.
 */

const SLAB_BYTES = 64 * 1024;
/** Payloads at least this long are written by reference instead of being copied. */
const COPY_LIMIT = 1024;

export class OutputBuffer {
  #slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  /** Start of the slab region not yet taken. */
  #start = 0;
  /** End of what has been written into the slab. */
  #used = 0;
  #list: Buffer[] = [];
  #bytes = 0;

  /** Bytes collected since the last `take`. */
  get length(): number {
    return this.#bytes;
  }

  /** The current slab: write reserved bytes here (read it after `reserve`, which may replace it). */
  get slab(): Buffer {
    return this.#slab;
  }

  /** Reserves `n` contiguous bytes in `slab`; returns the offset to write them at. */
  reserve(n: number): number {
    if (this.#used + n > this.#slab.length) this.#newSlab(n);
    const offset = this.#used;
    this.#used += n;
    this.#bytes += n;
    return offset;
  }

  /** Appends bytes: copied when small, queued by reference when large. */
  append(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    if (n === 0) return;
    if (n < COPY_LIMIT) {
      if (this.#used + n > this.#slab.length) this.#newSlab(n);
      this.#slab.set(src.subarray(start, end), this.#used);
      this.#used += n;
      this.#bytes += n;
      return;
    }
    this.#cut();
    this.#list.push(Buffer.isBuffer(src) ? src.subarray(start, end) : Buffer.from(src.buffer, src.byteOffset + start, n));
    this.#bytes += n;
  }

  /** Everything collected, in order; the buffer is empty afterwards. */
  take(): Buffer[] {
    this.#cut();
    const list = this.#list;
    this.#list = [];
    this.#bytes = 0;
    return list;
  }

  /** Moves the slab's pending region onto the list. */
  #cut(): void {
    if (this.#used > this.#start) {
      this.#list.push(this.#slab.subarray(this.#start, this.#used));
      this.#start = this.#used;
    }
  }

  #newSlab(need: number): void {
    this.#cut();
    this.#slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, need));
    this.#start = 0;
    this.#used = 0;
  }
}
