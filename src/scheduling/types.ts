/**
 * The scheduling framework's contracts. A scheduling cycle is synchronous over an immutable
 * endpoint snapshot: profile handler → for each profile: filters → weighted scorers → picker.
 */
import type { Endpoint } from '../datastore/endpoint.js';
import type { LLMRequest } from '../request/llm-request.js';
import type { CycleState } from './cycle-state.js';
import type { Plugin } from '../plugin/plugin.js';

/** What plugins see of a request. Header names are lower-case. */
export interface SchedulingRequest {
  readonly requestId: string;
  /** The model the request will be served as (after any rewrite); '' for header-only requests. */
  readonly targetModel: string;
  /** The parsed body; undefined for header-only requests. */
  readonly llm: LLMRequest | undefined;
  readonly headers: ReadonlyMap<string, string>;
  /** Per-request data written by data producers, read by scorers and hooks. */
  readonly state: CycleState;
  /**
   * Keep each profile's scores on its result (`ProfileResult.scores`): for `--emit-endpoint-scores`
   * and debug logs. Off, scoring copies nothing.
   */
  readonly recordScores?: boolean;
}

/** Narrows the candidate list. Must not mutate its input; returning an empty list fails the profile. */
export interface Filter extends Plugin {
  filter(request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[];
}

/**
 * Scores every candidate into `out[i]` (same index as `candidates[i]`). Scores are clamped to [0, 1]
 * by the framework and summed with the profile's weights.
 */
export interface Scorer extends Plugin {
  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void;
}

/** Chooses the ordered targets (at most its `maxNumOfEndpoints`) from scored candidates. */
export interface Picker extends Plugin {
  pick(request: SchedulingRequest, candidates: readonly Endpoint[], scores: Float64Array): readonly Endpoint[];
}

/**
 * What a profile's scorers said, kept only when the request asked (`recordScores`): the candidates
 * that reached the scorers, each one's weighted total (same index), and each scorer's own clamped
 * score before its weight.
 */
export interface ProfileScores {
  readonly candidates: readonly Endpoint[];
  readonly totals: Float64Array;
  readonly scorers: readonly { readonly name: string; readonly weight: number; readonly scores: Float64Array }[];
}

/** A profile's outcome: ordered targets, or null when the profile found none. */
export type ProfileResult = { readonly targets: readonly Endpoint[]; readonly scores?: ProfileScores } | null;

/** The scheduler's outcome: the primary profile's targets become the destination. */
export interface SchedulingResult {
  readonly primaryProfileName: string;
  readonly profileResults: ReadonlyMap<string, ProfileResult>;
  /**
   * When set, the request is sent to each target's address on this port instead of the target's own
   * (data-parallel-profile-handler: a router on the pod's primary port forwards to the chosen rank).
   * Accounting and plugin state stay with the targets themselves.
   */
  readonly destinationPort?: number;
}

/** One named pipeline of filters, weighted scorers and a picker. */
export interface ProfileSpec {
  readonly name: string;
  readonly filters: readonly Filter[];
  readonly scorers: readonly { readonly scorer: Scorer; readonly weight: number }[];
  readonly picker: Picker;
}

/**
 * Decides which profiles run, in rounds, and which result is primary. `pickProfiles` is called until it
 * returns no profiles; `processResults` then builds the final result (or throws ResourceExhaustedError).
 */
export interface ProfileHandler extends Plugin {
  pickProfiles(
    request: SchedulingRequest,
    profiles: ReadonlyMap<string, ProfileSpec>,
    results: ReadonlyMap<string, ProfileResult>,
  ): readonly ProfileSpec[];
  processResults(request: SchedulingRequest, results: ReadonlyMap<string, ProfileResult>): SchedulingResult;
}

/**
 * Computes per-request data before scheduling (e.g. prefix-cache matches) into `request.state`.
 * Runs once per request, over all candidates, in configuration order. Must be synchronous and fast.
 */
export interface DataProducer extends Plugin {
  produce(request: SchedulingRequest, candidates: readonly Endpoint[]): void;
}

/**
 * Runs after a successful scheduling cycle, before the request is forwarded: updates plugin state
 * (e.g. the prefix index) and may add request headers to `setHeaders` (lower-case names).
 */
export interface PreRequestHook extends Plugin {
  preRequest(request: SchedulingRequest, result: SchedulingResult, setHeaders: Map<string, string>): void;
}

/**
 * Adds headers to the response the client receives (e.g. a session token naming the endpoint that
 * served it). Runs after scheduling, with the pre-request hooks; `setHeaders` uses lower-case names.
 */
export interface ResponseHeadersHook extends Plugin {
  responseHeaders(request: SchedulingRequest, result: SchedulingResult, setHeaders: Map<string, string>): void;
}

/**
 * Runs at most once per routed request, when the first byte of the model server's response body
 * reaches the picker (for a streamed completion: its first token, so prefill is over). Never runs
 * when the data plane does not send response bodies; `requestEnded` runs in every case.
 */
export interface FirstResponseByteHook extends Plugin {
  firstResponseByte(request: SchedulingRequest, result: SchedulingResult): void;
}
/**
 * Decides whether a request is served at all: runs after the data producers and before scheduling,
 * over the request's candidates; any refusal fails the request with 429 (sheddable load shedding).
 * `priority` is the request's objective priority (0 without one). Synchronous and cheap.
 */
export interface Admitter extends Plugin {
  /** undefined to admit; otherwise the reason the request is refused. */
  admit(request: SchedulingRequest, priority: number, candidates: readonly Endpoint[]): string | undefined;
}

/** Runs exactly once when a routed request's stream ends, completed or not. */
export interface RequestEndHook extends Plugin {
  requestEnded(request: SchedulingRequest, result: SchedulingResult): void;
}

export function isDataProducer(p: Plugin): p is DataProducer {
  return typeof (p as Partial<DataProducer>).produce === 'function';
}
export function isPreRequestHook(p: Plugin): p is PreRequestHook {
  return typeof (p as Partial<PreRequestHook>).preRequest === 'function';
}
export function isResponseHeadersHook(p: Plugin): p is ResponseHeadersHook {
  return typeof (p as Partial<ResponseHeadersHook>).responseHeaders === 'function';
}
export function isFirstResponseByteHook(p: Plugin): p is FirstResponseByteHook {
  return typeof (p as Partial<FirstResponseByteHook>).firstResponseByte === 'function';
}
export function isRequestEndHook(p: Plugin): p is RequestEndHook {
  return typeof (p as Partial<RequestEndHook>).requestEnded === 'function';
}

export function isAdmitter(p: Plugin): p is Admitter {
  return typeof (p as Partial<Admitter>).admit === 'function';
}

export function isFilter(p: Plugin): p is Filter {
  return typeof (p as Partial<Filter>).filter === 'function';
}
export function isScorer(p: Plugin): p is Scorer {
  return typeof (p as Partial<Scorer>).score === 'function';
}
export function isPicker(p: Plugin): p is Picker {
  return typeof (p as Partial<Picker>).pick === 'function';
}
export function isProfileHandler(p: Plugin): p is ProfileHandler {
  return typeof (p as Partial<ProfileHandler>).pickProfiles === 'function';
}
