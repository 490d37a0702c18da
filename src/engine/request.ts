/**
 * What a simulated vLLM replica (`Engine`) accepts and reports per request.
 */

/**
 * The `kv_transfer_params` a P/D prefill leg returns (model-server.md §5 step 3), to be handed to
 * the decode leg's `EngineRequest.pd`. Values are simulated (`remoteBlockIds` are the prefiller's
 * block ids at the time it finished).
 */
export interface KvTransferParams {
  readonly doRemotePrefill: true;
  readonly doRemoteDecode: false;
  readonly remoteEngineId: string;
  readonly remoteRequestId: string;
  readonly remoteBlockIds: readonly number[];
  /** Prompt tokens whose KV the prefiller holds. */
  readonly remoteNumTokens: number;
}

/**
 * P/D role data: a prefill leg (`do_remote_decode`: compute the prompt, emit one token, return
 * `KvTransferParams`) or a decode leg (`do_remote_prefill`: pull the prompt's KV instead of
 * computing it, then decode).
 */
export type PdRole = { readonly role: 'prefill' } | { readonly role: 'decode'; readonly transfer: KvTransferParams };

/** One request submitted to an `Engine`. */
export interface EngineRequest {
  /** Caller's id, echoed in events; need not be unique to the engine. */
  readonly id: string;
  /** Prompt length in tokens (≥ 1). */
  readonly promptTokens: number;
  /**
   * Chained hashes of the prompt's full blocks at the engine's block size (see `block-hashes.ts`);
   * fewer than `floor(promptTokens / blockSize)` means the rest are never cached.
   */
  readonly blockHashes: ArrayLike<number>;
  /** Tokens to generate (≥ 1); the request always generates exactly this many (ignore_eos). */
  readonly maxOutputTokens: number;
  /** LoRA adapter name; requests naming one need a LoRA slot. */
  readonly lora?: string;
  readonly pd?: PdRole;
}

/**
 * Why a request finished: `length` after its last output token, `rejected` at submission (it can
 * never run), `abort` when the caller cancelled it with `Engine.abort` (vLLM's `finished_reason`).
 */
export type FinishReason = 'length' | 'rejected' | 'abort';

/** The outcome of one request, passed to `EngineListener.onFinish`. */
export interface EngineResult {
  readonly request: EngineRequest;
  readonly finishReason: FinishReason;
  /**
   * Virtual times in seconds. `firstTokenS`/`finishS` equal `arrivalS` for a rejected request;
   * `firstTokenS` is NaN for a request aborted before its first token.
   */
  readonly arrivalS: number;
  readonly firstTokenS: number;
  readonly finishS: number;
  readonly outputTokens: number;
  /** Prompt tokens found in the local prefix cache when the request was first scheduled. */
  readonly cachedTokens: number;
  readonly preemptions: number;
  /** Set for a P/D prefill leg. */
  readonly kvTransferParams?: KvTransferParams;
  /** Set when rejected (prompt + output beyond max-model-len, or larger than the whole KV cache). */
  readonly error?: string;
}

/** Callbacks for what happens inside `Engine.advanceTo`; called synchronously, in time order. */
export interface EngineListener {
  /** Token `index` (0-based) of `request` was produced at `timeS`. */
  onToken?(request: EngineRequest, index: number, timeS: number): void;
  onFinish?(result: EngineResult): void;
}
