/**
 * `context-length-aware`: matches requests to endpoints labelled for a context-length range
 * (`llm-d.ai/context-length-range: "min-max"`, in tokens). Both a scorer and a filter:
 *
 * - score: unlabelled endpoints 0.5; a malformed label 0; inside the range
 *   `0.3 + 0.7 · (0.7 · 1/(1 + width/10000) + 0.3 · (max − len)/width)` (a width-0 range scores 1),
 *   so tighter ranges and more headroom rank higher, always above 0.3; outside the range
 *   `0.3 / (1 + distance/1000)`, nearer ranges higher, always below 0.3.
 * - filter (only with `enableFiltering: true`; otherwise it passes everything through): keeps
 *   unlabelled endpoints and those whose range holds the request's length; drops malformed labels.
 *
 * The request's length is estimated as ⌊characters · 0.25⌋ over the chat messages' text (string
 * contents and the `text` of content parts) and the completion prompt (a string or strings); 0 for
 * other APIs and body-less requests.
 *
 * ```yaml
 * - type: context-length-aware
 *   parameters:
 *     label: llm-d.ai/context-length-range   # default; must not be empty
 *     enableFiltering: false                 # default
 * ```
 */
import { z } from 'zod';
import { contextCharacters } from '../../../request/context-chars.js';
import type { Endpoint } from '../../../datastore/endpoint.js';
import { StateKey } from '../../cycle-state.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Filter, Scorer, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import { retain } from '../retain.js';

export const CONTEXT_LENGTH_AWARE_TYPE = 'context-length-aware';
export const CONTEXT_LENGTH_RANGE_LABEL = 'llm-d.ai/context-length-range';
const TOKENS_PER_CHAR = 0.25;
const MAX_FALLBACK_SCORE = 0.3;
/** Distinct label values remembered; pools carry a handful. */
const RANGE_CACHE_LIMIT = 1024;

const schema = z.strictObject({
  label: z.string().min(1, "'label' must be specified").default(CONTEXT_LENGTH_RANGE_LABEL),
  enableFiltering: z.boolean().default(false),
});

interface ContextRange {
  readonly min: number;
  readonly max: number;
}

/** The request's estimated context length, computed once per request for every instance. */
const CONTEXT_LENGTH = new StateKey<number>('context-length');

const BOUND = /^\s*\+?(\d+)\s*$/;

/** Parses `"min-max"` (non-negative integers, min ≤ max); null when malformed. */
export function parseContextRange(text: string): ContextRange | null {
  const parts = text.split('-');
  if (parts.length !== 2) return null;
  const lo = BOUND.exec(parts[0] ?? '');
  const hi = BOUND.exec(parts[1] ?? '');
  if (lo === null || hi === null) return null;
  const min = Number(lo[1]);
  const max = Number(hi[1]);
  return min <= max ? { min, max } : null;
}

/** The reference's score of a request of `length` tokens against a range. */
export function rangeScore(length: number, r: ContextRange): number {
  if (length >= r.min && length <= r.max) {
    const width = r.max - r.min;
    if (width === 0) return 1;
    const widthScore = 1 / (1 + width / 10_000);
    const positionScore = (r.max - length) / width;
    return MAX_FALLBACK_SCORE + (0.7 * widthScore + 0.3 * positionScore) * (1 - MAX_FALLBACK_SCORE);
  }
  const distance = length > r.max ? length - r.max : r.min - length;
  return MAX_FALLBACK_SCORE / (1 + distance / 1000);
}

/** ⌊characters · 0.25⌋ over chat message contents and the completion prompt. */
export function estimateContextLength(request: SchedulingRequest): number {
  const llm = request.llm;
  if (llm === undefined) return 0;
  // A request parsed off the event loop carries the count; reading `body` would decode it here.
  const chars = llm.contextChars ?? contextCharacters(llm.body);
  return Math.floor(chars * TOKENS_PER_CHAR);
}

export class ContextLengthAware implements Scorer, Filter {
  readonly typedName: TypedName;
  readonly #ranges = new Map<string, ContextRange | null>();

  constructor(
    name: string,
    readonly label = CONTEXT_LENGTH_RANGE_LABEL,
    readonly enableFiltering = false,
  ) {
    this.typedName = { type: CONTEXT_LENGTH_AWARE_TYPE, name };
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const length = contextLength(request);
    for (let i = 0; i < candidates.length; i++) {
      const text = (candidates[i] as Endpoint).labels[this.label];
      if (text === undefined) {
        out[i] = 0.5;
        continue;
      }
      const r = this.#range(text);
      out[i] = r === null ? 0 : rangeScore(length, r);
    }
  }

  filter(request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[] {
    if (!this.enableFiltering) return candidates;
    const length = contextLength(request);
    return retain(candidates, (e) => {
      const text = e.labels[this.label];
      if (text === undefined) return true;
      const r = this.#range(text);
      return r !== null && length >= r.min && length <= r.max;
    });
  }

  #range(text: string): ContextRange | null {
    let r = this.#ranges.get(text);
    if (r === undefined) {
      r = parseContextRange(text);
      if (this.#ranges.size >= RANGE_CACHE_LIMIT) this.#ranges.clear();
      this.#ranges.set(text, r);
    }
    return r;
  }
}

function contextLength(request: SchedulingRequest): number {
  let n = request.state.get(CONTEXT_LENGTH);
  if (n === undefined) {
    n = estimateContextLength(request);
    request.state.set(CONTEXT_LENGTH, n);
  }
  return n;
}

export const contextLengthAwareFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, CONTEXT_LENGTH_AWARE_TYPE, name);
  return new ContextLengthAware(name, p.label, p.enableFiltering);
};
