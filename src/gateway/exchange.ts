/**
 * One HTTP request through the gateway, driven the way Envoy's ext_proc filter drives it with
 * `processing_mode` SEND headers and FULL_DUPLEX_STREAMED bodies (or BUFFERED request bodies):
 *
 * 1. request headers go to the processor at once, body chunks as they arrive (buffered mode: the
 *    whole body in one message, after the request-headers response);
 * 2. the request-headers response carries the header mutation and the destination (dynamic metadata
 *    `envoy.lb`, else the header the processor set); the upstream request starts then, and the body the
 *    processor streams back is forwarded as it comes;
 * 3. upstream response headers and body chunks go to the processor, and what it returns goes to the
 *    client as it comes (SSE streams token by token);
 * 4. `ImmediateResponse` at any point answers the client and ends the exchange.
 *
 * Failures map to Envoy's local replies: processor unreachable / erring / breaking the protocol → 500
 * (fail closed), processor silent for `processorTimeoutMs` while it owes an answer → 504, no valid
 * destination → 503, upstream connect failure → 503; once the client response has started, the only
 * signal left is resetting the connection. With `failureModeAllow`, a processor failure before any
 * body byte reached it lets the request continue without it — but a destination only ever comes from
 * the processor (never from the client's own header), so a request still undecided gets 503.
 */
