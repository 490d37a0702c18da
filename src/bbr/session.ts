/**
 * One body-based-routing ext_proc stream: reads `model` from the request body and answers with the
 * `X-Gateway-Model-Name` header (route cache cleared, so the gateway re-picks the route, i.e. the
 * InferencePool), passing the body through byte for byte.
 *
 * FULL_DUPLEX_STREAMED: the request-header answer is held until the body's end of stream, then the
 * header answer and the body back as ≤62,000-byte StreamedBodyResponse chunks. BUFFERED: headers are
 * answered CONTINUE and the header mutation rides on the body answer (no body mutation). A body-less
 * request is answered at once without the header. Response messages, if the data plane sends them,
 * pass through unchanged.
 *
 * The header is owned by BBR: a client's copy is always replaced or removed, so a client cannot
 * choose a pool by sending the header with a body that names no model (GIE's bbr leaves it).
 * Missing or unusable models pass through without the header (GIE fails the stream on invalid JSON
 * or a non-string model; here the route without the header decides, typically a 404).
 */
import { PayloadTooLargeError, ProtocolViolationError, toEppError, type EppError } from '../errors/errors.js';
import type { Logger } from '../observability/logger.js';
import { boundedText } from '../util/bounded-text.js';
import type { HeaderValueOption, ProcessingRequest__Output } from '../extproc/proto.js';
import { continueBody, continueHeaders, immediateError, streamedBody, trailersResponse } from '../extproc/responses.js';
import type { BodyMode, ResponseSink } from '../extproc/session.js';
import type { BbrMetrics } from './metrics.js';
import { extractModel, MODEL_NAME_HEADER } from './model.js';

/** What every BBR session shares. */
export interface BbrSessionOptions {
  readonly metrics: BbrMetrics;
  readonly logger: Logger;
  /** Body mode assumed until the data plane's `protocol_config` says otherwise. */
  readonly defaultBodyMode: BodyMode;
  /** Bodies beyond this many bytes are answered 413 as soon as the cap is passed. */
  readonly maxRequestBodyBytes: number;
}

const enum Phase {
  AwaitingHeaders,
  CollectingBody,
  Answered,
  Closed,
}

