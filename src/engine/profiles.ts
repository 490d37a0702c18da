/**
 * Calibrated constants for the simulated vLLM replica (`Engine`). A profile describes one replica
 * (one DP rank): its step-time model and its scheduler/cache limits.
 *
 * Step-time model (one engine iteration, i.e. one forward pass of the continuous batch):
 *
 *     step = itlBaseS + itlPerSeqS · (sequences in the batch) + (prefill tokens in the step) / prefillTokensPerS
 *            + loraLoadS for each adapter loaded by the step
 *
 * so a decode-only batch of b sequences has `ITL = itlBaseS + itlPerSeqS · b`, and a prompt of n
 * uncached tokens adds ≈ `n / prefillTokensPerS` to its TTFT (model-server.md §8: prefill cost is
 * ~linear in uncached tokens, decode ITL ~independent of the prompt). A P/D decode leg pays
 * `kvTransferSetupS + kvTransferSPerToken · (tokens not cached locally)` instead of prefill
 * (model-server.md §7.2: "P/D decode TTFT = n_prompt × kv-cache-transfer-time-per-token").
 *
 * References: `/work/shared/reference/model-server.md` (§ numbers below), peer-routers.md §3.
 */

/** One replica's constants. All durations are in seconds; all limits are per replica (per DP rank). */
export interface EngineProfile {
  readonly name: string;
  /** Uncached prompt tokens processed per second of step time; `Infinity` makes prefill free. */
  readonly prefillTokensPerS: number;
  /** Fixed cost of one engine step (a decode-only batch of one sequence has ITL ≈ base + perSeq). */
  readonly itlBaseS: number;
  /** Added step cost per sequence scheduled in the step. */
  readonly itlPerSeqS: number;
  /** `--max-num-seqs`: running requests per step. */
  readonly maxNumSeqs: number;
  /** `--max-num-batched-tokens`: token budget of one step (chunked prefill splits longer prompts). */
  readonly maxNumBatchedTokens: number;
  /** `num_gpu_blocks` of the KV cache. */
  readonly numGpuBlocks: number;
  /** `--block-size` in tokens. */
  readonly blockSize: number;
  /** `--max-model-len`: longest prompt + output accepted. */
  readonly maxModelLen: number;
  /** `--max-loras`: adapters resident at once. */
  readonly maxLoras: number;
  /** Cost of loading one LoRA adapter into a slot (added to the step that needs it). */
  readonly loraLoadS: number;
  /** P/D: fixed cost of one remote KV pull (handshake, setup). */
  readonly kvTransferSetupS: number;
  /** P/D: cost per pulled prompt token. */
  readonly kvTransferSPerToken: number;
}

/**
 * Llama-3.1-8B on one H100 80 GB (bf16), vLLM V1 defaults.
 * - ITL 10 ms at batch 1: sim reference table 10–15 ms for 7–8B/H100 (model-server.md §8) and the
 *   sim's 8B/H100 profile ITL 12 ms (§7.2). Per-sequence slope 60 µs (estimate: ~25 ms at 256
 *   sequences, the loaded-cluster ITL 24–26 ms of §8's llm-d benchmarks).
 * - Prefill 20,000 tok/s: §8 derived calibration "15–30k tok/s once batched" for 8B on one H100.
 * - KV: 128 KB/token (§8, Llama-3 8B fp16); ~50 GB left for KV at 0.9 memory utilisation after
 *   16 GB weights (estimate) ⇒ ~390k tokens ⇒ 24,000 blocks of 16 (block 16 = CUDA default, §2).
 * - max-num-seqs 1024 / max-num-batched-tokens 8192: vLLM V1 `EngineArgs` defaults for the OpenAI
 *   server on ≥70 GiB GPUs (not in the reference documents; from vLLM `arg_utils.py`, unverified here).
 * - max-loras 1 (vLLM and sim default, §7.1); LoRA load 30 ms (estimate).
 * - KV transfer 3 µs/token + 1 ms setup: §8 (IB NDR 400G, 8B) and RDMA setup 0.5–2 ms; the sim's
 *   8B/H100 profile uses 3 µs/token too (§7.2).
 */
