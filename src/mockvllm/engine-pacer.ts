/**
 * Drives a simulated vLLM replica (`Engine`) in real time for the mock server: wall-clock time maps
 * onto the engine's virtual time, each generation request is submitted to the engine, and the mock's
 * per-token waits ({@link TokenPacer}) resolve when the engine emits the matching token. One timer is
 * armed at a time, for the engine's `nextEventTime()`.
 *
 * Limitation: the engine has no cancel, so a request whose client hangs up keeps its place in the
 * simulated batch until it would have finished (its waits resolve at once, though).
 */
import { hashTokenBlocks } from '../engine/block-hashes.js';
import { Engine, type EngineSnapshot } from '../engine/engine.js';
import type { EngineProfile } from '../engine/profiles.js';
import type { EngineRequest, EngineResult } from '../engine/request.js';
import { ApiError, badRequest } from './api-error.js';
import type { TokenPacer } from './generate.js';

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
      listener: { onToken: (r, index) => this.#onToken(r, index), onFinish: (r) => this.#onFinish(r) },
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
   * 429 when the waiting queue is full; nothing is submitted then.
   */
  admit(requestId: string, prompts: readonly EnginePrompt[], lora: string | undefined): EngineTicket {
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
      throw new ApiError(429, 'TooManyRequestsError', `The waiting queue is full (max ${this.#maxWaiting} requests); retry later.`);
    }
    const ids = prompts.map((_, i) => `${requestId}:${i}`);
    const entries: Entry[] = [];
    for (const [i, prompt] of prompts.entries()) {
      const id = ids[i] ?? `${requestId}:${i}`;
      const entry: Entry = { emitted: 0, result: undefined, waiters: [] };
      entries.push(entry);
      this.#entries.set(id, entry);
      const tokenIds = prompt.tokenIds ?? pseudoTokenIds(prompt.text, prompt.tokens);
      const request: EngineRequest = {
        id,
        promptTokens: prompt.tokens,
        blockHashes: hashTokenBlocks(tokenIds, p.blockSize, lora ?? ''),
        maxOutputTokens: prompt.maxTokens,
        ...(lora === undefined ? {} : { lora }),
      };
      this.#engine.submit(request);
      const result = entry.result;
      if (result?.finishReason === 'rejected') throw badRequest(result.error ?? 'The request was rejected by the engine.');
    }
    this.#arm();
    return {
      pacer: (step, signal) => this.#wait(entries[step.choice], step.index, signal),
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

  #onToken(request: EngineRequest, index: number): void {
    const entry = this.#entries.get(request.id);
    if (entry === undefined) return;
    entry.emitted = index + 1;
    this.#release(entry, entry.emitted);
  }

  #onFinish(result: EngineResult): void {
    const entry = this.#entries.get(result.request.id);
    if (entry === undefined) return;
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
