/**
 * The load test's HTTP client over Node's global `fetch` (undici: keep-alive connections reused
 * across requests). Sends OpenAI-style requests, reads JSON or SSE bodies, and measures end-to-end
 * latency, time to first token and inter-token gaps on an injected clock.
 */
import type { Clock } from './clock.js';
import { failureKind } from './errors.js';
import { REPLICA_HEADER } from './replica-header.js';
import { SseParser } from './sse.js';

/** The two generation APIs the load test drives. */
export type GenerationPath = '/v1/completions' | '/v1/chat/completions';

/** One generation request. `stream` must agree with `body.stream`; {@link generationBody} builds both. */
export interface GenerationSpec {
  readonly path: GenerationPath;
  readonly body: Readonly<Record<string, unknown>>;
  readonly stream: boolean;
}

/**
 * What one request measured. `ok` means a 2xx status and a complete, parseable body (a stream ended
 * by `[DONE]`); otherwise `error` holds the tally kind (`HTTP 503`, `timeout`, `bad response`, …).
 * Times are clock milliseconds: `latencyMs` from send to the last byte; `ttftMs` from send to the
 * first event carrying generated text (streams only); `itlMs` the inter-token gaps (streams only):
 * each read after the first token's gives each of the k text-carrying events it holds a gap of
 * (time since the previous text-carrying read) / k, so a proxy that coalesces events shifts no time
 * into fake zero gaps and the gaps always sum to last token − first token; events that arrive in the
 * first token's read add no gap.
 * `outputTokens` is `usage.completion_tokens` when the server reports usage, else the count of
 * text-carrying events. `replica` is the `x-inference-pod` response header when present.
 */
export interface RequestOutcome {
  readonly ok: boolean;
  readonly status: number;
  readonly error?: string;
  readonly replica?: string;
  readonly startMs: number;
  readonly latencyMs: number;
  readonly ttftMs?: number;
  readonly itlMs: readonly number[];
  readonly outputTokens: number;
  readonly cachedTokens?: number;
}

/** Answer of a plain GET: status, parsed JSON (undefined when the body is not JSON) and replica header. */
export interface JsonAnswer {
  readonly status: number;
  readonly json: unknown;
  readonly replica?: string;
}

/** How to reach a deployment. */
export interface LoadClientOptions {
  /** Base URL without a trailing path, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string;
  /** Per-request limit, headers and body included. */
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Defaults to the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/** The JSON body of a generation request; streams ask for usage in the final chunk. */
export function generationBody(model: string, path: GenerationPath, content: { system?: string; user: string }, maxTokens: number, stream: boolean): GenerationSpec {
  const body: Record<string, unknown> =
    path === '/v1/completions'
      ? { model, prompt: content.system === undefined ? content.user : `${content.system}\n\n${content.user}` }
      : { model, messages: [...(content.system === undefined ? [] : [{ role: 'system', content: content.system }]), { role: 'user', content: content.user }] };
  body.max_tokens = maxTokens;
  body.temperature = 0;
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return { path, body, stream };
}

interface Usage {
  completion_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
}

function textOf(event: unknown): string {
  const choices = (event as { choices?: unknown }).choices;
  if (!Array.isArray(choices)) return '';
  let text = '';
  for (const c of choices) {
    if (typeof c !== 'object' || c === null) continue;
    const t = (c as { text?: unknown }).text;
    const delta = (c as { delta?: { content?: unknown } | null }).delta;
    if (typeof t === 'string') text += t;
    else if (typeof delta?.content === 'string') text += delta.content;
  }
  return text;
}

function usageOf(json: unknown): Usage | undefined {
  const u = (json as { usage?: unknown } | null)?.usage;
  return typeof u === 'object' && u !== null ? u : undefined;
}

function finiteOrUndefined(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function stageDeadline(): Error {
  const err = new Error('stage deadline passed');
  err.name = 'StageDeadline';
  return err;
}

/** Sends requests to one deployment. Stateless apart from fetch's connection pool. */
export class LoadClient {
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: LoadClientOptions) {
    this.fetchFn = options.fetch ?? fetch;
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** GETs `path`; network failures throw (classify them with `failureKind`). */
  async getJson(path: string, timeoutMs = this.options.timeoutMs): Promise<JsonAnswer> {
    const res = await this.fetchFn(`${this.options.baseUrl}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      json = undefined;
    }
    const replica = res.headers.get(REPLICA_HEADER);
    return { status: res.status, json, ...(replica === null ? {} : { replica }) };
  }

  /**
   * Sends one generation request and never throws: every failure is an outcome with `ok: false`.
   * `stage` aborting (the stage's deadline) ends the request with the kind `stage deadline`.
   */
  async send(spec: GenerationSpec, stage?: AbortSignal): Promise<RequestOutcome> {
    const { clock } = this.options;
    const timeout = new AbortController();
    const timer = setTimeout(() => {
      const err = new Error(`no complete answer within ${this.options.timeoutMs} ms`);
      err.name = 'TimeoutError';
      timeout.abort(err);
    }, this.options.timeoutMs);
    const onStage = (): void => timeout.abort(stageDeadline());
    if (stage?.aborted === true) onStage();
    else stage?.addEventListener('abort', onStage, { once: true });
    const startMs = clock.now();
    let status = 0;
    let replica: string | undefined;
    const fail = (error: string): RequestOutcome => ({ ok: false, status, error, startMs, latencyMs: clock.now() - startMs, itlMs: [], outputTokens: 0, ...(replica === undefined ? {} : { replica }) });
    try {
      const res = await this.fetchFn(`${this.options.baseUrl}${spec.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: spec.stream ? 'text/event-stream' : 'application/json' },
        body: JSON.stringify(spec.body),
        signal: timeout.signal,
      });
      status = res.status;
      replica = res.headers.get(REPLICA_HEADER) ?? undefined;
      if (status < 200 || status > 299) {
        await res.text().catch(() => '');
        return fail(`HTTP ${status}`);
      }
      return spec.stream ? await this.readStream(res, startMs, replica) : await this.readWhole(res, startMs, replica);
    } catch (err) {
      const reason: unknown = timeout.signal.aborted ? timeout.signal.reason : err;
      return fail(failureKind(reason));
    } finally {
      clearTimeout(timer);
      stage?.removeEventListener('abort', onStage);
    }
  }

