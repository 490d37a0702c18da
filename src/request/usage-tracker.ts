/**
 * Reads token usage out of a model server's response while it streams past, without holding it back:
 * SSE responses are scanned for `data:` lines carrying `usage` (the client must ask for
 * `stream_options.include_usage`, or a `response.completed` event's `response.usage`); other
 * responses are copied aside up to a cap and parsed at end of stream. Shapes as the reference's
 * openai-parser: `prompt_tokens` / `completion_tokens` (or `input_tokens` / `output_tokens`), and
 * `prompt_tokens_details.cached_tokens`; and as its anthropic-parser: `input_tokens` / `output_tokens`
 * with `cache_read_input_tokens`, streamed as a `message_start` event (its `message.usage` holds the
 * input side) then `message_delta` events (their `usage` the output count so far, merged with what
 * `message_start` gave); and as its sglanghttp-parser: `meta_info.prompt_tokens` / `completion_tokens` /
 * `cached_tokens`, the last streamed chunk's counts being the totals. Malformed or oversized responses yield nothing; never throws.
 */

/** Token counts of one response. */
export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly cachedTokens: number;
}

/** JSON bodies larger than this are not parsed for usage (they still pass through untouched). */
const MAX_JSON_BYTES = 1024 * 1024;
/** An SSE line longer than this is not a usage chunk worth holding. */
const MAX_SSE_LINE = 256 * 1024;

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

/** The usage object of a parsed response or SSE event, if it has one. */
export function usageOf(value: unknown): Usage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { usage?: unknown; type?: unknown; response?: { usage?: unknown }; message?: { usage?: unknown }; meta_info?: unknown };
  const raw = v.usage ?? (v.type === 'response.completed' ? v.response?.usage : v.type === 'message_start' ? v.message?.usage : sglangMeta(v.meta_info));
  if (typeof raw !== 'object' || raw === null) return undefined;
  const u = raw as Record<string, unknown>;
  const details = (u.prompt_tokens_details ?? u.input_tokens_details) as Record<string, unknown> | null | undefined;
  return {
    promptTokens: count(u.prompt_tokens ?? u.input_tokens),
    completionTokens: count(u.completion_tokens ?? u.output_tokens),
    cachedTokens: count(typeof details === 'object' && details !== null ? details.cached_tokens : u.cache_read_input_tokens),
  };
}

/** SGLang's `meta_info` when it carries token counts (cumulative in every streamed chunk). */
function sglangMeta(meta: unknown): unknown {
  if (typeof meta !== 'object' || meta === null) return undefined;
  const m = meta as Record<string, unknown>;
  if (m.prompt_tokens === undefined && m.completion_tokens === undefined) return undefined;
  return { prompt_tokens: m.prompt_tokens, completion_tokens: m.completion_tokens, prompt_tokens_details: { cached_tokens: m.cached_tokens } };
}

export class UsageTracker {
  #sse = false;
  #carry = '';
  #chunks: Buffer[] = [];
  #bytes = 0;
  #usage: Usage | undefined;

  /** Call with the response's content type before the body. */
  start(contentType: string): void {
    this.#sse = contentType.includes('text/event-stream');
  }

  /** Feeds one body chunk (as sent to the client). */
  chunk(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.#sse) {
      this.#scan(bytes.toString('utf8'));
      return;
    }
    this.#bytes += bytes.length;
    if (this.#bytes <= MAX_JSON_BYTES) this.#chunks.push(bytes);
    else this.#chunks = [];
  }

  /** The usage found once the body ended (undefined when the response carried none). */
  finish(): Usage | undefined {
    if (!this.#sse && this.#bytes > 0 && this.#bytes <= MAX_JSON_BYTES) {
      try {
        this.#usage = usageOf(JSON.parse(Buffer.concat(this.#chunks, this.#bytes).toString('utf8')));
      } catch {
        // Not JSON (or truncated): pass-through only.
      }
      this.#chunks = [];
    } else if (this.#sse && this.#carry !== '') this.#scan('\n');
    return this.#usage;
  }

  #scan(text: string): void {
    const data = this.#carry + text;
    let start = 0;
    for (let nl = data.indexOf('\n'); nl >= 0; nl = data.indexOf('\n', start)) {
      this.#line(data.slice(start, nl));
      start = nl + 1;
    }
    const rest = data.slice(start);
    this.#carry = rest.length <= MAX_SSE_LINE ? rest : '';
  }

  #line(line: string): void {
    if (!line.startsWith('data:') || (!line.includes('"usage"') && !line.includes('"meta_info"'))) return;
    try {
      const event: unknown = JSON.parse(line.slice(5).trim());
      const usage = usageOf(event);
      if (usage === undefined) return;
      const prior = this.#usage;
      // An Anthropic message_delta counts output only; the input side came with message_start.
      this.#usage =
        prior !== undefined && (event as { type?: unknown }).type === 'message_delta'
          ? {
              promptTokens: usage.promptTokens || prior.promptTokens,
              completionTokens: usage.completionTokens,
              cachedTokens: usage.cachedTokens || prior.cachedTokens,
            }
          : usage;
    } catch {
      // A malformed event is skipped.
    }
  }
}
