/**
 * Reverses a request's model rewrite in the response, so clients see the model they asked for:
 * every `"model":<target>` (and `"model": <target>`) becomes the same with the incoming name. It
 * works on bytes — the response is never decoded, so characters split across chunks and invalid
 * UTF-8 pass unchanged — and returns the chunk itself when nothing matches. A name split across two
 * chunks is left as is: rewriting must never hold back a streamed token.
 */
export class ModelNameRewriter {
  readonly #from: readonly Buffer[];
  readonly #to: readonly Buffer[];
  /** The shortest pattern's first bytes, a cheap pre-check. */
  readonly #key: Buffer;

  /** `target` is the model the server was asked for; `incoming` the model the client named. */
  constructor(target: string, incoming: string) {
    const from = JSON.stringify(target);
    const to = JSON.stringify(incoming);
    this.#from = [Buffer.from(`"model":${from}`, 'utf8'), Buffer.from(`"model": ${from}`, 'utf8')];
    this.#to = [Buffer.from(`"model":${to}`, 'utf8'), Buffer.from(`"model": ${to}`, 'utf8')];
    this.#key = Buffer.from('"model":', 'utf8');
  }

  /** The chunk with every occurrence replaced; the same Buffer when there is none. */
  rewrite(chunk: Buffer): Buffer {
    if (chunk.indexOf(this.#key) < 0) return chunk;
    let parts: Buffer[] | undefined;
    let start = 0;
    let at = 0;
    for (;;) {
      const [index, which] = this.#next(chunk, at);
      if (index < 0) break;
      parts ??= [];
      parts.push(chunk.subarray(start, index), this.#to[which] as Buffer);
      start = index + (this.#from[which] as Buffer).length;
      at = start;
    }
    if (parts === undefined) return chunk;
    parts.push(chunk.subarray(start));
    return Buffer.concat(parts);
  }

  /** The earliest match at or after `from`: [index, pattern]; index −1 when none. */
  #next(chunk: Buffer, from: number): [number, number] {
    let best = -1;
    let which = 0;
    for (let i = 0; i < this.#from.length; i++) {
      const index = chunk.indexOf(this.#from[i] as Buffer, from);
      if (index >= 0 && (best < 0 || index < best)) {
        best = index;
        which = i;
      }
    }
    return [best, which];
  }
}
