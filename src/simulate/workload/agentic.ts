/**
 * Synthetic agentic multi-tenant workload: the shape of agent traffic (Mooncake's tool-agent trace,
 * coding and support agents) that prefix-aware routing exists for.
 *
 * - `tenants` tenants each own a system prompt with tool definitions (`systemPromptTokens`, drawn
 *   per tenant); tenant popularity is Zipf-distributed (`tenantSkew`), so a few tenants are hot.
 * - Sessions (agent runs) start as a Poisson process of `sessionRate` per second; each belongs to one
 *   tenant. Turn 0's prompt is `system ‖ task`; every later turn appends the previous turn's output
 *   (a tool call or answer) and the tool's result: `prompt_t = prompt_{t−1} ‖ output_{t−1} ‖ tool_{t−1}`.
 * - A session has a geometric number of turns (mean `meanTurns`) and ends early rather than grow
 *   past `contextLimit` tokens. Turn t+1 arrives after turn t's estimated generation time
 *   (`outputTokens × msPerOutputToken`) plus an exponential tool latency (mean `toolLatencyMs`),
 *   so a session's requests never overlap.
 *
 * Texts come from a `TextBank` (tenant i's system prompt is key i; every task, output and tool
 * result gets a fresh key), and block ids are chained as Mooncake's `hash_ids`, so the prefixes
 * requests share are exactly the structure above. A pure function of the options.
 */
import { CHARS_PER_TOKEN } from '../../prefix/constants.js';
import { chainedBlockIds, type TokenSegment } from './chained-block-ids.js';
import { mix32, Prng } from '../../util/prng.js';
import { SegmentedPrompt } from './prompt-text.js';
import { TextBank } from './text-bank.js';
import { WorkloadError } from './workload-error.js';
import type { WorkloadRequest } from './workload-request.js';

/** An inclusive range of token counts, drawn uniformly. */
export interface TokenRange {
  readonly min: number;
  readonly max: number;
}

/** Parameters of {@link generateAgentic}; every field has a default (see `AGENTIC_DEFAULTS`). */
export interface AgenticOptions {
  readonly tenants?: number;
  readonly sessions?: number;
  /** Session starts per second (Poisson). */
  readonly sessionRate?: number;
  /** Zipf exponent of tenant popularity (0 = uniform). */
  readonly tenantSkew?: number;
  readonly systemPromptTokens?: TokenRange;
  /** The user's task, turn 0. */
  readonly taskTokens?: TokenRange;
  /** Generated per turn (tool call or answer). */
  readonly outputTokens?: TokenRange;
  /** Tool result appended after each turn's output. */
  readonly toolResultTokens?: TokenRange;
  readonly meanTurns?: number;
  readonly contextLimit?: number;
  readonly toolLatencyMs?: number;
  readonly msPerOutputToken?: number;
  readonly seed?: number;
  readonly model?: string;
  /** Granularity of `blockIds`; default 512 (as Mooncake). */
  readonly blockTokens?: number;
}

/** The defaults: sized so 8 replicas of an 8B model on H100 run busy but not overloaded when caching works. */
export const AGENTIC_DEFAULTS = {
  tenants: 24,
  sessions: 600,
  sessionRate: 1,
  tenantSkew: 1,
  systemPromptTokens: { min: 2000, max: 8000 },
  taskTokens: { min: 100, max: 1500 },
  outputTokens: { min: 30, max: 500 },
  toolResultTokens: { min: 100, max: 3000 },
  meanTurns: 8,
  contextLimit: 32_768,
  toolLatencyMs: 2000,
  msPerOutputToken: 15,
  seed: 0,
  model: 'synthetic',
  blockTokens: 512,
} as const satisfies Required<AgenticOptions>;

function requireInt(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new WorkloadError(`${name} must be an integer ≥ ${min}, got ${value}`);
}

function requireRange(name: string, r: TokenRange, min: number): void {
  requireInt(`${name}.min`, r.min, min);
  requireInt(`${name}.max`, r.max, r.min);
}

