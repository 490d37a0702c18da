/**
 * One vLLM replica (one DP rank) simulated in virtual time: a continuous-batching scheduler after
 * vLLM V1's (`vllm/v1/core/sched/scheduler.py`), driving a `KvCache` with prefix caching and a
 * step-time model from an `EngineProfile`.
 *
 * Time is a number of seconds the caller advances; nothing here reads a clock or sets a timer.
 * `submit` enqueues at the engine's current time; `advanceTo(t)` runs every engine step that ends
 * by `t` and reports tokens and finishes through the `EngineListener`; `nextEventTime()` says when
 * something will happen next, so a driver can interleave many engines (DP ranks, a cluster) on one
 * event queue. Each instance is self-contained: run as many as needed side by side.
 *
 * One step (an iteration of the continuous batch), at time `now`:
 * 1. running requests first, in admission order, each taking `min(remaining, token budget)` new
 *    tokens (1 while decoding; chunked prefill otherwise) within `maxNumBatchedTokens`; when the KV
 *    cache has no room, the newest running request is preempted (blocks released, recomputed later,
 *    back to the front of the waiting queue), as vLLM V1 does;
 * 2. if nothing was preempted, waiting requests in FCFS order while fewer than `maxNumSeqs` run:
 *    prefix-cache lookup (the last prompt token is always recomputed), block allocation (a request
 *    that does not fit stops admission), LoRA slot (an adapter that cannot get a slot is skipped over,
 *    keeping its place); a P/D decode leg instead allocates its prompt blocks and waits for the KV
 *    pull (`kvTransferSetupS + kvTransferSPerToken · uncached tokens`), then computes only its last
 *    prompt token;
 * 3. the step lasts `itlBaseS + itlPerSeqS · seqs + prefill tokens / prefillTokensPerS + loraLoadS ·
 *    adapters loaded`; at its end every request whose tokens are all computed samples one token.
 *
 * Simplifications (vs vLLM): generated tokens' blocks are not hashed (only prompt blocks are
 * cacheable); a prefill leg frees its blocks at once (they stay cached) instead of pinning them
 * until the decoder's pull; a decode leg that is preempted recomputes its prompt locally; no
 * speculative decoding, no priorities, no async scheduling overlap.
 *
 * `abort(id)` cancels a request at the current time: it leaves whatever queue or batch it is in,
 * its blocks are released (full prompt blocks stay cached) and it finishes with `abort`.
 *
 * Not re-entrant, except that listeners may call `submit`.
 */
import { Deque } from './deque.js';
import { KvCache, type BlockTable } from './kv-cache.js';
import { Observations } from './observations.js';
import type { EngineProfile } from './profiles.js';
import type { EngineListener, EngineRequest, EngineResult, FinishReason, KvTransferParams } from './request.js';

/** Construction options. */
export interface EngineOptions {
  readonly profile: EngineProfile;
  readonly listener?: EngineListener;
  /** Reported as `remoteEngineId` by prefill legs; default `engine-0`. */
  readonly engineId?: string;
  /** Keep every TTFT/ITL value (default true); false keeps count and sum only. */
  readonly keepObservations?: boolean;
  /** Virtual start time in seconds (default 0). */
  readonly startS?: number;
}

/** What the replica's `/metrics` would report, at `timeS`. Counters are cumulative. */
export interface EngineSnapshot {
  readonly timeS: number;
  /** `vllm:num_requests_running`. */
  readonly running: number;
  /** `vllm:num_requests_waiting` (including decode legs waiting for their KV pull). */
  readonly waiting: number;
  /** `vllm:kv_cache_usage_perc`, 0..1. */
  readonly kvCacheUsage: number;
  /** `vllm:prefix_cache_queries_total` / `_hits_total`, in tokens. */
  readonly prefixCacheQueries: number;
  readonly prefixCacheHits: number;
  /** `vllm:prompt_tokens_total` / `vllm:generation_tokens_total`. */
  readonly promptTokens: number;
  readonly generationTokens: number;
  /** `vllm:num_preemptions_total`. */
  readonly preemptions: number;
  /** `vllm:request_success_total` (all finish reasons but rejections). */
  readonly requestSuccess: number;
  readonly rejected: number;
  /** Blocks evicted from the prefix cache so far. */
  readonly evictions: number;
  /** `vllm:lora_requests_info` labels: loaded adapters, adapters of running / waiting requests. */
  readonly loadedLoras: readonly string[];
  readonly runningLoras: readonly string[];
  readonly waitingLoras: readonly string[];
  /** `vllm:time_to_first_token_seconds` and `vllm:inter_token_latency_seconds` (live objects). */
  readonly ttft: Observations;
  readonly itl: Observations;
}

