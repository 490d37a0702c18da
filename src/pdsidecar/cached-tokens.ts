/**
 * Rewrites `usage.prompt_tokens_details.cached_tokens` in a decode response to the prefill leg's
 * value (as llm-d's sidecar does: the decoder pulled those tokens' KV instead of computing them, so
 * the prefiller's cache hits are the request's). Server-sent events are rewritten line by line as
 * they stream, so no token is held back; a JSON body is rewritten whole (bounded).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { setCachedTokens } from './nixlv2.js';

/** Most bytes of a non-streamed body (or of one SSE line) held for rewriting; beyond it bytes pass unchanged. */
export const MAX_REWRITE_BYTES = 16 * 1024 * 1024;

const DATA_PREFIX = 'data: ';

/** One SSE line (with its line ending) with `cached_tokens` set, or the line unchanged. */
export function rewriteSseLine(line: string, cached: number): string {
  if (!line.startsWith(DATA_PREFIX)) return line;
  const trimmed = line.replace(/\r?\n$/, '');
  const data = trimmed.slice(DATA_PREFIX.length);
  if (data.trim() === '[DONE]' || !data.includes('"usage"')) return line;
  try {
    const json: unknown = JSON.parse(data);
    if (!setCachedTokens(json, cached)) return line;
    return `${DATA_PREFIX}${JSON.stringify(json)}${line.slice(trimmed.length)}`;
  } catch {
    return line;
  }
}

/** A whole JSON body with `cached_tokens` set, or the body unchanged. */
export function rewriteJsonBody(body: Buffer, cached: number): Buffer {
  try {
    const json: unknown = JSON.parse(body.toString('utf8'));
    return setCachedTokens(json, cached) ? Buffer.from(JSON.stringify(json), 'utf8') : body;
  } catch {
    return body;
  }
}

/** The streaming rewriter: SSE (`sse`) line by line, else the whole body at its end. */
export class CachedTokensRewriter extends Transform {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #overflow = false;

  constructor(
    private readonly cached: number,
    private readonly sse: boolean,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#overflow) {
      done(null, chunk);
      return;
    }
    if (!this.sse) {
      this.#hold(chunk);
      done();
      return;
    }
    const nl = chunk.lastIndexOf(0x0a);
    if (nl < 0) {
      this.#hold(chunk);
      done();
      return;
    }
    const head = this.#take(chunk.subarray(0, nl + 1));
    this.#hold(chunk.subarray(nl + 1));
    let out = '';
    for (const line of head.toString('utf8').split(/(?<=\n)/)) out += rewriteSseLine(line, this.cached);
    done(null, Buffer.from(out, 'utf8'));
  }

  override _flush(done: TransformCallback): void {
    const rest = this.#take(Buffer.alloc(0));
    if (rest.length === 0) {
      done();
      return;
    }
    done(null, this.sse ? Buffer.from(rewriteSseLine(rest.toString('utf8'), this.cached), 'utf8') : rewriteJsonBody(rest, this.cached));
  }

  #hold(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes > MAX_REWRITE_BYTES) {
      // Too large to rewrite: pass everything through unchanged from here on.
      this.#overflow = true;
      this.push(this.#take(Buffer.alloc(0)));
    }
  }

  #take(tail: Buffer): Buffer {
    const all = this.#pending.length === 0 ? tail : Buffer.concat([...this.#pending, tail]);
    this.#pending = [];
    this.#pendingBytes = 0;
    return all;
  }
}
