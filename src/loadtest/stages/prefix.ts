/**
 * Stage 2, prefix routing: groups of requests sharing a long system prompt (even groups use chat,
 * odd groups completions, since the two APIs hash differently). Each group's first request goes
 * first (all groups' firsts together), then the rest of every group, interleaved. Streaming, so the
 * TTFT of first and later requests can be compared: a prefix-aware picker sends the later ones to
 * the replica that cached the prompt.
 */
import { generationBody, type GenerationPath, type GenerationSpec, type RequestOutcome } from '../http-client.js';
import { stageDeadline } from '../pool.js';
import { countOutcomes, type StageContext, type StageCounts } from '../stage-context.js';
import { sendAll } from '../stage-runner.js';
import { median } from '../stats.js';

/** Stage parameters: `groups` × `groupSize` requests, system prompts of `systemPromptTokens`. */
export interface PrefixOptions {
  readonly groups: number;
  readonly groupSize: number;
  readonly systemPromptTokens: number;
  readonly concurrency: number;
}

/**
 * One group: `replicas` counts its successful, attributed requests per replica; `topReplica` is the
 * most common (undefined when none was attributed) and `topShare` its share (NaN then).
 */
export interface PrefixGroupResult {
  readonly group: number;
  readonly api: 'chat' | 'completions';
  readonly replicas: Readonly<Record<string, number>>;
  readonly topReplica?: string;
  readonly topShare: number;
}

/**
 * `affinity`: Σ over groups of the top replica's count / Σ attributed requests (groups weighted by
 * their attributed requests); NaN when no request was attributed. `ttftFirstMs` / `ttftLaterMs`:
 * median TTFT of successful first / later requests of the groups. `unattributed`: successful
 * requests whose replica is unknown. `cachedTokensLater`: mean `usage.prompt_tokens_details.cached_tokens`
 * of successful later requests that report it (NaN when none does).
 */
export interface PrefixResult {
  readonly counts: StageCounts;
  readonly groups: readonly PrefixGroupResult[];
  readonly affinity: number;
  readonly attributed: number;
  readonly unattributed: number;
  readonly ttftFirstMs: number;
  readonly ttftLaterMs: number;
  readonly cachedTokensLater: number;
}

function apiOf(group: number): { api: 'chat' | 'completions'; path: GenerationPath } {
  return group % 2 === 0 ? { api: 'chat', path: '/v1/chat/completions' } : { api: 'completions', path: '/v1/completions' };
}

/** The group's result from its outcomes. */
export function summarizeGroup(group: number, outcomes: readonly RequestOutcome[]): PrefixGroupResult {
  const replicas = new Map<string, number>();
  for (const o of outcomes) if (o.ok && o.replica !== undefined) replicas.set(o.replica, (replicas.get(o.replica) ?? 0) + 1);
  let top: string | undefined;
  let topCount = 0;
  let total = 0;
  for (const [name, n] of [...replicas].sort((a, b) => a[0].localeCompare(b[0]))) {
    total += n;
    if (n > topCount) {
      top = name;
      topCount = n;
    }
  }
  return { group, api: apiOf(group).api, replicas: Object.fromEntries(replicas), ...(top === undefined ? {} : { topReplica: top }), topShare: total === 0 ? Number.NaN : topCount / total };
}

/** Affinity over groups, weighted by attributed requests (see {@link PrefixResult}). */
export function prefixAffinity(groups: readonly PrefixGroupResult[]): number {
  let top = 0;
  let total = 0;
  for (const g of groups) {
    const counts = Object.values(g.replicas);
    total += counts.reduce((a, b) => a + b, 0);
    top += counts.length === 0 ? 0 : Math.max(...counts);
  }
  return total === 0 ? Number.NaN : top / total;
}

/** Runs the prefix stage. */
export async function runPrefix(ctx: StageContext, options: PrefixOptions): Promise<PrefixResult> {
  const { groups, groupSize } = options;
  const systems = Array.from({ length: groups }, (_, g) => ctx.prompts.systemPrompt(g, options.systemPromptTokens));
  const spec = (g: number, i: number): GenerationSpec =>
    generationBody(ctx.model, apiOf(g).path, { system: systems[g] ?? '', user: ctx.prompts.question(g, i) }, ctx.maxTokens, true);
  const firsts = Array.from({ length: groups }, (_, g) => spec(g, 0));
  const laterKeys: { group: number; index: number }[] = [];
  for (let i = 1; i < groupSize; i++) for (let g = 0; g < groups; g++) laterKeys.push({ group: g, index: i });
  const laters = laterKeys.map((k) => spec(k.group, k.index));

  const deadline = stageDeadline(ctx.stageTimeoutMs);
  const started = ctx.clock.now();
  ctx.progress.begin('prefix', groups * groupSize);
  try {
    const first = await sendAll(ctx, firsts, options.concurrency, deadline.signal, true);
    const later = await sendAll(ctx, laters, options.concurrency, deadline.signal, true);
    const byGroup: RequestOutcome[][] = Array.from({ length: groups }, () => []);
    first.outcomes.forEach((o, g) => byGroup[g]?.push(o));
    later.outcomes.forEach((o, i) => byGroup[laterKeys[i]?.group ?? 0]?.push(o));
    const groupResults = byGroup.map((outcomes, g) => summarizeGroup(g, outcomes));
    const all = [...first.outcomes, ...later.outcomes];
    const okLater = later.outcomes.filter((o) => o.ok);
    const cached = okLater.filter((o) => o.cachedTokens !== undefined);
    const attributed = all.filter((o) => o.ok && o.replica !== undefined).length;
    return {
      counts: countOutcomes(groups * groupSize, all, first.notStarted + later.notStarted, ctx.clock.now() - started),
      groups: groupResults,
      affinity: prefixAffinity(groupResults),
      attributed,
      unattributed: all.filter((o) => o.ok).length - attributed,
      ttftFirstMs: median(first.outcomes.filter((o) => o.ok).map((o) => o.ttftMs ?? Number.NaN)),
      ttftLaterMs: median(okLater.map((o) => o.ttftMs ?? Number.NaN)),
      cachedTokensLater: cached.length === 0 ? Number.NaN : cached.reduce((a, o) => a + (o.cachedTokens ?? 0), 0) / cached.length,
    };
  } finally {
    ctx.progress.end();
    deadline.dispose();
  }
}