  private async readWhole(res: Response, startMs: number, replica: string | undefined): Promise<RequestOutcome> {
    const { clock } = this.options;
    const text = await res.text();
    const latencyMs = clock.now() - startMs;
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      return { ok: false, status: res.status, error: 'bad response', startMs, latencyMs, itlMs: [], outputTokens: 0, ...(replica === undefined ? {} : { replica }) };
    }
    const usage = usageOf(json);
    const cached = finiteOrUndefined(usage?.prompt_tokens_details?.cached_tokens);
    return {
      ok: true,
      status: res.status,
      startMs,
      latencyMs,
      itlMs: [],
      outputTokens: finiteOrUndefined(usage?.completion_tokens) ?? 0,
      ...(cached === undefined ? {} : { cachedTokens: cached }),
      ...(replica === undefined ? {} : { replica }),
    };
  }

  private async readStream(res: Response, startMs: number, replica: string | undefined): Promise<RequestOutcome> {
    const { clock } = this.options;
    const base = { status: res.status, startMs, ...(replica === undefined ? {} : { replica }) };
    if (res.body === null) return { ...base, ok: false, error: 'bad response', latencyMs: clock.now() - startMs, itlMs: [], outputTokens: 0 };
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    let ttftMs: number | undefined;
    let lastTokenAt: number | undefined;
    const itlMs: number[] = [];
    let events = 0;
    let usage: Usage | undefined;
    let done = false;
    let error: string | undefined;
    const onEvents = (data: readonly string[], at: number): void => {
      let tokens = 0;
      for (const d of data) {
        if (d === '[DONE]') {
          done = true;
          continue;
        }
        let json: unknown;
        try {
          json = JSON.parse(d) as unknown;
        } catch {
          error ??= 'bad response';
          continue;
        }
        if (typeof json === 'object' && json !== null && 'error' in json) error ??= 'stream error';
        usage = usageOf(json) ?? usage;
        if (textOf(json) === '') continue;
        events++;
        tokens++;
      }
      if (tokens === 0) return;
      if (lastTokenAt === undefined) ttftMs = at - startMs;
      else for (let i = 0; i < tokens; i++) itlMs.push((at - lastTokenAt) / tokens);
      lastTokenAt = at;
    };
    for (;;) {
      const { value, done: ended } = await reader.read();
      const at = clock.now();
      if (ended) {
        onEvents(parser.push(decoder.decode()), at);
        onEvents(parser.finish(), at);
        break;
      }
      onEvents(parser.push(decoder.decode(value, { stream: true })), at);
    }
    const latencyMs = clock.now() - startMs;
    if (!done) error ??= 'incomplete stream';
    const cached = finiteOrUndefined(usage?.prompt_tokens_details?.cached_tokens);
    return {
      ...base,
      ok: error === undefined,
      ...(error === undefined ? {} : { error }),
      latencyMs,
      ...(ttftMs === undefined ? {} : { ttftMs }),
      itlMs,
      outputTokens: finiteOrUndefined(usage?.completion_tokens) ?? events,
      ...(cached === undefined ? {} : { cachedTokens: cached }),
    };
  }
}
