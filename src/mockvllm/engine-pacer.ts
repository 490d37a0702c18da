/**
 * Drives a simulated vLLM replica (`Engine`) in real time for the mock server: wall-clock time maps
 * onto the engine's virtual time, each generation request is submitted to the engine, and the mock's
 * per-token waits ({@link TokenPacer}) resolve when the engine emits the matching token. One timer is
 * armed at a time, for the engine's `nextEventTime()`. A request whose client hangs up is aborted
 * in the engine (`EngineTicket.abort`), freeing its batch seat and KV blocks at once.
 *
 * The driver also keeps the latency histograms `/metrics` shows (TTFT, inter-token latency, e2e),
 * observed in the engine's virtual time, so they are exact and deterministic under a fake clock.
 */
import { hashTokenBlocks } from '../engine/block-hashes.js';
import { Engine, type EngineSnapshot } from '../engine/engine.js';
import type { EngineProfile } from '../engine/profiles.js';
import type { EngineRequest, EngineResult, KvTransferParams, PdRole } from '../engine/request.js';
import { ApiError, badRequest } from './api-error.js';
import type { TokenPacer } from './generate.js';
import { Histogram, ITL_BUCKETS, REQUEST_LATENCY_BUCKETS, TTFT_BUCKETS } from './histogram.js';

/** Wall-clock time and timers, injectable so tests run in fake time. */
export interface EngineClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds; returns a function that cancels the call. */
  setTimer(fn: () => void, ms: number): () => void;
}

/** `performance.now()` and unref'd `setTimeout` (the timer never keeps the process alive). */
export const REAL_ENGINE_CLOCK: EngineClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

/** One prompt (choice) to submit. */
export interface EnginePrompt {
  /** Prompt length in tokens. */
  readonly tokens: number;
  /** Real token ids, when the client sent them; they are hashed into prefix-cache blocks. */
  readonly tokenIds?: readonly number[];
  /** Otherwise the prompt text, hashed 4 characters per pseudo-token. */
  readonly text: string;
  readonly maxTokens: number;
}

/** Driver options. */
export interface EngineDriverOptions {
  /** Default {@link REAL_ENGINE_CLOCK}. */
  readonly clock?: EngineClock;
  /** Requests allowed to wait beyond the running batch; more are refused with 429. Default: unbounded. */
  readonly maxWaitingQueueLength?: number;
}

interface Waiter {
  readonly index: number;
  readonly resolve: () => void;
}

interface Entry {
  readonly arrivalS: number;
  lastTokenS: number;
  emitted: number;
  result: EngineResult | undefined;
  readonly waiters: Waiter[];
}

/** Pseudo-token ids for a text prompt: one per 4 characters (matching the ≈ chars/4 estimate), `count` of them. */
export function pseudoTokenIds(text: string, count: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    let h = 0x811c9dc5;
    const end = Math.min(text.length, i * 4 + 4);
    for (let c = i * 4; c < end; c++) h = Math.imul(h ^ text.charCodeAt(c), 0x01000193) >>> 0;
    ids.push(h);
  }
  return ids;
}

/** The engine-side half of one HTTP request: its choices' token waits and, once known, cached tokens. */
export interface EngineTicket {
  /** Waits for token `index` of `choice`; settles at once when `signal` has aborted. */
  readonly pacer: TokenPacer;
  /** Prompt tokens found in the prefix cache over all choices; `undefined` until every choice has finished. */
  cachedTokens(): number | undefined;
  /** What a P/D prefill leg hands the decoder (its first choice's); `undefined` until it has finished, or for other requests. */
  kvTransferParams(): KvTransferParams | undefined;
  /**
   * Aborts the choices still in the engine (the client went away): they leave the queue or batch
   * and release their KV blocks now. Idempotent; a no-op once every choice has finished.
   */
  abort(): void;
}

/** Owns one `Engine` and runs it against a clock. */
export class EngineDriver {
  readonly #engine: Engine;
  readonly #clock: EngineClock;
  readonly #startMs: number;
  readonly #maxWaiting: number;
  readonly #entries = new Map<string, Entry>();
  #cancelTimer: (() => void) | undefined;
  #timerAt = Number.NaN;
  #closed = false;
  /** `vllm:time_to_first_token_seconds`, per choice, from submission to its first token (virtual time). */
  readonly ttft = new Histogram(TTFT_BUCKETS);
  /** `vllm:inter_token_latency_seconds`: the gap before every token after the first. */
  readonly itl = new Histogram(ITL_BUCKETS);
  /** `vllm:e2e_request_latency_seconds`, per choice, for every finish (aborts included). */
  readonly e2e = new Histogram(REQUEST_LATENCY_BUCKETS);

