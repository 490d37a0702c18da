/**
 * Synthetic shared-prefix workload with inference-perf's `shared_prefix` parameters.
 *
 * `numGroups` groups each have a system prompt of `systemPromptLen` tokens; each group has
 * `promptsPerGroup` users asking questions of `questionLen` tokens and getting answers of
 * `outputLen` tokens. Turn 0 of a user's conversation is `system ‖ question₀`; with `turns > 1`,
 * turn t is turn t−1's prompt ‖ answer_{t−1} ‖ question_t, so every turn's prompt extends the
 * previous one. Requests of one turn come in a seeded random order, all before the next turn's.
 *
 * Text comes from a `TextBank`: the system prompt of group g is key g, question t of user u is key
 * G + 2·(u·T + t) and its answer the next key, so groups share exactly their system prompt and
 * every question and answer text is distinct (u numbers users across groups, T is `turns`).
 * Block ids are interned chained ids at `blockTokens` granularity: two prompts get the same id at a
 * position iff their token ranges up to the end of that block are made of the same segments.
 *
 * Everything — texts, order, arrivals — is a pure function of the options.
 */
import { CHARS_PER_TOKEN } from '../../prefix/constants.js';
import { mix32, Prng } from '../../util/prng.js';
import { chainedBlockIds, type TokenSegment } from './chained-block-ids.js';
import { SegmentedPrompt } from './prompt-text.js';
import { TextBank } from './text-bank.js';
import { WorkloadError } from './workload-error.js';
import type { WorkloadRequest } from './workload-request.js';

/** How arrivals are spaced: exponential gaps (Poisson process) or a fixed gap of 1/qps. */
export type ArrivalProcess = 'poisson' | 'constant';

/** Parameters of {@link generateSharedPrefix} (lengths in tokens). */
export interface SharedPrefixOptions {
  readonly numGroups: number;
  readonly promptsPerGroup: number;
  readonly systemPromptLen: number;
  readonly questionLen: number;
  readonly outputLen: number;
  /** Mean arrival rate in requests per second (> 0). */
  readonly qps: number;
  /** Default `'poisson'`. */
  readonly arrival?: ArrivalProcess;
  /** Turns per conversation (≥ 1); default 1. */
  readonly turns?: number;
  /** Default 0. */
  readonly seed?: number;
  /** Default `"synthetic"`. */
  readonly model?: string;
  /** Granularity of `blockIds`; default 512 (as Mooncake). */
  readonly blockTokens?: number;
  /** Bank the texts come from; default a fresh `TextBank` seeded with `seed`. */
  readonly bank?: TextBank;
}

/**
 * The requests of a shared-prefix workload (see the module doc), in arrival order:
 * `numGroups × promptsPerGroup × turns` of them, the first arriving at 0 ms. Throws a
 * `WorkloadError` on a parameter out of range.
 */
export function generateSharedPrefix(options: SharedPrefixOptions): WorkloadRequest[] {
  const { numGroups, promptsPerGroup, systemPromptLen, questionLen, outputLen, qps } = options;
  const turns = options.turns ?? 1;
  const seed = options.seed ?? 0;
  const blockTokens = options.blockTokens ?? 512;
  const arrival = options.arrival ?? 'poisson';
  const model = options.model ?? 'synthetic';
  requireInt('numGroups', numGroups, 1);
  requireInt('promptsPerGroup', promptsPerGroup, 1);
  requireInt('systemPromptLen', systemPromptLen, 0);
  requireInt('questionLen', questionLen, 1);
  requireInt('outputLen', outputLen, 0);
  requireInt('turns', turns, 1);
  requireInt('blockTokens', blockTokens, 1);
  if (!(qps > 0) || !Number.isFinite(qps)) throw new WorkloadError(`qps must be a positive number, got ${qps}`);
  if (arrival !== 'poisson' && arrival !== 'constant') throw new WorkloadError(`arrival must be 'poisson' or 'constant', got ${String(arrival)}`);
  const users = numGroups * promptsPerGroup;
  if (numGroups + 2 * users * turns > 0xffffffff) throw new WorkloadError('workload too large for 32-bit text keys');
  const bank = options.bank ?? new TextBank({ seed });

  const orderRng = new Prng(mix32(seed));
  const arrivalRng = new Prng(mix32(seed ^ 0x5bd1e995));
  const gapMs = 1000 / qps;
  const interned = new Map<string, number>();
  // The prompt of each user's latest turn, extended turn by turn.
  const history: TokenSegment[][] = [];
  for (let u = 0; u < users; u++) history.push([{ key: Math.floor(u / promptsPerGroup), tokens: systemPromptLen }]);

  const out: WorkloadRequest[] = [];
  let clock = 0;
  for (let t = 0; t < turns; t++) {
    const order = orderRng.shuffle(Array.from({ length: users }, (_, u) => u));
    for (const u of order) {
      const questionKey = numGroups + 2 * (u * turns + t);
      const segments = history[u] as TokenSegment[];
      if (t > 0) segments.push({ key: questionKey - 1, tokens: outputLen });
      segments.push({ key: questionKey, tokens: questionLen });
      const promptTokens = systemPromptLen + t * (questionLen + outputLen) + questionLen;
      const request: WorkloadRequest = {
        arrivalMs: clock,
        model,
        prompt: SegmentedPrompt.of(bank, segments.map((s) => ({ key: s.key, chars: s.tokens * CHARS_PER_TOKEN }))),
        promptTokens,
        outputTokens: outputLen,
        blockIds: chainedBlockIds(segments, blockTokens, interned),
        blockTokens,
        sessionId: `g${Math.floor(u / promptsPerGroup)}-u${u % promptsPerGroup}`,
        turn: t,
      };
      out.push(request);
      clock += arrival === 'constant' ? gapMs : arrivalRng.exponential(gapMs);
    }
  }
  return out;
}

function requireInt(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new WorkloadError(`${name} must be an integer ≥ ${min}, got ${value}`);
}