const NO_TRANSFER = Number.NaN;

class Seq {
  readonly blocks: BlockTable = [];
  readonly hashes: ArrayLike<number>;
  readonly maxOutput: number;
  numComputed = 0;
  output = 0;
  /** Prompt blocks whose hashes are registered in the cache. */
  hashed = 0;
  cachedTokens = -1;
  firstTokenS = Number.NaN;
  lastTokenS = Number.NaN;
  preemptions = 0;
  /** A decode leg whose prompt KV still has to be pulled. */
  remote: boolean;
  readyS = NO_TRANSFER;

  constructor(
    readonly request: EngineRequest,
    readonly arrivalS: number,
  ) {
    this.hashes = request.blockHashes;
    this.maxOutput = request.pd?.role === 'prefill' ? 1 : request.maxOutputTokens;
    this.remote = request.pd?.role === 'decode';
  }

  get numTokens(): number {
    return this.request.promptTokens + this.output;
  }
}

interface LoraSlot {
  running: number;
  lastUsedS: number;
}

export class Engine {
  readonly profile: EngineProfile;
  readonly kv: KvCache;
  readonly #listener: EngineListener;
  readonly #engineId: string;
  readonly #running: Seq[] = [];
  readonly #waiting = new Deque<Seq>();
  readonly #transferring: Seq[] = [];
  readonly #loras = new Map<string, LoraSlot>();
  readonly #skipped: Seq[] = [];
  readonly #stepSeqs: Seq[] = [];
  readonly #stepNew: Int32Array;
  readonly #secondsPerPrefillToken: number;
  readonly #ttft: Observations;
  readonly #itl: Observations;
  #now: number;
  #stepEndS = Number.NaN;
  /** No step starts before this time (see `holdUntil`). */
  #holdS = Number.NEGATIVE_INFINITY;
  /** The last scheduling attempt found nothing to run; cleared by anything that could change that. */
  #stalled = false;
  #prefixQueries = 0;
  #prefixHits = 0;
  #promptTokens = 0;
  #generationTokens = 0;
  #preemptions = 0;
  #success = 0;
  #rejected = 0;

  constructor(options: EngineOptions) {
    this.profile = options.profile;
    this.kv = new KvCache(options.profile.numGpuBlocks, options.profile.blockSize);
    this.#listener = options.listener ?? {};
    this.#engineId = options.engineId ?? 'engine-0';
    this.#stepNew = new Int32Array(options.profile.maxNumSeqs);
    this.#secondsPerPrefillToken = 1 / options.profile.prefillTokensPerS;
    this.#ttft = new Observations(options.keepObservations ?? true);
    this.#itl = new Observations(options.keepObservations ?? true);
    this.#now = options.startS ?? 0;
  }

  /** The engine's current virtual time (seconds). */
  get now(): number {
    return this.#now;
  }

  /** Whether nothing is running, waiting or in flight. */
  get idle(): boolean {
    return this.#running.length === 0 && this.#waiting.length === 0 && this.#transferring.length === 0 && Number.isNaN(this.#stepEndS);
  }