  constructor(
    readonly profile: EngineProfile,
    options: EngineDriverOptions = {},
  ) {
    this.#clock = options.clock ?? REAL_ENGINE_CLOCK;
    this.#startMs = this.#clock.now();
    this.#maxWaiting = options.maxWaitingQueueLength ?? Number.POSITIVE_INFINITY;
    this.#engine = new Engine({
      profile,
      keepObservations: false,
      listener: { onToken: (r, index, timeS) => this.#onToken(r, index, timeS), onFinish: (r) => this.#onFinish(r) },
    });
  }

  /** The engine's metrics, brought up to the current time. */
  snapshot(): EngineSnapshot {
    this.#advance();
    this.#arm();
    return this.#engine.snapshot();
  }

  /**
   * Submits every prompt of request `requestId` (for `lora`, which salts its cache blocks). Throws a
   * 400 `ApiError` when a prompt can never fit (context too long, larger than the KV cache) and a
   * 429 when the waiting queue is full; nothing is submitted then. `pd` makes every prompt a P/D
   * prefill or decode leg.
   */
  admit(requestId: string, prompts: readonly EnginePrompt[], lora: string | undefined, pd?: PdRole): EngineTicket {
    const p = this.profile;
    for (const prompt of prompts) {
      const total = prompt.tokens + prompt.maxTokens;
      if (total > p.maxModelLen) {
        throw badRequest(
          `This model's maximum context length is ${p.maxModelLen} tokens. However, you requested ${total} tokens ` +
            `(${prompt.tokens} in the messages, ${prompt.maxTokens} in the completion). Please reduce the length of the messages or completion.`,
        );
      }
      if (Math.ceil(total / p.blockSize) > p.numGpuBlocks) {
        throw badRequest(`The request needs ${total} tokens of KV cache, more than the ${p.numGpuBlocks * p.blockSize} the engine has.`);
      }
    }
    this.#advance();
    const now = this.#engine.snapshot();
    // Requests submitted since the last step still sit in the queue although a seat awaits them.
    const freeSeats = Math.max(0, p.maxNumSeqs - now.running);
    if (now.waiting + prompts.length - freeSeats > this.#maxWaiting) {
      // llm-d-inference-sim's answer to a full queue (model-server.md §7.1).
      throw new ApiError(429, 'RateLimitError', 'Failed to enqueue request, waiting requests queue is full');
    }
    const ids = prompts.map((_, i) => `${requestId}:${i}`);
    const entries: Entry[] = [];
    for (const [i, prompt] of prompts.entries()) {
      const id = ids[i] ?? `${requestId}:${i}`;
      const entry: Entry = { arrivalS: now.timeS, lastTokenS: Number.NaN, emitted: 0, result: undefined, waiters: [] };
      entries.push(entry);
      this.#entries.set(id, entry);
      const tokenIds = prompt.tokenIds ?? pseudoTokenIds(prompt.text, prompt.tokens);
      const request: EngineRequest = {
        id,
        promptTokens: prompt.tokens,
        blockHashes: hashTokenBlocks(tokenIds, p.blockSize, lora ?? ''),
        maxOutputTokens: prompt.maxTokens,
        ...(lora === undefined ? {} : { lora }),
        ...(pd === undefined ? {} : { pd }),
      };
      this.#engine.submit(request);
      const result = entry.result;
      if (result?.finishReason === 'rejected') {
        // The choices already submitted have nobody left to serve.
        for (const earlier of ids.slice(0, i)) this.#engine.abort(earlier);
        this.#arm();
        throw badRequest(result.error ?? 'The request was rejected by the engine.');
      }
    }
    this.#arm();
    return {
      pacer: (step, signal) => this.#wait(entries[step.choice], step.index, signal),
      abort: () => this.#abort(ids),
      kvTransferParams: () => entries[0]?.result?.kvTransferParams,
      cachedTokens: () => {
        let sum = 0;
        for (const e of entries) {
          if (e.result === undefined) return undefined;
          sum += e.result.cachedTokens;
        }
        return sum;
      },
    };
  }

  /** Stops the timer and releases every waiter. */
  close(): void {
    this.#closed = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    for (const e of this.#entries.values()) this.#release(e, Number.POSITIVE_INFINITY);
    this.#entries.clear();
  }

  #abort(ids: readonly string[]): void {
    if (this.#closed || !ids.some((id) => this.#entries.has(id))) return;
    this.#advance();
    for (const id of ids) if (this.#entries.has(id)) this.#engine.abort(id);
    this.#arm();
  }

  #virtualNow(): number {
    return (this.#clock.now() - this.#startMs) / 1000;
  }

  #advance(): void {
    this.#engine.advanceTo(this.#virtualNow());
  }

  #wait(entry: Entry | undefined, index: number, signal: AbortSignal): Promise<void> {
    if (entry === undefined || signal.aborted || this.#closed || entry.emitted > index || entry.result !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const onAbort = (): void => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      entry.waiters.push({
        index,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      });
    });
  }

  #release(entry: Entry, upTo: number): void {
    let kept = 0;
    for (const w of entry.waiters) {
      if (w.index < upTo) w.resolve();
      else entry.waiters[kept++] = w;
    }
    entry.waiters.length = kept;
  }

  #onToken(request: EngineRequest, index: number, timeS: number): void {
    const entry = this.#entries.get(request.id);
    if (entry === undefined) return;
    if (index === 0) this.ttft.observe(timeS - entry.arrivalS);
    else this.itl.observe(timeS - entry.lastTokenS);
    entry.lastTokenS = timeS;
    entry.emitted = index + 1;
    this.#release(entry, entry.emitted);
  }

  #onFinish(result: EngineResult): void {
    const entry = this.#entries.get(result.request.id);
    if (entry === undefined) return;
    if (result.finishReason !== 'rejected') this.e2e.observe(result.finishS - result.arrivalS);
    entry.result = result;
    this.#entries.delete(result.request.id);
    this.#release(entry, Number.POSITIVE_INFINITY);
  }

  /** Arms the one timer for the engine's next event, replacing an earlier one that is no longer next. */
  #arm(): void {
    if (this.#closed) return;
    const next = this.#engine.nextEventTime();
    if (next === this.#timerAt) return;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#timerAt = Number.NaN;
    if (next === Number.POSITIVE_INFINITY) return;
    this.#timerAt = next;
    const delayMs = Math.max(0, (next - this.#virtualNow()) * 1000);
    this.#cancelTimer = this.#clock.setTimer(() => this.#fire(next), delayMs);
  }

  #fire(at: number): void {
    this.#cancelTimer = undefined;
    this.#timerAt = Number.NaN;
    // Timers may fire a hair before the clock reads `at`; the engine must still reach its event.
    this.#engine.advanceTo(Math.max(at, this.#virtualNow()));
    this.#arm();
  }
}
