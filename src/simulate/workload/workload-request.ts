/**
 * One request of a simulated workload: when it arrives, what it asks for and how its prompt shares
 * prefixes with others. Loaders and generators produce these in arrival order.
 */
import type { PromptSource } from './prompt-text.js';

/** A simulated inference request. */
export interface WorkloadRequest {
  /** Arrival time in milliseconds since the start of the workload (non-decreasing along a workload). */
  readonly arrivalMs: number;
  /** Model the request names. */
  readonly model: string;
  /** The prompt text, produced on demand (`prompt.length === promptTokens × 4`). */
  readonly prompt: PromptSource;
  /** Prompt length in tokens. */
  readonly promptTokens: number;
  /** Tokens the request generates. */
  readonly outputTokens: number;
  /**
   * The prompt's KV blocks at `blockTokens` granularity, last one possibly partial: equal ids at the
   * same position mean the prompts share that block and everything before it (Mooncake `hash_ids`).
   */
  readonly blockIds: readonly number[];
  /** Tokens per block of `blockIds` (512 for Mooncake). */
  readonly blockTokens: number;
  /** Conversation the request belongs to, when the workload has conversations. */
  readonly sessionId?: string;
  /** 0-based turn within the conversation, when `sessionId` is set. */
  readonly turn?: number;
}
