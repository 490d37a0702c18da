/**
 * One ext_proc stream's state machine: turns the data plane's ProcessingRequests into
 * ProcessingResponses, with no socket in sight (the grpc-js binding is `service.ts`).
 *
 * FULL_DUPLEX_STREAMED (the default and llm-d's only mode): the request-header answer is held until
 * the body's end of stream; then the header answer (destination header + `envoy.lb` metadata, route
 * cache cleared) and the body as ≤62,000-byte StreamedBodyResponse chunks. Response headers are
 * answered at once and response body chunks pass straight through as they arrive.
 * BUFFERED (`protocol_config`, or the server's configured default): headers are answered CONTINUE and
 * the routing answer rides on the body response.
 */
import { randomUUID } from 'node:crypto';
import type { RequestRouter, RoutingDecision } from '../director/director.js';
import { emittedScores, scoreBreakdown } from '../director/endpoint-scores.js';
import type { EppError} from '../errors/errors.js';
import { DeadlineExceededError, PayloadTooLargeError, ProtocolViolationError, ServiceUnavailableError, toEppError } from '../errors/errors.js';
import type { LogLimiter } from '../observability/log-limiter.js';
import { isVerbose, logVerbose, type Logger } from '../observability/logger.js';
import type { EppMetrics } from '../observability/metrics.js';
import { RequestHistogram, type RequestSeries } from '../observability/request-metrics.js';
import type { RequestParser } from '../request/request-parser.js';
import type { LLMRequest } from '../request/llm-request.js';
import { LARGE_BODY_BYTES } from '../request/parse-pool.js';
import { UsageTracker } from '../request/usage-tracker.js';
import { aliasedHeader, fairnessIdOf, headerMapToMap, headerValue, MODEL_NAME_REWRITE_HEADER, OWNED_REQUEST_HEADERS, REQUEST_ID_HEADER, requestPath } from './headers.js';
import type { HeaderValueOption, ProcessingRequest__Output, ProcessingResponse } from './proto.js';
import {
  continueBody,
  continueHeaders,
  immediateError,
  routedBufferedBodyResponse,
  routedHeadersResponse,
  setHeader,
  streamedBody,
  trailersResponse,
} from './responses.js';
import { boundedText } from '../util/bounded-text.js';
import { ModelNameRewriter } from './model-name-rewriter.js';
import { readSubsetHint } from './subset-hint.js';

export type BodyMode = 'full-duplex' | 'buffered';

/** Where a session's answers go. `end` closes the stream cleanly (OK status). */
export interface ResponseSink {
  send(response: ProcessingResponse): void;
  end(): void;
}

/** Timer functions, injected so tests drive the decision deadline with fake timers. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SessionOptions {
  readonly router: RequestRouter;
  readonly parser: RequestParser;
  readonly metrics: EppMetrics;
  readonly logger: Logger;
  /** Body mode assumed until the data plane's `protocol_config` says otherwise. */
  readonly defaultBodyMode: BodyMode;
  readonly maxRequestBodyBytes: number;
  readonly decisionTimeoutMs: number;
  readonly timers: Timers;
  /** True once the picker has stopped taking requests (after its drain window): new ones get 503. */
  readonly shuttingDown?: () => boolean;
  /** Limits "request rejected" log lines below verbose verbosity (clients can trigger them at will). */
  readonly rejectionLog?: LogLimiter;
  /** Monotonic milliseconds for the latency metrics (default `performance.now`; injected by tests). */
  readonly now?: () => number;
  /** Send the primary profile's per-endpoint scores in `envoy.lb` metadata (`--emit-endpoint-scores`; the director must record them). */
  readonly emitEndpointScores?: boolean;
}

const enum Phase {
  AwaitingHeaders,
  CollectingBody,
  Deciding,
  Routed,
  Closed,
}

const NO_NAMES: string[] = [];
const NO_HEADERS_MAP: ReadonlyMap<string, string> = new Map();

