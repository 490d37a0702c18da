/**
 * `prefix-based-pd-decider`: disaggregate a request when the part of its prompt the chosen decode
 * endpoint does not already hold is long enough to be worth a separate prefill (reference §7).
 *
 * - `inputTokens` = bytes of the prompt text / 4 (completions: the prompt; chat: JSON of `messages`;
 *   Anthropic messages: JSON of system, tools and messages; generate: JSON of the token ids); other APIs
 *   (embeddings, responses…) are never disaggregated;
 * - `promptTokens` > 0 and `inputTokens < promptTokens` → decode-only (a minimum prompt length,
 *   llm-d-router #933; 0, the default, disables this gate);
 * - `inputTokens < nonCachedTokens` → decode-only;
 * - `cached` = matched blocks × block size of the decode endpoint in the prefix match
 *   (the default prefix producer's match, `PREFIX_MATCH`, as in the reference; no match data → decode-only);
 * - disaggregate iff `inputTokens − cached ≥ nonCachedTokens`; `nonCachedTokens: 0` (the default)
 *   never disaggregates.
 *
 * Beyond the reference, a request that qualifies is still kept decode-only when the prefill pool is
 * saturated (see `pd-decider.ts`); on by default here.
 *
 * ```yaml
 * - type: prefix-based-pd-decider
 *   parameters:
 *     nonCachedTokens: 16              # ≥ 0; 0 = never disaggregate
 *     promptTokens: 0                  # ≥ 0; prompts shorter than this stay decode-only; 0 = no gate
 *     skipWhenPrefillSaturated: true   # not in the reference
 *     prefillQueueDepthThreshold: 5    # waiting requests at which a prefill endpoint is saturated
 *     prefillKvCacheUtilThreshold: 0.9 # KV use at which a prefill endpoint is saturated
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import type { TypedName } from '../../../plugin/plugin.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import { CHARS_PER_TOKEN } from '../../../prefix/constants.js';
import { promptText } from '../../../prefix/prompt-text.js';
import type { ApiKind } from '../../../request/llm-request.js';
import { PREFIX_MATCH, readPrefixMatch } from '../../prefix-match.js';
import type { SchedulingRequest } from '../../types.js';
import { prefillPoolSaturated, rememberDecider, saturationConfig, saturationParameters, type DisaggVerdict, type PdDecider, type PrefillSaturationConfig } from './pd-decider.js';

export const PREFIX_BASED_PD_DECIDER_TYPE = 'prefix-based-pd-decider';

const schema = z.strictObject({
  nonCachedTokens: z.number().int().min(0).default(0),
  promptTokens: z.number().int().min(0).default(0),
  ...saturationParameters(true),
});

/** The generative APIs whose prompt a prefill stage can serve (OpenAI completions and chat, Anthropic messages, vLLM and SGLang generate). */
const DISAGGREGABLE_APIS: ReadonlySet<ApiKind> = new Set<ApiKind>(['completions', 'chat-completions', 'messages', 'generate', 'sglang-generate']);

/** Estimated prompt tokens of a generative request (bytes of its prompt text / 4, the prefix index's unit); undefined for other APIs. */
export function inputTokens(request: SchedulingRequest): number | undefined {
  const llm = request.llm;
  if (llm === undefined || !DISAGGREGABLE_APIS.has(llm.api)) return undefined;
  const bytes = llm.promptUtf8Bytes ?? Buffer.byteLength(promptText(llm, Number.POSITIVE_INFINITY), 'utf8');
  return Math.floor(bytes / CHARS_PER_TOKEN);
}

export class PrefixBasedPdDecider implements PdDecider {
  readonly typedName: TypedName;

  constructor(
    name: string,
    readonly nonCachedTokens: number,
    readonly saturation: PrefillSaturationConfig,
    readonly promptTokens = 0,
  ) {
    this.typedName = { type: PREFIX_BASED_PD_DECIDER_TYPE, name };
  }

  decide(request: SchedulingRequest, decode: Endpoint | undefined, candidates: readonly Endpoint[]): DisaggVerdict {
    if (this.nonCachedTokens === 0 || decode === undefined) return 'decode-only';
    const tokens = inputTokens(request);
    if (tokens === undefined) return 'decode-only';
    if (this.promptTokens > 0 && tokens < this.promptTokens) return 'decode-only';
    if (tokens < this.nonCachedTokens) return 'decode-only';
    const match = readPrefixMatch(request.state, PREFIX_MATCH, false);
    if (match === undefined) return 'decode-only';
    const cached = match.matchedBlocks(decode) * match.blockSizeTokens;
    if (tokens - cached < this.nonCachedTokens) return 'decode-only';
    if (this.saturation.enabled && prefillPoolSaturated(this.saturation, request, candidates)) return 'prefill-saturated';
    return 'disaggregate';
  }
}

export const prefixBasedPdDeciderFactory: PluginFactory = (name, parameters, context) => {
  const p = decodeParameters(schema, parameters, PREFIX_BASED_PD_DECIDER_TYPE, name);
  const decider = new PrefixBasedPdDecider(name, p.nonCachedTokens, saturationConfig(p), p.promptTokens);
  rememberDecider(context, decider);
  return decider;
};