  /**
   * Enqueues `request` at the current time (call `advanceTo(arrival)` first). A request that can
   * never run — prompt + output beyond `maxModelLen`, more blocks than the cache has, a LoRA with
   * `maxLoras` 0, or a non-positive length — finishes at once with `finishReason` `rejected`.
   */
  submit(request: EngineRequest): void {
    const p = this.profile;
    const seq = new Seq(request, this.#now);
    const total = request.promptTokens + seq.maxOutput;
    let error: string | undefined;
    if (!(request.promptTokens >= 1) || !(seq.maxOutput >= 1)) error = 'prompt and output must be at least one token';
    else if (total > p.maxModelLen) error = `prompt + output ${total} exceeds max-model-len ${p.maxModelLen}`;
    else if (Math.ceil(total / p.blockSize) > p.numGpuBlocks) error = `request needs more than the ${p.numGpuBlocks} KV blocks`;
    else if (request.lora !== undefined && p.maxLoras < 1) error = 'LoRA requested but max-loras is 0';
    if (error !== undefined) {
      this.#rejected++;
      this.#finish(seq, 'rejected', error, false);
      return;
    }
    this.#waiting.pushBack(seq);
    this.#stalled = false;
  }

  /**
   * Cancels every unfinished request with this `id` at the current time (call `advanceTo` first),
   * as vLLM does when a client disconnects: it leaves the waiting queue, the running batch (and the
   * step in flight, which produces no token for it) or its KV pull; its blocks are released — full
   * prompt blocks stay in the prefix cache like any finished request's — and its LoRA slot is
   * freed. Each one finishes through the listener with `finishReason` `abort` and counts in
   * `requestSuccess`. Returns how many requests were aborted (0 when none is live under that id).
   * Must not be called from a listener.
   */
  abort(id: string): number {
    let aborted = 0;
    const running = this.#extract(this.#running, id);
    if (running.length > 0) this.#dropFromStep(id);
    for (const s of running) {
      this.#leaveRunning(s);
      this.#finishAborted(s);
    }
    aborted += running.length;
    const waiting = this.#waiting.length;
    for (let i = 0; i < waiting; i++) {
      const s = this.#waiting.popFront();
      if (s === undefined) break;
      if (s.request.id !== id) {
        this.#waiting.pushBack(s);
        continue;
      }
      this.#finishAborted(s);
      aborted++;
    }
    const pulling = this.#extract(this.#transferring, id);
    for (const s of pulling) this.#finishAborted(s);
    aborted += pulling.length;
    if (aborted > 0) this.#stalled = false;
    return aborted;
  }

  /** Removes `id`'s sequences from `list` in place (keeping the others' order) and returns them. */
  #extract(list: Seq[], id: string): Seq[] {
    const out: Seq[] = [];
    let kept = 0;
    for (const s of list) {
      if (s.request.id === id) out.push(s);
      else list[kept++] = s;
    }
    list.length = kept;
    return out;
  }

