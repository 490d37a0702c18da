/**
 * The request lifecycle between the protocol edge and the scheduler: candidates (subset hint),
 * target model (rewrite header), scheduling, in-flight accounting, and the body to forward.
 * Synchronous over the current endpoint snapshot; expected failures are thrown as EppErrors.
 * Unreachable endpoints are dropped while a reachable one remains: from a body-less request's
 * candidates here, and from each scheduling profile's candidates by the scheduler (see
 * `scheduling/reachable-candidates.ts`), never so far as to leave a request without a candidate.
 */
import type { Datastore } from '../datastore/datastore.js';
import { joinHostPort, type Endpoint } from '../datastore/endpoint.js';
import { ResourceExhaustedError, ServiceUnavailableError } from '../errors/errors.js';
import { aliasedHeader, fairnessIdOf, MODEL_NAME_REWRITE_HEADER, OBJECTIVE_HEADER } from '../extproc/headers.js';
import type { Logger } from '../observability/logger.js';
import { boundedText } from '../util/bounded-text.js';
import type { GaugeSeries } from '../observability/hot-metrics.js';
import type { RunningRequestsMetrics } from '../observability/metrics.js';
import type { RequestSeries } from '../observability/request-metrics.js';
import type { LLMRequest } from '../request/llm-request.js';
import { rewriteModel } from '../request/model-rewrite.js';
import { CycleState } from '../scheduling/cycle-state.js';
import type { SaturationDetector } from '../scheduling/saturation-detector.js';
import { reachableCandidates } from '../scheduling/reachable-candidates.js';
import type { Scheduler } from '../scheduling/scheduler.js';
import type { Admitter, PreRequestHook, ProfileScores, ResponseHeadersHook, SchedulingRequest, SchedulingResult } from '../scheduling/types.js';
import { subsetCandidates } from './candidates.js';

export interface RoutingInput {
  readonly requestId: string;
  /** Lower-case request headers. */
  readonly headers: ReadonlyMap<string, string>;
  /** The parsed body; undefined for a request without one, or one the parser passes through. */
  readonly llm: LLMRequest | undefined;
  /** The raw body as the client sent it (undefined without one). */
  readonly body?: Buffer | undefined;
  /** True for a request without a body (e.g. GET /v1/models): routed without scheduling. */
  readonly bodyless: boolean;
  /** Subset hint entries from dynamic metadata; undefined = no hint. */
  readonly subsetHint: readonly string[] | undefined;
}

export interface RoutingDecision {
  /** Ordered targets; the first is the destination, the rest fallbacks. */
  readonly targets: readonly Endpoint[];
  /** `ip:port[,ip:port…]`, identical in the header and in `envoy.lb` metadata. */
  readonly destination: string;
  readonly incomingModel: string;
  readonly targetModel: string;
  /** The objective the request named (`x-llm-d-inference-objective` or its legacy alias), '' for none. */
  readonly objective: string;
  readonly priority: number;
  /** `x-llm-d-inference-fairness-id` (or its legacy alias), else `default-flow`. Client-controlled and unbounded: bound before use as a label. */
  readonly fairnessId: string;
  /** The request's metric series, when the director looked them up (so the protocol edge need not again). */
  readonly series?: RequestSeries;
  /** The primary profile's name ('' for a body-less request, which is not scheduled). */
  readonly profile: string;
  /** The primary profile's scores, when the director records them (`DirectorOptions.recordScores`) and the profile ran scorers. */
  readonly scores: ProfileScores | undefined;
  /** The rewritten body, or undefined to forward the client's bytes unchanged. */
  readonly rewrittenBody: Buffer | undefined;
  /** Headers the plugins set on the forwarded request (lower-case names). */
  readonly setHeaders: ReadonlyMap<string, string>;
  /** Headers the plugins set on the response to the client (lower-case names). */
  readonly responseHeaders: ReadonlyMap<string, string>;
  /**
   * The scheduling cycle behind the decision, kept only while first-response-byte or request-end hooks
   * will need it (undefined otherwise, and for body-less requests): a stream can stay open for minutes
   * of streamed output, and the cycle's state should not live that long for nothing.
   */
  readonly scheduled: { readonly request: SchedulingRequest; readonly result: SchedulingResult } | undefined;
}

