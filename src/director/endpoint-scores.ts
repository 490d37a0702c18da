/**
 * Views of a profile's recorded scores (`ProfileScores`): the bounded per-endpoint map sent to the
 * data plane with `--emit-endpoint-scores`, and the winner / runner-up breakdown logged at debug level.
 */
import type { Endpoint } from '../datastore/endpoint.js';
import type { ProfileScores } from '../scheduling/types.js';

/**
 * Most endpoints whose scores go into the `envoy.lb` metadata. The reference sends every scored
 * endpoint; a pool of thousands would make every routing answer tens of kilobytes, so the targets and
 * then the highest-scored endpoints are sent, up to this many.
 */
export const MAX_EMITTED_SCORES = 64;

/**
 * `ip:port` → weighted total score, for the targets first and then the best-scored others, at most
 * `max` entries. The order of the map is the order of the entries on the wire.
 */
export function emittedScores(scores: ProfileScores, targets: readonly Endpoint[], max = MAX_EMITTED_SCORES): Map<string, number> {
  const { candidates, totals } = scores;
  const out = new Map<string, number>();
  for (const t of targets) {
    if (out.size >= max) return out;
    const i = candidates.indexOf(t);
    if (i >= 0) out.set(t.hostPort, totals[i] ?? 0);
  }
  if (out.size >= max || out.size >= candidates.length) return out;
  const order = candidates.map((_, i) => i).sort((a, b) => (totals[b] ?? 0) - (totals[a] ?? 0));
  for (const i of order) {
    if (out.size >= max) break;
    const e = candidates[i] as Endpoint;
    if (!out.has(e.hostPort)) out.set(e.hostPort, totals[i] ?? 0);
  }
  return out;
}

/** One endpoint's line in the breakdown: its total and each scorer's clamped score (by scorer name). */
export interface ScoredEndpoint {
  readonly endpoint: string;
  readonly total: number;
  readonly scorers: Record<string, number>;
}

/** The winner (the first target) and the best-scored other candidate, each with every scorer's score. */
export function scoreBreakdown(scores: ProfileScores, winner: Endpoint | undefined): { winner: ScoredEndpoint | undefined; runnerUp: ScoredEndpoint | undefined } {
  const { candidates, totals } = scores;
  const w = winner === undefined ? -1 : candidates.indexOf(winner);
  let r = -1;
  for (let i = 0; i < candidates.length; i++) {
    if (i === w) continue;
    if (r < 0 || (totals[i] ?? 0) > (totals[r] ?? 0)) r = i;
  }
  return { winner: w < 0 ? undefined : line(scores, w), runnerUp: r < 0 ? undefined : line(scores, r) };
}

function line(scores: ProfileScores, i: number): ScoredEndpoint {
  const byScorer: Record<string, number> = {};
  for (const s of scores.scorers) byScorer[s.name] = round(s.scores[i] ?? 0);
  return { endpoint: (scores.candidates[i] as Endpoint).hostPort, total: round(scores.totals[i] ?? 0), scorers: byScorer };
}

/** Six significant decimals: enough to tell scores apart in a log line without float noise. */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