export class ExtProcSession {
  #phase = Phase.AwaitingHeaders;
  #mode: BodyMode;
  #responseMode: BodyMode | 'streamed' | 'none';
  #headers: ReadonlyMap<string, string> = NO_HEADERS_MAP;
  #requestId = '';
  #generatedRequestId = false;
  #chunks: Buffer[] = [];
  #bodyBytes = 0;
  #subsetHint: string[] | undefined;
  #decision: RoutingDecision | undefined;
  #released = false;
  #responseStarted = false;
  #llm: LLMRequest | undefined;
  #rewriter: ModelNameRewriter | undefined;
  /** The body is followed by trailers: its last chunk is not the end of the stream. */
  #trailersFollow = false;
  #deadline: unknown;
  #usage: UsageTracker | undefined;
  readonly #now: () => number;
  // Request metrics: times are #now() milliseconds, -1 = not yet.
  #receivedAt = -1;
  #series: RequestSeries | undefined;
  #streaming = false;
  #modelServerError = false;
  #firstByteAt = -1;
  #lastChunkAt = -1;
  #responseBytes = 0;
  #responseWorkMs = 0;
  /** Trace lines per ext_proc message: decided once per stream, not per message. */
  readonly #trace: boolean;

  constructor(
    private readonly sink: ResponseSink,
    private readonly options: SessionOptions,
  ) {
    this.#mode = options.defaultBodyMode;
    this.#responseMode = options.defaultBodyMode;
    this.#now = options.now ?? (() => performance.now());
    this.#trace = options.logger.isLevelEnabled('trace');
  }