import { randomUUID } from 'node:crypto';
import type { Agent, IncomingMessage, OutgoingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';
import type { ExternalProcessorClientType, ProcessingRequest, ProcessingResponse__Output, Struct__Output } from '../extproc/proto.js';
import type { HeaderMutation__Output } from '../generated/envoy/service/ext_proc/v3/HeaderMutation.js';
import type { ImmediateResponse__Output } from '../generated/envoy/service/ext_proc/v3/ImmediateResponse.js';
import type { CommonResponse__Output } from '../generated/envoy/service/ext_proc/v3/CommonResponse.js';
import { ExtProcStream, ExtProcStreamError, describeStatus } from './extproc-stream.js';
import { HeaderList, isHopByHop, requestHasBody } from './header-list.js';
import { applyHeaderMutation, InvalidHeaderMutationError, type MutationTarget } from './header-mutation.js';
import { DESTINATION_HEADER, destinationFromMetadata, firstValidEndpoint } from './destination.js';
import { LOCAL_REPLY, sendLocalReply } from './local-reply.js';
import { openUpstream, UpstreamError, type UpstreamCall, type UpstreamTimeouts } from './upstream.js';
import type { GatewayCounters } from './stats.js';

/** Everything an exchange needs from its gateway; shared by all exchanges. */
export interface ExchangeSettings {
  readonly client: ExternalProcessorClientType;
  readonly agent: Agent;
  readonly stats: GatewayCounters;
  readonly logger: Logger;
  readonly requestBodyMode: 'full-duplex' | 'buffered';
  readonly failureModeAllow: boolean;
  /** How long the processor may stay silent while it owes an answer. */
  readonly processorTimeoutMs: number;
  /** Largest request body buffered in `buffered` mode; beyond it the client gets 413, as from Envoy. */
  readonly bufferLimitBytes: number;
  readonly upstreamTimeouts: UpstreamTimeouts;
}

/** The processor broke the ext_proc contract (Envoy counts these as spurious messages and fails the request). */
class ProtocolViolation extends Error {
  override readonly name = 'ProtocolViolation';
}

/** The processor owed an answer and gave none in time. */
class ProcessorTimeout extends Error {
  override readonly name = 'ProcessorTimeout';
}

type Outcome = 'completed' | 'failed' | 'aborted';

const EMPTY = Buffer.alloc(0);
// After a completed exchange the stream is half-closed; a processor that never closes its side is
// cancelled after this long so streams cannot pile up.
const HALF_CLOSE_GRACE_MS = 5_000;

/**
 * The state of one request (see the module comment). Contract: `start()` once; the exchange then
 * answers or resets the client by itself, and calls `onSettled` exactly once, when the HTTP side is
 * finished and the ext_proc stream has closed. `abort()` forces both at any time.
 */
export class Exchange {
  private readonly ext: ExtProcStream;
  private readonly log: Logger;
  private readonly requestHeaders: HeaderList;
  private readonly hasBody: boolean;
  private readonly buffered: boolean;

  // Request direction.
  private requestEosSent = false;
  private requestBodyBytesSent = 0;
  private requestHeadersAnswered = false;
  private requestBodyDone = false;
  private clientBodyEnded = false;
  private requestPassThrough = false;
  private readonly bufferedChunks: Buffer[] = [];
  private bufferedSize = 0;
  private bufferedSent = false;
  private readonly processorSetNames = new Set<string>();
  private metadataDestination: string | undefined;
  private upstream: UpstreamCall | undefined;
  private upstreamBodyBytes = 0;
  private upstreamContentLength: number | undefined;

  // Response direction.
  private upstreamResponse: IncomingMessage | undefined;
  private upstreamHeaders: HeaderList | undefined;
  private upstreamResponseEnded = false;
  private responseHasBody = false;
  private responseHeadersSent = false;
  private responseHeadersAnswered = false;
  private responseBodyBytesSent = 0;
  private responseEosSent = false;
  private responseBodyDone = false;
  private responsePassThrough = false;

  private detached = false;
  // True while a processor message is being applied, which may wait on the client or upstream
  // draining: that wait is ours, not the processor's, so the watchdog stays off meanwhile.
  private handling = false;
  private watchdog: NodeJS.Timeout | undefined;
  private closeGrace: NodeJS.Timeout | undefined;
  private outcome: Outcome | undefined;
  private streamClosed = false;
  private readonly startedAt = performance.now();

  constructor(
    private readonly settings: ExchangeSettings,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly onSettled: (exchange: Exchange) => void,
  ) {
    this.requestHeaders = requestHeadersOf(req);
    this.hasBody = requestHasBody(req.headers);
    this.buffered = settings.requestBodyMode === 'buffered';
    this.log = settings.logger.child({ requestId: this.requestHeaders.get('x-request-id') });
    this.ext = ExtProcStream.open(settings.client);
  }

  /** Starts processing; never throws, and every failure ends in a reply or a reset. */
  start(): void {
    this.guarded(() => this.begin())();
  }

  private begin(): void {
    const { stats } = this.settings;
    stats.requests++;
    stats.inFlight++;
    stats.streamsStarted++;
    stats.streamsActive++;
    if (this.requestHeaders.has(DESTINATION_HEADER)) stats.clientDestinationHeaders++;
    this.res.on('close', () => {
      if (!this.res.writableFinished) this.onClientGone();
    });
    // A client reset surfaces through the response's 'close'; these only keep the errors handled.
    this.req.on('error', () => undefined);
    this.res.on('error', () => undefined);
    void this.ext.closed.then(() => this.onStreamClosed());

    void this.send({
      request_headers: { headers: this.requestHeaders.toProto(), end_of_stream: !this.hasBody },
      protocol_config: {
        request_body_mode: this.buffered ? 'BUFFERED' : 'FULL_DUPLEX_STREAMED',
        response_body_mode: 'FULL_DUPLEX_STREAMED',
      },
    });
    if (!this.hasBody) {
      this.requestEosSent = true;
      this.clientBodyEnded = true;
    } else if (this.buffered) {
      this.bufferRequestBody();
    } else {
      this.streamRequestBody();
    }
    this.refreshWatchdog();
    void this.readLoop();
  }

  /** Ends the exchange at once (gateway shutdown): resets the client connection, cancels the stream. */
  abort(): void {
    if (this.outcome === undefined) {
      this.res.destroy();
      this.finish('aborted');
    }
    this.ext.cancel();
  }

  // ---- request body, client → processor ----------------------------------------------------------

  private streamRequestBody(): void {
    this.req.on('data', this.guarded((chunk: Buffer) => {
      if (this.outcome !== undefined) return;
      if (this.requestPassThrough) {
        this.forwardWithBackpressure(chunk);
        return;
      }
      if (this.detached) return;
      this.requestBodyBytesSent += chunk.length;
      this.req.pause();
      void this.send({ request_body: { body: chunk, end_of_stream: false } })
        .then(() => drained(this.upstream?.request))
        .then(() => {
          if (this.outcome === undefined) this.req.resume();
        });
    }));
    this.req.on('end', this.guarded(() => {
      this.clientBodyEnded = true;
      if (this.outcome !== undefined) return;
      if (this.requestPassThrough) {
        this.upstream?.request.end();
        this.requestBodyDone = true;
        return;
      }
      if (this.detached) return;
      void this.send({ request_body: { body: EMPTY, end_of_stream: true } });
      this.requestEosSent = true;
      this.refreshWatchdog();
    }));
  }

  private forwardWithBackpressure(chunk: Buffer): void {
    const upstream = this.upstream?.request;
    if (upstream === undefined || upstream.write(chunk)) return;
    this.req.pause();
    void drained(upstream).then(() => {
      if (this.outcome === undefined) this.req.resume();
    });
  }

  private bufferRequestBody(): void {
    this.req.on('data', this.guarded((chunk: Buffer) => {
      if (this.outcome !== undefined) return;
      this.bufferedSize += chunk.length;
      if (this.bufferedSize > this.settings.bufferLimitBytes) {
        this.reply(413, LOCAL_REPLY.payloadTooLarge);
        this.finish('failed');
        return;
      }
      this.bufferedChunks.push(chunk);
    }));
    this.req.on('end', this.guarded(() => {
      this.clientBodyEnded = true;
      this.maybeSendBufferedBody();
    }));
  }

  private maybeSendBufferedBody(): void {
    if (this.outcome !== undefined || this.detached || this.bufferedSent) return;
    if (!this.requestHeadersAnswered || !this.clientBodyEnded) return;
    this.bufferedSent = true;
    const body = this.originalBody();
    this.requestBodyBytesSent += body.length;
    void this.send({ request_body: { body, end_of_stream: true } });
    this.requestEosSent = true;
    this.refreshWatchdog();
  }

  private originalBody(): Buffer {
    return Buffer.concat(this.bufferedChunks, this.bufferedSize);
  }

  // ---- processor responses -------------------------------------------------------------------------

  private async readLoop(): Promise<void> {
    try {
      for (;;) {
        const message = await this.ext.next();
        if (message === undefined) {
          this.onProcessorClosed();
          return;
        }
        if (this.outcome !== undefined || this.detached) return;
        this.clearWatchdog();
        this.handling = true;
        await this.handle(message);
        this.handling = false;
        if (this.outcome !== undefined) return;
        this.refreshWatchdog();
      }
    } catch (err) {
      this.guarded(() => this.onProcessorFailure(err))();
    }
  }

  private async handle(message: ProcessingResponse__Output): Promise<void> {
    switch (message.response) {
      case 'immediate_response':
        this.onImmediateResponse(message.immediate_response ?? {});
        return;
      case 'request_headers':
        this.onRequestHeaders(message.request_headers?.response, message.dynamic_metadata);
        return;
      case 'request_body':
        await this.onRequestBody(message.request_body?.response, message.dynamic_metadata);
        return;
      case 'response_headers':
        this.onResponseHeaders(message.response_headers?.response);
        return;
      case 'response_body':
        await this.onResponseBody(message.response_body?.response);
        return;
      case undefined:
        // A message carrying only override_message_timeout / dynamic metadata: nothing to act on here.
        this.noteMetadata(message.dynamic_metadata);
        return;
      default:
        throw new ProtocolViolation(`unexpected ${message.response} response (no trailers were sent)`);
    }
  }

  private onRequestHeaders(common: CommonResponse__Output | undefined, metadata: Struct__Output | undefined): void {
    if (this.requestHeadersAnswered) throw new ProtocolViolation('second request_headers response');
    if (common?.status === 'CONTINUE_AND_REPLACE') throw new ProtocolViolation('CONTINUE_AND_REPLACE is not supported by this gateway');
    this.requestHeadersAnswered = true;
    // The body may be rewritten, so Envoy drops the client's length; the processor sets its own.
    if (this.hasBody && !this.buffered) this.requestHeaders.remove('content-length');
    this.mutateRequest(common?.header_mutation);
    if (common?.clear_route_cache === true) this.settings.stats.clearRouteCache++;
    this.noteMetadata(metadata);
    if (!this.hasBody) {
      this.requestBodyDone = true;
      this.startUpstream()?.request.end();
    } else if (this.buffered) {
      this.maybeSendBufferedBody();
    } else {
      this.startUpstream();
    }
  }

  private async onRequestBody(common: CommonResponse__Output | undefined, metadata: Struct__Output | undefined): Promise<void> {
    if (!this.requestHeadersAnswered || !this.hasBody || this.requestBodyDone) throw new ProtocolViolation('unexpected request_body response');
    const mutation = common?.body_mutation;
    if (this.buffered) {
      if (!this.bufferedSent) throw new ProtocolViolation('request_body response before the body was sent');
      this.mutateRequest(common?.header_mutation);
      this.noteMetadata(metadata);
      let body = this.originalBody();
      if (mutation?.mutation === 'streamed_response') throw new ProtocolViolation('streamed_response is only valid in FULL_DUPLEX_STREAMED mode');
      if (mutation?.mutation === 'body') body = mutation.body ?? EMPTY;
      if (mutation?.mutation === 'clear_body' && mutation.clear_body === true) body = EMPTY;
      const declared = this.requestHeaders.get('content-length');
      if (this.processorSetNames.has('content-length') && Number(declared) !== body.length) {
        throw new ProtocolViolation(`content-length ${declared} set by the processor does not match the ${body.length}-byte body`);
      }
      this.requestHeaders.set('content-length', String(body.length));
      this.requestBodyDone = true;
      this.startUpstream()?.request.end(body);
      return;
    }
    if (mutation?.mutation !== 'streamed_response' || mutation.streamed_response === undefined) {
      throw new ProtocolViolation('request_body responses must carry body_mutation.streamed_response in FULL_DUPLEX_STREAMED mode');
    }
    const upstream = this.upstream?.request;
    if (upstream === undefined) throw new ProtocolViolation('request body without an upstream');
    const { body, end_of_stream: eos } = mutation.streamed_response;
    if (body !== undefined && body.length > 0) {
      this.upstreamBodyBytes += body.length;
      this.checkUpstreamLength(false);
      upstream.write(body);
    }
    if (eos === true) {
      this.checkUpstreamLength(true);
      this.requestBodyDone = true;
      upstream.end();
    } else {
      await drained(upstream);
    }
  }

  private checkUpstreamLength(final: boolean): void {
    const declared = this.upstreamContentLength;
    if (declared === undefined) return;
    if (this.upstreamBodyBytes > declared || (final && this.upstreamBodyBytes !== declared)) {
      throw new ProtocolViolation(`content-length ${declared} set by the processor does not match the ${this.upstreamBodyBytes}-byte streamed body`);
    }
  }

  private onResponseHeaders(common: CommonResponse__Output | undefined): void {
    if (!this.responseHeadersSent || this.responseHeadersAnswered) throw new ProtocolViolation('unexpected response_headers response');
    this.responseHeadersAnswered = true;
    const headers = this.clientHeaders();
    if (this.responseHasBody) headers.remove('content-length');
    this.mutate(headers, common?.header_mutation, 'response');
    this.writeClientHead(headers);
    if (!this.responseHasBody) {
      this.responseBodyDone = true;
      this.res.end();
      this.finish('completed');
    }
  }

  private async onResponseBody(common: CommonResponse__Output | undefined): Promise<void> {
    if (!this.responseHeadersAnswered || !this.responseHasBody || this.responseBodyDone) throw new ProtocolViolation('unexpected response_body response');
    const mutation = common?.body_mutation;
    if (mutation?.mutation !== 'streamed_response' || mutation.streamed_response === undefined) {
      throw new ProtocolViolation('response_body responses must carry body_mutation.streamed_response in FULL_DUPLEX_STREAMED mode');
    }
    const { body, end_of_stream: eos } = mutation.streamed_response;
    if (body !== undefined && body.length > 0) this.res.write(body);
    if (eos === true) {
      this.responseBodyDone = true;
      this.res.end();
      this.finish('completed');
    } else {
      await drained(this.res);
    }
  }

  private onImmediateResponse(immediate: ImmediateResponse__Output): void {
    this.settings.stats.immediateResponses++;
    const code = immediate.status?.code ?? 0;
    // Envoy only sends final statuses from an ImmediateResponse; anything else becomes a 500.
    const status = code >= 200 && code <= 599 ? code : 500;
    const headers = new HeaderList();
    this.mutate(headers, immediate.headers, 'immediate');
    this.log.debug({ status, details: immediate.details }, 'immediate response from the processor');
    this.reply(status, immediate.body ?? EMPTY, headers);
    this.finish('completed');
  }

  private mutateRequest(mutation: HeaderMutation__Output | undefined): void {
    const { setNames } = this.mutate(this.requestHeaders, mutation, 'request');
    for (const name of setNames) this.processorSetNames.add(name);
  }

  private mutate(headers: HeaderList, mutation: HeaderMutation__Output | undefined, target: MutationTarget): { setNames: ReadonlySet<string> } {
    const result = applyHeaderMutation(headers, mutation, target);
    if (result.rejected > 0) {
      this.settings.stats.rejectedHeaderMutations += result.rejected;
      this.log.debug({ rejected: result.rejected, target }, 'header mutations ignored under the default mutation rules');
    }
    return result;
  }

  private noteMetadata(metadata: Struct__Output | undefined): void {
    const destination = destinationFromMetadata(metadata);
    if (destination !== undefined) this.metadataDestination = destination;
  }

  // ---- upstream ----------------------------------------------------------------------------------

  /** Starts the upstream request, or answers 503 and returns undefined when there is no valid destination. */
  private startUpstream(): UpstreamCall | undefined {
    const { stats } = this.settings;
    const fromHeader = this.processorSetNames.has(DESTINATION_HEADER) ? this.requestHeaders.get(DESTINATION_HEADER) : undefined;
    const fromMetadata = this.metadataDestination;
    const endpoint = firstValidEndpoint(fromMetadata ?? fromHeader ?? '');
    if (endpoint === undefined) {
      stats.noHealthyUpstream++;
      this.log.debug({ fromMetadata, fromHeader }, 'no valid destination from the processor');
      this.reply(503, LOCAL_REPLY.noHealthyUpstream);
      this.finish('failed');
      return undefined;
    }
    if (fromMetadata !== undefined && fromHeader !== undefined) {
      if (fromMetadata.trim() === fromHeader.trim()) stats.destinationAgreed++;
      else stats.destinationMismatch++;
    } else if (fromMetadata !== undefined) {
      stats.destinationMetadataOnly++;
    } else {
      stats.destinationHeaderOnly++;
    }
    stats.countRouted(endpoint.address);
    const length = this.requestHeaders.get('content-length');
    this.upstreamContentLength = length === undefined || !/^\d+$/.test(length) ? undefined : Number(length);
    const call = openUpstream(endpoint, this.requestHeaders, this.settings.agent, this.settings.upstreamTimeouts);
    call.request.on('response', this.guarded((response: IncomingMessage) => this.onUpstreamResponse(response)));
    call.request.on('error', this.guarded((err: unknown) => this.onUpstreamFailure(call.classify(err))));
    this.upstream = call;
    this.log.debug({ destination: endpoint.address }, 'routing');
    return call;
  }

  private onUpstreamResponse(response: IncomingMessage): void {
    this.upstreamResponse = response;
    response.on('error', () => undefined);
    response.on('close', this.guarded(() => {
      if (!response.complete) this.onUpstreamFailure(new UpstreamError('reset', 'upstream reset during the response body'));
    }));
    if (this.outcome !== undefined) {
      response.destroy();
      return;
    }
    const headers = new HeaderList();
    headers.add(':status', String(response.statusCode ?? 502));
    for (const [name, value] of HeaderList.fromRaw(response.rawHeaders).entries()) if (!isHopByHop(name)) headers.add(name, value);
    this.upstreamHeaders = headers;
    this.responseHasBody = responseHasBody(this.requestHeaders.get(':method'), response.statusCode ?? 0, headers);
    this.pumpResponseBody(response);
    if (this.responsePassThrough) {
      this.writeClientHead(this.clientHeaders());
      return;
    }
    void this.send({ response_headers: { headers: headers.toProto(), end_of_stream: !this.responseHasBody } });
    this.responseHeadersSent = true;
    if (!this.responseHasBody) this.responseEosSent = true;
    this.refreshWatchdog();
  }

  private pumpResponseBody(response: IncomingMessage): void {
    response.on('data', this.guarded((chunk: Buffer) => {
      if (this.outcome !== undefined) return;
      if (this.responsePassThrough) {
        if (!this.res.write(chunk)) {
          response.pause();
          void drained(this.res).then(() => response.resume());
        }
        return;
      }
      if (this.detached) return;
      this.responseBodyBytesSent += chunk.length;
      response.pause();
      void this.send({ response_body: { body: chunk, end_of_stream: false } })
        .then(() => drained(this.res))
        .then(() => {
          if (this.outcome === undefined) response.resume();
        });
    }));
    response.on('end', this.guarded(() => {
      this.upstreamResponseEnded = true;
      if (this.outcome !== undefined) return;
      if (this.responsePassThrough) {
        this.res.end();
        this.finish('completed');
        return;
      }
      if (this.detached || !this.responseHasBody) return;
      void this.send({ response_body: { body: EMPTY, end_of_stream: true } });
      this.responseEosSent = true;
      this.refreshWatchdog();
    }));
  }

  private onUpstreamFailure(err: UpstreamError): void {
    if (this.outcome !== undefined) return;
    this.settings.stats.upstreamFailures++;
    this.log.debug({ failure: err.failure, err: err.message }, 'upstream failure');
    // Once upstream headers are in, Envoy's router counts the response as started (even while ext_proc
    // still holds it), so the only signal left is a reset.
    if (this.upstreamResponse !== undefined) this.res.destroy();
    else if (err.failure === 'idle-timeout') this.reply(504, LOCAL_REPLY.upstreamTimeout);
    else this.reply(503, err.failure === 'reset' ? LOCAL_REPLY.upstreamReset : LOCAL_REPLY.upstreamConnectError);
    this.finish('failed');
  }

  private clientHeaders(): HeaderList {
    const headers = new HeaderList();
    for (const [name, value] of this.upstreamHeaders?.entries() ?? []) headers.add(name, value);
    return headers;
  }

  private writeClientHead(headers: HeaderList): void {
    const status = Number(headers.get(':status') ?? 502);
    this.res.writeHead(status, headers.toForwardHeaders());
    this.res.flushHeaders();
  }

  // ---- processor gone ----------------------------------------------------------------------------

  private onProcessorClosed(): void {
    if (this.outcome !== undefined || this.detached) return;
    this.log.debug('processor closed the stream; continuing without it');
    this.continueWithoutProcessor();
  }

  private onProcessorFailure(err: unknown): void {
    if (this.outcome !== undefined || this.detached) return;
    const { stats } = this.settings;
    const timedOut = err instanceof ProcessorTimeout;
    const reason = err instanceof ExtProcStreamError && err.status !== undefined ? describeStatus(err.status) : err instanceof Error ? err.message : String(err);
    if (this.settings.failureModeAllow && this.requestBodyBytesSent === 0 && this.responseBodyBytesSent === 0) {
      stats.failureModeAllowed++;
      this.log.warn({ reason }, 'ext_proc failed; failure_mode_allow lets the request continue without it');
      this.ext.cancel();
      this.continueWithoutProcessor();
      return;
    }
    if (timedOut) stats.processorTimeouts++;
    else stats.processorErrors++;
    const known = err instanceof ExtProcStreamError || err instanceof ProtocolViolation || err instanceof InvalidHeaderMutationError || timedOut;
    if (known) this.log.warn({ reason }, 'ext_proc failed; failing the request closed');
    else this.log.error({ err }, 'gateway bug while processing a request');
    this.reply(timedOut ? 504 : 500, timedOut ? `ext_proc timeout: ${reason}` : `ext_proc error: ${reason}`);
    this.finish('failed');
  }

  /**
   * The processor is no longer consulted (it closed the stream cleanly, or failed under
   * failure_mode_allow). Whatever it had not answered yet proceeds unmodified, unless it held data
   * that is now lost.
   */
  private continueWithoutProcessor(): void {
    this.detached = true;
    this.clearWatchdog();
    if (!this.requestHeadersAnswered || !this.requestBodyDone) {
      if (this.upstream === undefined) {
        // The decision was never made, and the client's own destination header is not trusted.
        this.settings.stats.noHealthyUpstream++;
        this.reply(503, LOCAL_REPLY.noHealthyUpstream);
        this.finish('failed');
        return;
      }
      if (this.buffered || this.requestBodyBytesSent > 0) {
        this.settings.stats.processorErrors++;
        this.reply(500, 'ext_proc error: the processor ended the stream while holding the request body');
        this.finish('failed');
        return;
      }
      this.requestPassThrough = true;
      if (this.clientBodyEnded) {
        this.requestBodyDone = true;
        this.upstream.request.end();
      }
    }
    if (this.responseBodyBytesSent > 0) {
      this.settings.stats.processorErrors++;
      this.reply(500, 'ext_proc error: the processor ended the stream while holding the response body');
      this.finish('failed');
      return;
    }
    this.responsePassThrough = true;
    if (this.upstreamResponse === undefined || this.responseBodyDone) return;
    if (!this.responseHeadersAnswered) this.writeClientHead(this.clientHeaders());
    if (this.upstreamResponseEnded || !this.responseHasBody) {
      this.res.end();
      this.finish('completed');
    }
  }

  // ---- watchdog ----------------------------------------------------------------------------------

  private refreshWatchdog(): void {
    this.clearWatchdog();
    if (this.outcome !== undefined || this.detached || !this.owesAnswer()) return;
    const ms = this.settings.processorTimeoutMs;
    this.watchdog = setTimeout(
      this.guarded(() => this.onProcessorFailure(new ProcessorTimeout(`no answer from the processor within ${ms} ms`))),
      ms,
    );
  }

  private clearWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  /** Whether the processor has everything it needs for its next answer (so silence is a stall). */
  private owesAnswer(): boolean {
    if (this.handling) return false;
    if (!this.requestHeadersAnswered) return this.requestEosSent || this.buffered;
    if (this.hasBody && !this.requestBodyDone && this.requestEosSent) return true;
    if (this.responseHeadersSent && !this.responseHeadersAnswered) return true;
    return this.responseEosSent && !this.responseBodyDone;
  }

  // ---- endings -----------------------------------------------------------------------------------

  /**
   * Wraps an event handler so a bug in it fails this request with a 500 instead of escaping as an
   * uncaught exception that would take the whole gateway down.
   */
  private guarded<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return (...args: A): void => {
      try {
        fn(...args);
      } catch (err) {
        this.log.error({ err }, 'gateway bug while handling a request');
        if (this.outcome !== undefined) return;
        try {
          this.reply(500, 'gateway internal error');
        } catch {
          this.res.destroy();
        }
        this.finish('failed');
      }
    };
  }

  private send(request: ProcessingRequest): Promise<void> {
    // A failed send means the stream ended; the read loop reports that with the final status.
    return this.ext.send(request).catch(() => undefined);
  }

  private reply(status: number, body: string | Buffer, headers?: HeaderList): void {
    sendLocalReply(this.req, this.res, status, body, headers);
  }

  private onClientGone(): void {
    if (this.outcome !== undefined) return;
    this.settings.stats.clientAborts++;
    this.log.debug('client went away');
    this.finish('aborted');
  }

  private finish(outcome: Outcome): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    this.clearWatchdog();
    this.settings.stats.inFlight--;
    if (outcome === 'completed' && !this.detached) {
      this.ext.end();
      this.closeGrace = setTimeout(() => this.ext.cancel(), HALF_CLOSE_GRACE_MS);
      this.closeGrace.unref();
    } else {
      this.ext.cancel();
    }
    const upstream = this.upstream?.request;
    if (upstream !== undefined && (outcome !== 'completed' || !this.requestBodyDone)) upstream.destroy();
    if (this.upstreamResponse !== undefined && !this.upstreamResponse.complete) this.upstreamResponse.destroy();
    // Let whatever the client still sends drain (the reply asked for the connection to close).
    if (!this.req.complete) this.req.resume();
    this.log.debug({ outcome, status: this.res.statusCode, ms: Math.round(performance.now() - this.startedAt) }, 'request done');
    this.settleIfDone();
  }

  private onStreamClosed(): void {
    this.streamClosed = true;
    this.settings.stats.streamsActive--;
    clearTimeout(this.closeGrace);
    this.settleIfDone();
  }

  private settleIfDone(): void {
    if (this.outcome !== undefined && this.streamClosed) this.onSettled(this);
  }
}