  /**
   * When the next step ends or the next KV pull completes (≥ `now`); `now` itself when a step can
   * start at once; `Infinity` when nothing will happen without a new request.
   */
  nextEventTime(): number {
    if (!Number.isNaN(this.#stepEndS)) return this.#stepEndS;
    let next = Number.POSITIVE_INFINITY;
    if (!this.#stalled && (this.#running.length > 0 || this.#waiting.length > 0)) return Math.max(this.#now, this.#holdS);
    for (const s of this.#transferring) if (s.readyS < next) next = s.readyS;
    return Math.max(next, this.#now);
  }

  /**
   * Runs the engine up to time `t` (≥ `now`; earlier values are ignored): completes every step that
   * ends by `t`, starting the next step as soon as one ends, and reports events through the
   * listener. Afterwards `now` is `t`; a step in flight across `t` completes in a later call.
   */
  advanceTo(t: number): void {
    for (;;) {
      if (!Number.isNaN(this.#stepEndS)) {
        if (this.#stepEndS > t) break;
        this.#now = this.#stepEndS;
        this.#stepEndS = Number.NaN;
        this.#completeStep();
        continue;
      }
      this.#pullArrived();
      if (this.#holdS > this.#now) {
        // A coupled rank waits for its group's step boundary before starting a step.
        if (this.#holdS > t) break;
        this.#now = this.#holdS;
      }
      if (!this.#stalled && this.#startStep()) continue;
      this.#stalled = true;
      let next = Number.POSITIVE_INFINITY;
      for (const s of this.#transferring) if (s.readyS < next) next = s.readyS;
      if (next > t) break;
      this.#now = Math.max(this.#now, next);
    }
    if (t > this.#now) this.#now = t;
  }

  /** When the step in flight ends, or NaN when no step is in flight. */
  get stepEndS(): number {
    return this.#stepEndS;
  }

  /**
   * Data-parallel coupling (DP attention with expert parallelism: every forward pass synchronises
   * the group's ranks): makes the step in flight end at `t` when it would end earlier. No-op
   * without a step in flight.
   */
  stretchStepTo(t: number): void {
    if (!Number.isNaN(this.#stepEndS) && t > this.#stepEndS) this.#stepEndS = t;
  }

  /** Data-parallel coupling: no step starts before `t` (the group's current step boundary). */
  holdUntil(t: number): void {
    if (t > this.#holdS) this.#holdS = t;
  }

  /** Runs until nothing is left (no new requests arrive meanwhile); returns the final time. */
  drain(): number {
    for (let next = this.nextEventTime(); next !== Number.POSITIVE_INFINITY; next = this.nextEventTime()) this.advanceTo(next);
    return this.#now;
  }

  /** Forgets every cached block not in use (vLLM `/reset_prefix_cache`). */
  resetPrefixCache(): void {
    this.kv.resetPrefixCache();
  }

  /** The metrics a `/metrics` scrape would show now. */
  snapshot(): EngineSnapshot {
    const runningLoras = new Set<string>();
    for (const s of this.#running) if (s.request.lora !== undefined) runningLoras.add(s.request.lora);
    const waitingLoras = new Set<string>();
    for (let i = 0; i < this.#waiting.length; i++) {
      const l = this.#waiting.at(i)?.request.lora;
      if (l !== undefined) waitingLoras.add(l);
    }
    return {
      timeS: this.#now,
      running: this.#running.length,
      waiting: this.#waiting.length + this.#transferring.length,
      kvCacheUsage: this.kv.usage,
      prefixCacheQueries: this.#prefixQueries,
      prefixCacheHits: this.#prefixHits,
      promptTokens: this.#promptTokens,
      generationTokens: this.#generationTokens,
      preemptions: this.#preemptions,
      requestSuccess: this.#success,
      rejected: this.#rejected,
      evictions: this.kv.evictions,
      loadedLoras: [...this.#loras.keys()],
      runningLoras: [...runningLoras],
      waitingLoras: [...waitingLoras],
      ttft: this.#ttft,
      itl: this.#itl,
    };
  }

  /** Decode legs whose KV pull has finished become schedulable with only the last prompt token left. */
  #pullArrived(): void {
    if (this.#transferring.length === 0) return;
    let kept = 0;
    for (const s of this.#transferring) {
      if (s.readyS > this.#now) {
        this.#transferring[kept++] = s;
        continue;
      }
      s.remote = false;
      s.readyS = NO_TRANSFER;
      s.numComputed = s.request.promptTokens - 1;
      this.#registerComputed(s, s.request.promptTokens);
      this.#waiting.pushFront(s);
      this.#stalled = false;
    }
    this.#transferring.length = kept;
  }

  /** Schedules one step at `now`; false when nothing could be scheduled. */
  #startStep(): boolean {
    const p = this.profile;
    const kv = this.kv;
    let budget = p.maxNumBatchedTokens;
    let prefillTokens = 0;
    let loraLoads = 0;
    let preempted = false;
    this.#stepSeqs.length = 0;

    for (let i = 0; i < this.#running.length && budget > 0; i++) {
      const s = this.#running[i];
      if (s === undefined) break;
      const numNew = Math.min(s.numTokens - s.numComputed, budget);
      if (numNew <= 0) continue;
      let victim: Seq | undefined;
      while (!kv.allocate(s.blocks, s.hashes, 0, s.numComputed + numNew)) {
        victim = this.#running.pop();
        if (victim === undefined) break;
        this.#preempt(victim);
        preempted = true;
        if (victim === s) break;
      }
      if (victim === s) break;
      prefillTokens += this.#schedule(s, numNew);
      budget -= numNew;
    }

    if (!preempted) {
      while (this.#waiting.length > 0 && this.#running.length < p.maxNumSeqs && budget > 0) {
        const s = this.#waiting.peekFront();
        if (s === undefined) break;
        const fresh = s.blocks.length === 0;
        const cached = fresh ? kv.cachedBlocks(s.hashes, s.numTokens) : 0;
        const start = fresh ? cached * p.blockSize : s.numComputed;
        if (s.remote) {
          if (!kv.allocate(s.blocks, s.hashes, cached, s.request.promptTokens)) break;
          s.hashed = cached;
          this.#noteLookup(s, start);
          s.readyS = this.#now + p.kvTransferSetupS + p.kvTransferSPerToken * (s.request.promptTokens - start);
          this.#waiting.popFront();
          this.#transferring.push(s);
          continue;
        }
        const lora = s.request.lora;
        let slot: LoraSlot | undefined;
        // undefined: no adapter to load; null: a slot is free; a name: the idle adapter to unload.
        let room: string | null | undefined;
        if (lora !== undefined) {
          slot = this.#loras.get(lora);
          if (slot === undefined) {
            room = this.#loraRoom();
            if (room === undefined) {
              this.#skipped.push(s);
              this.#waiting.popFront();
              continue;
            }
          }
        }
        const numNew = Math.min(s.numTokens - start, budget);
        if (!kv.allocate(s.blocks, s.hashes, cached, start + numNew)) break;
        if (fresh) {
          s.hashed = cached;
          s.numComputed = start;
          this.#noteLookup(s, start);
        }
        if (lora !== undefined) {
          if (room !== undefined) {
            if (room !== null) this.#loras.delete(room);
            slot = { running: 0, lastUsedS: this.#now };
            this.#loras.set(lora, slot);
            loraLoads++;
          }
          if (slot !== undefined) {
            slot.running++;
            slot.lastUsedS = this.#now;
          }
        }
        this.#waiting.popFront();
        this.#running.push(s);
        prefillTokens += this.#schedule(s, numNew);
        budget -= numNew;
      }
      for (let i = this.#skipped.length - 1; i >= 0; i--) {
        const s = this.#skipped[i];
        if (s !== undefined) this.#waiting.pushFront(s);
      }
      this.#skipped.length = 0;
    }

    const n = this.#stepSeqs.length;
    if (n === 0 && loraLoads === 0) return preempted;
    this.#stepEndS =
      this.#now + p.itlBaseS + p.itlPerSeqS * n + (prefillTokens > 0 ? prefillTokens * this.#secondsPerPrefillToken : 0) + p.loraLoadS * loraLoads;
    return true;
  }

  /** Adds `s` to the step; returns how many of its new tokens are prefill (not decode) tokens. */
  #schedule(s: Seq, numNew: number): number {
    this.#stepNew[this.#stepSeqs.length] = numNew;
    this.#stepSeqs.push(s);
    // vLLM caches a full block as soon as it is scheduled for computation.
    this.#registerComputed(s, s.numComputed + numNew);
    return s.output > 0 && numNew === 1 && s.numComputed + 1 === s.numTokens ? 0 : numNew;
  }

  /** Registers the hashes of the prompt blocks fully covered by the first `tokens` tokens. */
  #registerComputed(s: Seq, tokens: number): void {
    const full = Math.min(Math.floor(Math.min(tokens, s.request.promptTokens) / this.profile.blockSize), s.hashes.length);
    if (full > s.hashed) {
      this.kv.registerHashes(s.blocks, s.hashes, s.hashed, full);
      s.hashed = full;
    }
  }

  #noteLookup(s: Seq, cachedTokens: number): void {
    this.#prefixQueries += s.numTokens;
    this.#prefixHits += cachedTokens;
    if (s.cachedTokens < 0) s.cachedTokens = cachedTokens;
  }

  /** null when a LoRA slot is free, else the least recently used idle adapter, else undefined (all busy). */
  #loraRoom(): string | null | undefined {
    if (this.#loras.size < this.profile.maxLoras) return null;
    let victim: string | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [name, slot] of this.#loras) {
      if (slot.running === 0 && slot.lastUsedS < oldest) {
        oldest = slot.lastUsedS;
        victim = name;
      }
    }
    return victim;
  }

  #preempt(s: Seq): void {
    this.kv.release(s.blocks);
    s.numComputed = 0;
    s.hashed = 0;
    s.preemptions++;
    this.#preemptions++;
    this.#leaveRunning(s);
    this.#waiting.pushFront(s);
  }

  #leaveRunning(s: Seq): void {
    const lora = s.request.lora;
    if (lora === undefined) return;
    const slot = this.#loras.get(lora);
    if (slot !== undefined) {
      slot.running--;
      slot.lastUsedS = this.#now;
    }
  }

  /** Removes `id`'s sequences from the step in flight, keeping `#stepNew` aligned with `#stepSeqs`. */
  #dropFromStep(id: string): void {
    let kept = 0;
    for (let k = 0; k < this.#stepSeqs.length; k++) {
      const s = this.#stepSeqs[k];
      if (s === undefined || s.request.id === id) continue;
      this.#stepNew[kept] = this.#stepNew[k] ?? 0;
      this.#stepSeqs[kept++] = s;
    }
    this.#stepSeqs.length = kept;
  }

  /** Finishes a sequence already taken out of every queue (and LoRA bookkeeping) with `abort`. */
  #finishAborted(s: Seq): void {
    this.#success++;
    this.#finish(s, 'abort', undefined, false);
  }

  #completeStep(): void {
    const now = this.#now;
    const seqs = this.#stepSeqs;
    let finished = 0;
    for (let k = 0; k < seqs.length; k++) {
      const s = seqs[k];
      if (s === undefined) continue;
      s.numComputed += this.#stepNew[k] ?? 0;
      if (s.numComputed < s.numTokens) continue;
      const index = s.output++;
      this.#generationTokens++;
      if (index === 0) {
        s.firstTokenS = now;
        this.#ttft.observe(now - s.arrivalS);
        this.#promptTokens += s.request.promptTokens;
      } else {
        this.#itl.observe(now - s.lastTokenS);
      }
      s.lastTokenS = now;
      this.#listener.onToken?.(s.request, index, now);
      if (s.output >= s.maxOutput) {
        finished++;
        this.#success++;
        this.#finish(s, 'length', undefined, true);
      }
    }
    seqs.length = 0;
    if (finished > 0) {
      let kept = 0;
      for (const s of this.#running) if (s.output < s.maxOutput) this.#running[kept++] = s;
      this.#running.length = kept;
    }
    this.#stalled = false;
  }

  /** Reports `s` finished; `running` says whether it still counts against its LoRA slot. */
  #finish(s: Seq, reason: FinishReason, error: string | undefined, running: boolean): void {
    let kvTransferParams: KvTransferParams | undefined;
    if (reason === 'length' && s.request.pd?.role === 'prefill') {
      kvTransferParams = {
        doRemotePrefill: true,
        doRemoteDecode: false,
        remoteEngineId: this.#engineId,
        remoteRequestId: s.request.id,
        remoteBlockIds: s.blocks.slice(),
        remoteNumTokens: s.request.promptTokens,
      };
    }
    if (reason !== 'rejected') this.kv.release(s.blocks);
    if (running) this.#leaveRunning(s);
    const result: EngineResult = {
      request: s.request,
      finishReason: reason,
      arrivalS: s.arrivalS,
      firstTokenS: reason === 'rejected' ? s.arrivalS : s.firstTokenS,
      finishS: this.#now,
      outputTokens: s.output,
      cachedTokens: Math.max(0, s.cachedTokens),
      preemptions: s.preemptions,
      ...(kvTransferParams === undefined ? {} : { kvTransferParams }),
      ...(error === undefined ? {} : { error }),
    };
    this.#listener.onFinish?.(result);
  }
}