const NO_HEADERS: ReadonlyMap<string, string> = new Map();

export interface DirectorOptions {
  readonly disableSubsetFilter: boolean;
  readonly random: () => number;
  /** Sheddable requests (priority < 0) get 429 while this reports ≥ 1; none = never shed. */
  readonly saturationDetector?: SaturationDetector;
  /**
   * The model a request for `model` is served as when no `x-gateway-model-name-rewrite` header says
   * otherwise (InferenceModelRewrite rules); undefined = unchanged.
   */
  readonly modelRewrite?: (model: string) => string | undefined;
  /** `llm_d_epp_request_running`: +1 per routed request with a model name, −1 once when it is released. */
  readonly metrics?: RunningRequestsMetrics;
  /** Keep the primary profile's scores on each decision (`--emit-endpoint-scores`, debug logs); off, scoring copies nothing. */
  readonly recordScores?: boolean;
  /** Admission decisions are logged at trace level. */
  readonly logger?: Logger;
}

/** A decision as `Director.route` made it: the gauge series `release` owes a decrement, until paid. */
interface TrackedDecision extends RoutingDecision {
  running: GaugeSeries | undefined;
}

/** What the protocol edge needs from the lifecycle; a Promise result is bounded by the decision deadline. */
export interface RequestRouter {
  route(input: RoutingInput): RoutingDecision | Promise<RoutingDecision>;
  /** The first byte of the response body arrived (at most once per decision, before `release`). */
  firstResponseByte?(decision: RoutingDecision): void;
  release(decision: RoutingDecision): void;
}

export class Director implements RequestRouter {
  readonly #scratch = new Map<string, string>();

  constructor(
    private readonly datastore: Datastore,
    private readonly scheduler: Scheduler,
    private readonly options: DirectorOptions,
  ) {}