/**
 * The request headers as Envoy's HTTP connection manager hands them to its filters: pseudo-headers
 * first, `host` folded into `:authority`, hop-by-hop headers gone, `x-forwarded-proto` and
 * `x-request-id` added when absent.
 */
function requestHeadersOf(req: IncomingMessage): HeaderList {
  const raw = HeaderList.fromRaw(req.rawHeaders);
  const headers = new HeaderList();
  headers.add(':authority', raw.get('host') ?? '');
  headers.add(':path', req.url ?? '/');
  headers.add(':method', req.method ?? 'GET');
  headers.add(':scheme', 'http');
  for (const [name, value] of raw.entries()) if (name !== 'host' && !isHopByHop(name)) headers.add(name, value);
  if (!headers.has('x-forwarded-proto')) headers.add('x-forwarded-proto', 'http');
  if (!headers.has('x-request-id')) headers.add('x-request-id', randomUUID());
  return headers;
}

/** Whether an upstream response has a body to process (HEAD, 1xx, 204, 304 and length 0 do not). */
function responseHasBody(method: string | undefined, status: number, headers: HeaderList): boolean {
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return false;
  return headers.get('content-length') !== '0';
}

/** Resolves once `stream` can take more data (or has closed). */
function drained(stream: OutgoingMessage | undefined): Promise<void> {
  if (stream === undefined || !stream.writableNeedDrain || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