function modelHeader(model: string): HeaderValueOption {
  return { header: { key: MODEL_NAME_HEADER, raw_value: Buffer.from(model, 'utf8') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}

/** The state machine of one stream; `onMessage` never throws. */
export class BbrSession {
  #phase = Phase.AwaitingHeaders;
  #mode: BodyMode;
  #responseMode: BodyMode | 'streamed' | 'none';
  #chunks: Buffer[] = [];
  #bodyBytes = 0;
  #clientHeaderPresent = false;

  constructor(
    private readonly sink: ResponseSink,
    private readonly options: BbrSessionOptions,
  ) {
    this.#mode = options.defaultBodyMode;
    this.#responseMode = options.defaultBodyMode;
  }

  onMessage(msg: ProcessingRequest__Output): void {
    if (this.#phase === Phase.Closed) return;
    try {
      this.#dispatch(msg);
    } catch (err) {
      this.#fail(toEppError(err));
    }
  }

  /** The stream ended: drop what is held. */
  onStreamEnd(): void {
    this.#chunks = [];
    this.#phase = Phase.Closed;
  }

  #dispatch(msg: ProcessingRequest__Output): void {
    const pc = msg.protocol_config;
    if (pc !== undefined) {
      this.#mode = pc.request_body_mode === 'BUFFERED' || pc.request_body_mode === 'BUFFERED_PARTIAL' ? 'buffered' : 'full-duplex';
      const rm = pc.response_body_mode;
      this.#responseMode =
        rm === 'FULL_DUPLEX_STREAMED' ? 'full-duplex' : rm === 'BUFFERED' || rm === 'BUFFERED_PARTIAL' ? 'buffered' : rm === 'STREAMED' ? 'streamed' : 'none';
    }
    switch (msg.request) {
      case 'request_headers':
        return this.#onRequestHeaders(msg.request_headers?.headers?.headers ?? [], msg.request_headers?.end_of_stream === true);
      case 'request_body':
        return this.#onRequestBody(msg.request_body?.body, msg.request_body?.end_of_stream === true);
      case 'request_trailers':
        if (this.#phase === Phase.CollectingBody) this.#finish();
        if (this.#phase !== Phase.Closed) this.sink.send(trailersResponse('request'));
        return;
      case 'response_headers':
        this.sink.send(continueHeaders('response'));
        return;
      case 'response_body': {
        const body = msg.response_body?.body ?? Buffer.alloc(0);
        if (this.#responseMode === 'full-duplex') {
          for (const m of streamedBody('response', body, msg.response_body?.end_of_stream === true)) this.sink.send(m);
        } else if (this.#responseMode !== 'none') {
          this.sink.send(continueBody('response'));
        }
        return;
      }
      case 'response_trailers':
        this.sink.send(trailersResponse('response'));
        return;
      default:
        throw new ProtocolViolationError('ProcessingRequest without a request field');
    }
  }

  #onRequestHeaders(headers: readonly { key?: string }[], endOfStream: boolean): void {
    if (this.#phase !== Phase.AwaitingHeaders) throw new ProtocolViolationError('request headers received twice');
    this.#clientHeaderPresent = headers.some((h) => (h.key ?? '').toLowerCase() === MODEL_NAME_HEADER);
    if (endOfStream) {
      // Nothing to read a model from.
      this.#phase = Phase.Answered;
      this.options.metrics.modelNotInBody.inc();
      this.sink.send(continueHeaders('request', this.#removals()));
      return;
    }
    this.#phase = Phase.CollectingBody;
    if (this.#mode === 'buffered') this.sink.send(continueHeaders('request'));
  }

  #onRequestBody(body: Buffer | undefined, endOfStream: boolean): void {
    if (this.#phase !== Phase.CollectingBody) {
      if (this.#phase === Phase.AwaitingHeaders) throw new ProtocolViolationError('request body received before request headers');
      return; // a late empty end-of-stream chunk after the answer carries nothing
    }
    if (body !== undefined && body.length > 0) {
      this.#bodyBytes += body.length;
      if (this.#bodyBytes > this.options.maxRequestBodyBytes) {
        this.#chunks = [];
        this.options.metrics.bodyTooLarge.inc();
        throw new PayloadTooLargeError(`request body exceeds the limit of ${this.options.maxRequestBodyBytes} bytes`);
      }
      this.#chunks.push(body);
    }
    if (endOfStream) this.#finish();
  }

  #finish(): void {
    this.#phase = Phase.Answered;
    const body = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#bodyBytes);
    this.#chunks = [];
    const extraction = extractModel(body);
    const { metrics, logger } = this.options;
    let common: { clear_route_cache?: boolean; header_mutation?: { set_headers?: HeaderValueOption[]; remove_headers?: string[] } } = {};
    if (extraction.kind === 'model') {
      metrics.success.inc();
      common = { clear_route_cache: true, header_mutation: { set_headers: [modelHeader(extraction.model)] } };
      if (logger.isLevelEnabled('debug')) logger.debug({ model: boundedText(extraction.model) }, 'model header set');
    } else {
      if (extraction.kind === 'missing') metrics.modelNotInBody.inc();
      else metrics.modelNotParsed.inc();
      if (logger.isLevelEnabled('debug')) {
        logger.debug({ reason: extraction.kind === 'missing' ? 'the request body has no model' : boundedText(extraction.reason) }, 'passing through without a model header');
      }
      const remove = this.#removals();
      // Removing the client's copy changes the route as much as setting it does.
      if (remove.length > 0) common = { clear_route_cache: true, header_mutation: { remove_headers: remove } };
    }
    if (this.#mode === 'buffered') {
      this.sink.send({ request_body: { response: common } });
      return;
    }
    this.sink.send({ request_headers: { response: common } });
    for (const m of streamedBody('request', body, true)) this.sink.send(m);
  }

  #removals(): string[] {
    return this.#clientHeaderPresent ? [MODEL_NAME_HEADER] : [];
  }

  #fail(err: EppError): void {
    if (this.#phase === Phase.Closed) return;
    this.#phase = Phase.Closed;
    this.#chunks = [];
    this.options.logger[err.code === 'Internal' ? 'error' : 'info']({ code: err.code, err: err.message }, 'request rejected');
    this.sink.send(immediateError(err));
    this.sink.end();
  }
}
