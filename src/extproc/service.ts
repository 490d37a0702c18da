/**
 * The `ExternalProcessor/Process` method on our gRPC server (src/grpc): one session per stream. Each
 * stream is isolated — anything thrown while handling a message answers that stream alone (500) and
 * the process carries on. Flow control and backpressure belong to the transport: a data plane that
 * stops reading stops getting receive window, so nothing here buffers without bound.
 */
import { InternalError } from '../errors/errors.js';
import type { GrpcCallHandler, GrpcMethod, GrpcServerCall } from '../grpc/grpc-server-call.js';
import type { GrpcStatusName, StreamMetrics } from '../observability/grpc-stream-metrics.js';
import type { Logger } from '../observability/logger.js';
import { EXTERNAL_PROCESSOR_SERVICE, type ProcessingRequest__Output, type ProcessingResponse } from './proto.js';
import { immediateError } from './responses.js';
import { splitFormOf } from './streamed-body-codec.js';
import { ExtProcSession, type ResponseSink, type SessionOptions } from './session.js';

/** Counts live streams (for drain, the in-flight gauge and tests). */
export class StreamTracker {
  active = 0;
  total = 0;
  /** `--enable-grpc-stream-metrics`: the opt-in stream metrics, when enabled. */
  constructor(readonly streamMetrics?: StreamMetrics) {}
}

/** What a stream handler drives: one session per ext_proc stream. */
export interface StreamSession {
  /** Handles one message; failures should already become an answer on this stream. */
  onMessage(msg: ProcessingRequest__Output): void;
  /** The stream ended, however: release what the session holds. Called once. */
  onStreamEnd(): void;
}

export const PROCESS_PATH = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';

type ProcessCall = GrpcServerCall<ProcessingRequest__Output, ProcessingResponse>;

/** Binds one call to one session: the session's sink, and the call's handler. */
class ProcessStream implements GrpcCallHandler<ProcessingRequest__Output>, ResponseSink {
  readonly #call: ProcessCall;
  readonly #session: StreamSession;
  readonly #logger: Logger;
  readonly #tracker: StreamTracker;
  readonly #label: string;
  #finished = false;
  readonly #startedAt: number;

  constructor(call: ProcessCall, createSession: (sink: ResponseSink) => StreamSession, logger: Logger, tracker: StreamTracker, label: string) {
    this.#call = call;
    this.#logger = logger;
    this.#tracker = tracker;
    this.#label = label;
    tracker.active++;
    tracker.total++;
    this.#startedAt = tracker.streamMetrics?.started() ?? 0;
    this.#session = createSession(this);
  }

  send(response: ProcessingResponse): void {
    this.#call.send(response);
  }

  /** The session is done with the stream: close it (OK status) and release the session. */
  end(): void {
    this.#call.end();
    this.#finish('OK');
  }

  onMessage(msg: ProcessingRequest__Output): void {
    try {
      this.#session.onMessage(msg);
    } catch (err) {
      // Sessions convert their failures; this guards against a bug in that conversion itself.
      this.#logger.error({ err }, `${this.#label} stream handler failed`);
      this.send(immediateError(new InternalError('internal error while processing the request')));
      this.end();
    }
  }

  /** The data plane half-closed: nothing more will come; close our side too. */
  onHalfClose(): void {
    this.#finish('OK');
    this.#call.end();
  }

  /** Envoy ends every stream with RST_STREAM (CANCELLED), even on success: a normal end. */
  onCancel(): void {
    this.#finish('Canceled');
  }

  #finish(code: GrpcStatusName): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#tracker.active--;
    this.#tracker.streamMetrics?.finished(this.#startedAt, code);
    this.#session.onStreamEnd();
  }
}

const PROCESS_DEFINITION = EXTERNAL_PROCESSOR_SERVICE.Process as unknown as {
  readonly requestDeserialize: (bytes: Buffer) => ProcessingRequest__Output;
  readonly responseSerialize: (value: ProcessingResponse) => Buffer;
};

/** The Process method serving each stream with a session from `createSession`; `label` names it in logs. */
export function processMethod(
  createSession: (sink: ResponseSink) => StreamSession,
  logger: Logger,
  tracker: StreamTracker,
  label: string,
): GrpcMethod<ProcessingRequest__Output, ProcessingResponse> {
  return {
    path: PROCESS_PATH,
    deserialize: PROCESS_DEFINITION.requestDeserialize,
    serialize: PROCESS_DEFINITION.responseSerialize,
    serializeSplit: splitFormOf,
    start: (call) => new ProcessStream(call, createSession, logger, tracker, label),
  };
}

/** The picker's Process method: an ExtProcSession per stream. */
export function extProcMethod(options: SessionOptions, tracker = new StreamTracker()): GrpcMethod<ProcessingRequest__Output, ProcessingResponse> {
  return processMethod((sink) => new ExtProcSession(sink, options), options.logger, tracker, 'ext_proc');
}