  /** Decides where a request goes. Throws ServiceUnavailableError / ResourceExhaustedError. */
  route(input: RoutingInput): RoutingDecision {
    const snapshot = this.datastore.snapshot;
    const candidates = subsetCandidates(snapshot, this.options.disableSubsetFilter ? undefined : input.subsetHint);
    if (candidates.length === 0) {
      throw new ServiceUnavailableError('failed to find endpoint candidates for serving the request', { dropReason: 'rejected-no-endpoints' });
    }
    const llm = input.llm;
    const objective = aliasedHeader(input.headers, OBJECTIVE_HEADER) ?? '';
    const priority = objective === '' ? 0 : this.datastore.priorityOf(objective);
    const fairnessId = fairnessIdOf(input.headers);
    let profile = '';
    let scores: ProfileScores | undefined;
    let targets: readonly Endpoint[];
    let incomingModel = '';
    let targetModel = '';
    let rewrittenBody: Buffer | undefined;
    let setHeaders = NO_HEADERS;
    let responseHeaders = NO_HEADERS;
    let scheduled: RoutingDecision['scheduled'];
    let destinationPort: number | undefined;
    if (input.bodyless) {
      // Nothing to schedule on: any reachable candidate serves a body-less request (the reference: any candidate).
      const eligible = reachableCandidates(candidates);
      const e = eligible[Math.floor(this.options.random() * eligible.length)] as Endpoint;
      targets = [e];
    } else {
      // Legacy admission: only sheddable requests are checked, and only against saturation. As the
      // reference, this 429 carries no dropped-reason header (flow control's rejections do).
      const detector = this.options.saturationDetector;
      if (priority < 0 && detector !== undefined) {
        const saturation = detector.saturation(candidates);
        const logger = this.options.logger;
        if (logger?.isLevelEnabled('trace') === true) logger.trace({ 'x-request-id': boundedText(input.requestId), objective: boundedText(objective), priority, saturation }, 'legacy admission: sheddable request');
        if (saturation >= 1) throw new ResourceExhaustedError('system saturated, sheddable request dropped');
      }
      if (llm !== undefined) {
        incomingModel = llm.model;
        // The reference's order: the gateway's header, then InferenceModelRewrite rules.
        const header = aliasedHeader(input.headers, MODEL_NAME_REWRITE_HEADER);
        const rewrite = header !== undefined && header.length > 0 ? header : this.options.modelRewrite?.(incomingModel);
        targetModel = rewrite !== undefined && rewrite.length > 0 ? rewrite : incomingModel;
      }
      const request: SchedulingRequest = { requestId: input.requestId, targetModel, llm, headers: input.headers, state: new CycleState(), recordScores: this.options.recordScores === true };
      const { hooks } = this.scheduler;
      for (const p of hooks.producers) p.produce(request, candidates);
      const admitters = hooks.admitters;
      if (admitters !== undefined) {
        for (let i = 0; i < admitters.length; i++) {
          const refused = (admitters[i] as Admitter).admit(request, priority, candidates);
          if (refused !== undefined) throw new ResourceExhaustedError(`request cannot be admitted: ${refused}`);
        }
      }
      const result = this.scheduler.schedule(request, candidates);
      profile = result.primaryProfileName;
      destinationPort = result.destinationPort;
      const primary = result.profileResults.get(profile);
      targets = primary?.targets ?? [];
      if (primary?.scores !== undefined && primary.scores.scorers.length > 0) scores = primary.scores;
      // Hooks write into one scratch map; a decision gets its own copy only when one set something.
      if (hooks.preRequest.length > 0) {
        const added = this.#scratch;
        added.clear();
        for (let i = 0; i < hooks.preRequest.length; i++) (hooks.preRequest[i] as PreRequestHook).preRequest(request, result, added);
        if (added.size > 0) setHeaders = new Map(added);
      }
      if (hooks.responseHeaders.length > 0) {
        const added = this.#scratch;
        added.clear();
        for (let i = 0; i < hooks.responseHeaders.length; i++) (hooks.responseHeaders[i] as ResponseHeadersHook).responseHeaders(request, result, added);
        if (added.size > 0) responseHeaders = new Map(added);
      }
      if (hooks.firstResponseByte.length > 0 || hooks.requestEnd.length > 0) scheduled = { request, result };
      if (llm !== undefined && targetModel !== incomingModel) {
        rewrittenBody = input.body !== undefined ? rewriteModel(input.body, llm, targetModel) : Buffer.from(JSON.stringify({ ...llm.body, model: targetModel }), 'utf8');
      }
    }
    let destination = '';
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i] as Endpoint;
      const hostPort = destinationPort === undefined ? target.hostPort : joinHostPort(target.address, destinationPort);
      destination = i === 0 ? hostPort : `${destination},${hostPort}`;
    }
    // Only the first target receives the request; the rest are fallbacks for the data plane's retries.
    const first = targets[0];
    if (first !== undefined) first.inFlight++;
    // The series object itself travels with the decision, so the decrement hits the one incremented.
    // As llm-d, requests without a model name (body-less ones) are not counted as running.
    const series = incomingModel === '' ? undefined : this.options.metrics?.requestSeries(incomingModel, targetModel, fairnessId, priority);
    const running = series?.running;
    running?.inc();
    const decision: TrackedDecision = { targets, destination, incomingModel, targetModel, objective, priority, fairnessId, series, profile, scores, rewrittenBody, setHeaders, responseHeaders, scheduled, running };
    return decision;
  }

  /** Runs the first-response-byte hooks; the protocol edge calls it at most once per decision. */
  firstResponseByte(decision: RoutingDecision): void {
    const s = decision.scheduled;
    if (s !== undefined) for (const h of this.scheduler.hooks.firstResponseByte) h.firstResponseByte(s.request, s.result);
  }

  /** Ends a routed request: in-flight accounting and request-end hooks. Call exactly once per decision. */
  release(decision: RoutingDecision): void {
    // Cleared before the decrement: a second release of the same decision leaves the gauge alone.
    const tracked = decision as Partial<TrackedDecision>;
    const running = tracked.running;
    if (running !== undefined) {
      tracked.running = undefined;
      running.dec();
    }
    const first = decision.targets[0];
    if (first !== undefined && first.inFlight > 0) first.inFlight--;
    const s = decision.scheduled;
    if (s !== undefined) for (const h of this.scheduler.hooks.requestEnd) h.requestEnded(s.request, s.result);
  }
}