  /** Handles one message. Never throws: failures become an immediate response on this stream. */
  onMessage(msg: ProcessingRequest__Output): void {
    if (this.#phase === Phase.Closed) return;
    try {
      this.#dispatch(msg);
    } catch (err) {
      this.#fail(toEppError(err));
    }
  }

  /** The stream ended (client half-close, cancel or error): release what the request holds. */
  onStreamEnd(): void {
    // As llm-d, also for streams aborted mid-response: the time spent is spent.
    if (this.#responseWorkMs > 0) this.options.metrics.observeResponseProcessing(this.#responseWorkMs);
    this.#responseWorkMs = 0;
    if (this.#modelServerError && this.#series !== undefined) this.#series.error('ModelServerError');
    this.#modelServerError = false;
    this.#clearDeadline();
    this.#chunks = [];
    this.#phase = Phase.Closed;
    this.#release();
  }

  get requestId(): string {
    return this.#requestId;
  }

  #dispatch(msg: ProcessingRequest__Output): void {
    if (this.#trace) this.options.logger.trace({ 'x-request-id': boundedText(this.#requestId), message: msg.request ?? 'none', bytes: messageBytes(msg) }, 'ext_proc message');
    if (msg.metadata_context !== undefined) this.#subsetHint = readSubsetHint(msg.metadata_context);
    const pc = msg.protocol_config;
    if (pc !== undefined) {
      this.#mode = pc.request_body_mode === 'BUFFERED' || pc.request_body_mode === 'BUFFERED_PARTIAL' ? 'buffered' : 'full-duplex';
      const rm = pc.response_body_mode;
      this.#responseMode =
        rm === 'FULL_DUPLEX_STREAMED' ? 'full-duplex' : rm === 'BUFFERED' || rm === 'BUFFERED_PARTIAL' ? 'buffered' : rm === 'STREAMED' ? 'streamed' : 'none';
    }
    switch (msg.request) {
      case 'request_headers':
        return this.#onRequestHeaders(msg.request_headers?.headers, msg.request_headers?.end_of_stream === true);
      case 'request_body':
        return this.#onRequestBody(msg.request_body?.body, msg.request_body?.end_of_stream === true);
      case 'request_trailers':
        if (this.#phase === Phase.CollectingBody) {
          this.#trailersFollow = true;
          this.#finishRequest();
        }
        if (this.#phase !== Phase.Closed) this.sink.send(trailersResponse('request'));
        return;
      case 'response_headers':
        return this.#onResponseHeaders(msg.response_headers?.headers);
      case 'response_body':
        return this.#onResponseBody(msg.response_body?.body, msg.response_body?.end_of_stream === true);
      case 'response_trailers':
        this.sink.send(trailersResponse('response'));
        return;
      default:
        throw new ProtocolViolationError('ProcessingRequest without a request field');
    }
  }

  #onRequestHeaders(headerMap: Parameters<typeof headerMapToMap>[0], endOfStream: boolean): void {
    if (this.#phase !== Phase.AwaitingHeaders) throw new ProtocolViolationError('request headers received twice');
    this.#receivedAt = this.#now();
    this.#headers = headerMapToMap(headerMap);
    const id = this.#headers.get(REQUEST_ID_HEADER);
    if (id === undefined || id.length === 0) {
      this.#requestId = randomUUID();
      this.#generatedRequestId = true;
    } else this.#requestId = id;
    if (this.options.shuttingDown?.() === true) {
      throw new ServiceUnavailableError('the endpoint picker is shutting down', { dropReason: 'rejected-shutting-down' });
    }
    if (endOfStream) {
      this.#phase = Phase.Deciding;
      this.#decide(undefined);
      return;
    }
    this.#phase = Phase.CollectingBody;
    if (this.#mode === 'buffered') this.sink.send(continueHeaders('request', this.#ownedHeadersPresent()));
  }

  #onRequestBody(body: Buffer | undefined, endOfStream: boolean): void {
    if (this.#phase !== Phase.CollectingBody) {
      if (this.#phase === Phase.AwaitingHeaders) throw new ProtocolViolationError('request body received before request headers');
      return; // late chunks after a decision (e.g. an empty end-of-stream) carry nothing to route on
    }
    if (body !== undefined && body.length > 0) {
      this.#bodyBytes += body.length;
      if (this.#bodyBytes > this.options.maxRequestBodyBytes) {
        this.#chunks = [];
        throw new PayloadTooLargeError(`request body exceeds the limit of ${this.options.maxRequestBodyBytes} bytes`);
      }
      this.#chunks.push(body);
    }
    if (endOfStream) this.#finishRequest();
  }

  #finishRequest(): void {
    this.#phase = Phase.Deciding;
    const parser = this.options.parser;
    const large = this.#bodyBytes >= LARGE_BODY_BYTES && parser.parseLarge !== undefined;
    const body = large ? sharedCopy(this.#chunks, this.#bodyBytes) : this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#bodyBytes);
    this.#chunks = [];
    const path = requestPath(this.#headers);
    if (large && parser.parseLarge !== undefined) {
      // Decoding a large body could stall every other stream: it is parsed on a worker thread,
      // within the decision deadline.
      this.#armDeadline();
      parser.parseLarge(path, body).then(
        (llm) => {
          if (this.#phase !== Phase.Deciding) return;
          this.#llm = llm;
          try {
            this.#decide(body);
          } catch (err) {
            this.#fail(toEppError(err));
          }
        },
        (err: unknown) => {
          if (this.#phase === Phase.Deciding) this.#fail(toEppError(err));
        },
      );
      return;
    }
    this.#llm = parser.parse(path, body);
    this.#decide(body);
  }

  #armDeadline(): void {
    this.#clearDeadline();
    this.#deadline = this.options.timers.setTimeout(() => {
      this.#deadline = undefined;
      if (this.#phase === Phase.Deciding) this.#fail(new DeadlineExceededError(`no routing decision within ${this.options.decisionTimeoutMs} ms`));
    }, this.options.decisionTimeoutMs);
  }

  #decide(body: Buffer | undefined): void {
    const result = this.options.router.route({
      requestId: this.#requestId,
      headers: this.#headers,
      llm: this.#llm,
      body,
      bodyless: body === undefined,
      subsetHint: this.#subsetHint,
    });
    if (!(result instanceof Promise)) {
      this.#answer(result, body);
      return;
    }
    if (this.#deadline === undefined) this.#armDeadline();
    result.then(
      (decision) => {
        this.#clearDeadline();
        if (this.#phase !== Phase.Deciding) {
          this.options.router.release(decision); // answered already (deadline) or stream gone
          return;
        }
        try {
          this.#answer(decision, body);
        } catch (err) {
          this.#fail(toEppError(err));
        }
      },
      (err: unknown) => {
        this.#clearDeadline();
        if (this.#phase === Phase.Deciding) this.#fail(toEppError(err));
      },
    );
  }

  #answer(decision: RoutingDecision, body: Buffer | undefined): void {
    this.#clearDeadline();
    this.#decision = decision;
    this.#phase = Phase.Routed;
    const forwarded = decision.rewrittenBody ?? body;
    const set: HeaderValueOption[] = [];
    if (forwarded !== undefined && forwarded.length > 0) set.push(setHeader('content-length', String(forwarded.length)));
    if (this.#generatedRequestId) set.push(setHeader(REQUEST_ID_HEADER, this.#requestId));
    for (const [name, value] of decision.setHeaders) set.push(setHeader(name, value));
    // A header a plugin sets overwrites the client's copy; only the others need removing.
    const remove = decision.setHeaders.size === 0 ? this.#ownedHeadersPresent() : this.#ownedHeadersPresent().filter((h) => !decision.setHeaders.has(h));
    if (decision.targetModel !== decision.incomingModel) this.#rewriter = new ModelNameRewriter(decision.targetModel, decision.incomingModel);
    const scores = this.options.emitEndpointScores === true && decision.scores !== undefined ? emittedScores(decision.scores, decision.targets) : undefined;
    if (this.#mode === 'buffered' && body !== undefined) {
      this.sink.send(routedBufferedBodyResponse(decision.destination, set, remove, decision.rewrittenBody, scores));
    } else {
      this.sink.send(routedHeadersResponse(decision.destination, set, remove, scores));
      // With trailers to follow, the body's last chunk does not end the stream (as Envoy expects).
      if (forwarded !== undefined) for (const m of streamedBody('request', forwarded, !this.#trailersFollow)) this.sink.send(m);
    }
    // As llm-d, a response counts as streamed when the request asked for it or the response is SSE.
    this.#streaming = this.#llm?.stream === true;
    // The stream may stay open for minutes of streamed output: keep only what the response phase uses.
    this.#llm = undefined;
    this.#headers = NO_HEADERS_MAP;
    const m = this.options.metrics;
    // One lookup of the request's series tuple; every later recording of this request uses it.
    const series = decision.series ?? m.requestSeries(decision.incomingModel, decision.targetModel, decision.fairnessId, decision.priority);
    this.#series = series;
    series.requests.inc();
    series.observe(RequestHistogram.RequestSize, forwarded?.length ?? 0);
    m.observeRequestProcessing(this.#now() - this.#receivedAt);
    if (isVerbose(this.options.logger)) this.#logRouted(decision);
  }

  /** One line per routed request at verbose; at debug it also names the profile and the scores of the winner and the runner-up. */
  #logRouted(decision: RoutingDecision): void {
    const logger = this.options.logger;
    const fields: Record<string, unknown> = {
      'x-request-id': boundedText(this.#requestId),
      objective: boundedText(decision.objective),
      priority: decision.priority,
      model: boundedText(decision.incomingModel),
      targetModel: boundedText(decision.targetModel),
      endpoint: decision.destination,
    };
    if (!logger.isLevelEnabled('debug')) {
      logVerbose(logger, fields, 'request routed');
      return;
    }
    fields.profile = decision.profile;
    if (decision.scores !== undefined) {
      const { winner, runnerUp } = scoreBreakdown(decision.scores, decision.targets[0]);
      fields.winner = winner;
      fields.runnerUp = runnerUp ?? null;
    }
    logger.debug(fields, 'request routed');
  }

  #onResponseHeaders(headerMap: Parameters<typeof headerMapToMap>[0]): void {
    const t = this.#now();
    if (this.#decision !== undefined) {
      const contentType = headerValue(headerMap, 'content-type') ?? '';
      this.#usage = new UsageTracker();
      this.#usage.start(contentType);
      if (contentType.includes('text/event-stream')) this.#streaming = true;
      const status = headerValue(headerMap, ':status');
      this.#modelServerError = status !== undefined && status !== '200';
    }
    this.#sendResponseHeaders();
    this.#responseWorkMs += this.#now() - t;
  }

  #sendResponseHeaders(): void {
    // Streaming (SSE) and buffered responses are both passed through chunk by chunk, so nothing in the
    // response headers changes how the body is handled; plugins may add headers for the client.
    const extra = this.#decision?.responseHeaders;
    if (extra === undefined || extra.size === 0) {
      this.sink.send(continueHeaders('response'));
      return;
    }
    const set: HeaderValueOption[] = [];
    for (const [name, value] of extra) set.push(setHeader(name, value));
    this.sink.send({ response_headers: { response: { header_mutation: { set_headers: set } } } });
  }

  #onResponseBody(body: Buffer | undefined, endOfStream: boolean): void {
    const t = this.#now();
    let chunk = body ?? Buffer.alloc(0);
    if (chunk.length > 0 && this.#series !== undefined) this.#timeChunk(t, chunk.length);
    if (!this.#responseStarted && chunk.length > 0 && this.#decision !== undefined && !this.#released) {
      this.#responseStarted = true;
      this.options.router.firstResponseByte?.(this.#decision);
    }
    if (this.#rewriter !== undefined && chunk.length > 0) chunk = this.#rewriter.rewrite(chunk);
    const usage = this.#usage;
    if (usage !== undefined) {
      usage.chunk(chunk);
      if (endOfStream) this.#recordUsage(usage, t);
    }
    if (this.#responseMode === 'full-duplex') {
      for (const m of streamedBody('response', chunk, endOfStream)) this.sink.send(m);
    } else if (this.#responseMode !== 'none') {
      this.sink.send(continueBody('response', chunk === body ? undefined : chunk));
    }
    this.#responseWorkMs += this.#now() - t;
  }

  /** First byte, inter-chunk latency (streamed responses) and size, as the model server sent them. */
  #timeChunk(t: number, bytes: number): void {
    this.#responseBytes += bytes;
    if (this.#firstByteAt < 0) this.#firstByteAt = t;
    if (!this.#streaming) return;
    if (this.#lastChunkAt >= 0) (this.#series as RequestSeries).observe(RequestHistogram.StreamingItl, (t - this.#lastChunkAt) / 1000);
    this.#lastChunkAt = t;
  }

  /** The end of the response (at `completeAt`): llm-d's per-request latency, size and token metrics. */
  #recordUsage(tracker: UsageTracker, completeAt: number): void {
    this.#usage = undefined;
    const series = this.#series;
    if (series === undefined) return;
    const usage = tracker.finish();
    const outputTokens = usage?.completionTokens ?? 0;
    if (usage !== undefined) {
      if (usage.promptTokens > 0) series.observe(RequestHistogram.InputTokens, usage.promptTokens);
      if (outputTokens > 0) series.observe(RequestHistogram.OutputTokens, outputTokens);
      series.observe(RequestHistogram.CachedTokens, usage.cachedTokens);
    }
    series.observe(RequestHistogram.ResponseSize, this.#responseBytes);
    const e2e = (completeAt - this.#receivedAt) / 1000;
    if (e2e <= 0) return;
    series.observe(RequestHistogram.Duration, e2e);
    if (outputTokens > 0) series.observe(RequestHistogram.Ntpot, e2e / outputTokens);
    if (this.#firstByteAt < 0) return;
    const ttft = (this.#firstByteAt - this.#receivedAt) / 1000;
    series.observe(this.#streaming ? RequestHistogram.TtftStreaming : RequestHistogram.TtftNonStreaming, ttft);
    if (this.#streaming && outputTokens > 1 && completeAt > this.#firstByteAt) series.observe(RequestHistogram.StreamingTpot, (e2e - ttft) / (outputTokens - 1));
  }

  #ownedHeadersPresent(): string[] {
    let out: string[] | undefined;
    for (let i = 0; i < OWNED_REQUEST_HEADERS.length; i++) {
      const h = OWNED_REQUEST_HEADERS[i] as string;
      if (this.#headers.has(h)) (out ??= []).push(h);
    }
    return out ?? NO_NAMES;
  }

  #fail(err: EppError): void {
    if (this.#phase === Phase.Closed) return;
    const answered = this.#phase === Phase.Routed;
    this.#phase = Phase.Closed;
    this.#clearDeadline();
    this.#chunks = [];
    const d = this.#decision;
    const model = d?.incomingModel ?? this.#llm?.model ?? '';
    const target = d?.targetModel ?? aliasedHeader(this.#headers, MODEL_NAME_REWRITE_HEADER) ?? model;
    const m = this.options.metrics;
    const series = this.#series ?? m.requestSeries(model, target, d?.fairnessId ?? fairnessIdOf(this.#headers), d?.priority ?? 0);
    series.error(err.code);
    this.#modelServerError = false;
    // As llm-d, request-phase failures count in the processing time too (they are often the slowest).
    if (!answered && this.#receivedAt >= 0) m.observeRequestProcessing(this.#now() - this.#receivedAt);
    this.#logRejection(err);
    this.sink.send(immediateError(err));
    this.sink.end();
    this.#release();
  }

  #logRejection(err: EppError): void {
    const { logger, rejectionLog } = this.options;
    const fields = { 'x-request-id': boundedText(this.#requestId), code: err.code, err: boundedText(err.message) };
    if (isVerbose(logger)) {
      logVerbose(logger, fields, 'request rejected');
      return;
    }
    // Clients trigger these at will: a few lines per kind per minute, with a count of the rest.
    const verdict = rejectionLog?.allow(err instanceof ProtocolViolationError ? 'protocol-violation' : err.code) ?? { log: true, suppressed: 0 };
    if (!verdict.log) return;
    const level = err.code === 'Internal' && !(err instanceof ProtocolViolationError) ? 'error' : 'info';
    logger[level](verdict.suppressed > 0 ? { ...fields, suppressedSimilar: verdict.suppressed } : fields, 'request rejected');
  }

  #clearDeadline(): void {
    if (this.#deadline !== undefined) {
      this.options.timers.clearTimeout(this.#deadline);
      this.#deadline = undefined;
    }
  }

  #release(): void {
    if (this.#released || this.#decision === undefined) return;
    this.#released = true;
    this.options.router.release(this.#decision);
  }
}

/** The body bytes a message carries (0 for headers and trailers), for trace lines. */
function messageBytes(msg: ProcessingRequest__Output): number {
  return msg.request_body?.body?.length ?? msg.response_body?.body?.length ?? 0;
}

/** The chunks in one buffer over shared memory, which a parse worker reads without another copy. */
function sharedCopy(chunks: readonly Buffer[], bytes: number): Buffer {
  const out = Buffer.from(new SharedArrayBuffer(bytes));
  let at = 0;
  for (const c of chunks) {
    c.copy(out, at);
    at += c.length;
  }
  return out;
}