function requirePositive(name: string, value: number, allowZero: boolean): void {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new WorkloadError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`);
}

/**
 * The requests of an agentic workload (see the module doc), in arrival order (ties by session start).
 * Throws a `WorkloadError` on a parameter out of range.
 */
export function generateAgentic(options: AgenticOptions = {}): WorkloadRequest[] {
  const o = { ...AGENTIC_DEFAULTS, ...options };
  requireInt('tenants', o.tenants, 1);
  requireInt('sessions', o.sessions, 1);
  requirePositive('sessionRate', o.sessionRate, false);
  requirePositive('tenantSkew', o.tenantSkew, true);
  requireRange('systemPromptTokens', o.systemPromptTokens, 0);
  requireRange('taskTokens', o.taskTokens, 1);
  requireRange('outputTokens', o.outputTokens, 1);
  requireRange('toolResultTokens', o.toolResultTokens, 1);
  if (!(o.meanTurns >= 1) || !Number.isFinite(o.meanTurns)) throw new WorkloadError(`meanTurns must be ≥ 1, got ${o.meanTurns}`);
  requireInt('contextLimit', o.contextLimit, o.systemPromptTokens.max + o.taskTokens.max + 1);
  requirePositive('toolLatencyMs', o.toolLatencyMs, true);
  requirePositive('msPerOutputToken', o.msPerOutputToken, true);
  requireInt('blockTokens', o.blockTokens, 1);

  const rng = new Prng(mix32(o.seed ^ 0x2545f491));
  const bank = new TextBank({ seed: o.seed });
  const draw = (r: TokenRange): number => r.min + rng.int(r.max - r.min + 1);
  const systemTokens = Array.from({ length: o.tenants }, () => draw(o.systemPromptTokens));
  // Cumulative Zipf weights: tenant k is chosen with probability ∝ 1 / (k + 1)^skew.
  const cumulative: number[] = [];
  let total = 0;
  for (let k = 0; k < o.tenants; k++) cumulative.push((total += 1 / (k + 1) ** o.tenantSkew));
  const pickTenant = (): number => {
    const x = rng.next() * total;
    const k = cumulative.findIndex((c) => x < c);
    return k < 0 ? o.tenants - 1 : k;
  };
  // A turn ends the session with probability 1 / meanTurns (geometric number of turns).
  const endProbability = 1 / o.meanTurns;

  const interned = new Map<string, number>();
  let nextKey = o.tenants;
  const requests: { readonly request: WorkloadRequest; readonly order: number }[] = [];
  let startMs = 0;
  for (let s = 0; s < o.sessions; s++) {
    if (s > 0) startMs += rng.exponential(1000 / o.sessionRate);
    const tenant = pickTenant();
    const segments: TokenSegment[] = [
      { key: tenant, tokens: systemTokens[tenant] ?? 0 },
      { key: nextKey++, tokens: draw(o.taskTokens) },
    ];
    let promptTokens = segments.reduce((sum, x) => sum + x.tokens, 0);
    let arrivalMs = startMs;
    for (let turn = 0; ; turn++) {
      const outputTokens = draw(o.outputTokens);
      requests.push({
        order: requests.length,
        request: {
          arrivalMs,
          model: o.model,
          prompt: SegmentedPrompt.of(bank, segments.map((x) => ({ key: x.key, chars: x.tokens * CHARS_PER_TOKEN }))),
          promptTokens,
          outputTokens,
          blockIds: chainedBlockIds(segments, o.blockTokens, interned),
          blockTokens: o.blockTokens,
          sessionId: `t${tenant}-s${s}`,
          turn,
        },
      });
      const toolTokens = draw(o.toolResultTokens);
      if (rng.next() < endProbability || promptTokens + outputTokens + toolTokens + o.outputTokens.max > o.contextLimit) break;
      segments.push({ key: nextKey++, tokens: outputTokens }, { key: nextKey++, tokens: toolTokens });
      promptTokens += outputTokens + toolTokens;
      arrivalMs += outputTokens * o.msPerOutputToken + rng.exponential(o.toolLatencyMs);
    }
  }
  requests.sort((a, b) => a.request.arrivalMs - b.request.arrivalMs || a.order - b.order);
  return requests.map((r) => r.request);
}