export const LLAMA_8B_H100: EngineProfile = {
  name: 'llama-8b-h100',
  prefillTokensPerS: 20_000,
  itlBaseS: 0.01,
  itlPerSeqS: 0.00006,
  maxNumSeqs: 1024,
  maxNumBatchedTokens: 8192,
  numGpuBlocks: 24_000,
  blockSize: 16,
  maxModelLen: 131_072,
  maxLoras: 1,
  loraLoadS: 0.03,
  kvTransferSetupS: 0.001,
  kvTransferSPerToken: 0.000003,
};

/**
 * Qwen2.5-3B-Instruct on one NVIDIA T4 16 GB (fp16; the seeds' deployment, 2,048-token context).
 * None of these numbers is published in the reference documents: all are estimates, sized so a
 * single request decodes at ~33 tokens/s as observed on the seeds.
 * - ITL 29 ms + 1 ms per sequence (batch 1: 30 ms ⇒ 33 tok/s). Bandwidth check: ~6.2 GB of weights
 *   read per step over the T4's 320 GB/s ≈ 19 ms minimum, plus overheads.
 * - Prefill 3,000 tok/s: 2·3.1e9 FLOP/token at ~20 TFLOP/s effective (≈30 % of the T4's 65 fp16
 *   tensor TFLOP/s).
 * - KV: 36 layers × 2 KV heads × 128 dims × 2 (K,V) × 2 bytes = 36 KB/token; ~6 GB for KV (estimate)
 *   ⇒ ~170k tokens ⇒ 10,000 blocks of 16.
 * - max-num-seqs 256 / max-num-batched-tokens 2048: vLLM V1 defaults for the OpenAI server on smaller
 *   GPUs (vLLM `arg_utils.py`, unverified here).
 * - LoRA load 100 ms (estimate). KV transfer 12 µs/token + 5 ms setup: §8 gives ~50 µs/token for
 *   25 G Ethernet at 128 KB/token (⇒ ~14 µs at 36 KB) and 2–10 ms TCP setup; §7.2's small-model
 *   profile uses 12 µs/token.
 */
export const QWEN25_3B_T4: EngineProfile = {
  name: 'qwen2.5-3b-t4',
  prefillTokensPerS: 3_000,
  itlBaseS: 0.029,
  itlPerSeqS: 0.001,
  maxNumSeqs: 256,
  maxNumBatchedTokens: 2048,
  numGpuBlocks: 10_000,
  blockSize: 16,
  maxModelLen: 2048,
  maxLoras: 1,
  loraLoadS: 0.1,
  kvTransferSetupS: 0.005,
  kvTransferSPerToken: 0.000012,
};

/**
 * Zero latency: every step takes no time (the sim's default of all latency flags 0, model-server.md
 * §7.2). Limits are those of `llama-8b-h100`, so queueing and KV pressure still happen in order.
 */
export const INSTANT: EngineProfile = {
  ...LLAMA_8B_H100,
  name: 'instant',
  prefillTokensPerS: Number.POSITIVE_INFINITY,
  itlBaseS: 0,
  itlPerSeqS: 0,
  loraLoadS: 0,
  kvTransferSetupS: 0,
  kvTransferSPerToken: 0,
};

/** The built-in profiles by name. */
export const ENGINE_PROFILES: ReadonlyMap<string, EngineProfile> = new Map(
  [LLAMA_8B_H100, QWEN25_3B_T4, INSTANT].map((p) => [p.name, p]),
);

/** The built-in profile called `name`, or throws `RangeError` naming the known ones. */
export function engineProfile(name: string): EngineProfile {
  const p = ENGINE_PROFILES.get(name);
  if (p === undefined) throw new RangeError(`unknown engine profile "${name}" (known: ${[...ENGINE_PROFILES.keys()].join(', ')})`);
  return p;
}

/** `base` with `overrides` applied (e.g. a smaller KV cache for a test); checks the limits are usable. */
export function withOverrides(base: EngineProfile, overrides: Partial<EngineProfile>): EngineProfile {
  const p: EngineProfile = { ...base, ...overrides };
  for (const k of ['maxNumSeqs', 'maxNumBatchedTokens', 'numGpuBlocks', 'blockSize', 'maxModelLen'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 1) throw new RangeError(`engine profile ${k} must be a positive integer, got ${p[k]}`);
  }
  if (!Number.isInteger(p.maxLoras) || p.maxLoras < 0) throw new RangeError(`engine profile maxLoras must be ≥ 0, got ${p.maxLoras}`);
  return p;
}
