/**
 * The grpc-js binding of `ExternalProcessor/Process`: one ExtProcSession per stream. Each stream is
 * isolated — anything thrown while handling a message answers that stream alone (500) and the process
 * carries on (an exception escaping a grpc-js `data` listener would kill every stream). Outbound
 * backpressure pauses reading until the data plane drains what was written.
 */
import { status, type ServerDuplexStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { InternalError } from '../errors/errors.js';
import type { ProcessingRequest__Output, ProcessingResponse } from './proto.js';
import { immediateError } from './responses.js';
import type { Logger } from '../observability/logger.js';
import { ExtProcSession, type ResponseSink, type SessionOptions } from './session.js';

/** Counts live streams (for drain and tests). */
export class StreamTracker {
  active = 0;
  total = 0;
}

/** What a stream handler drives: one session per ext_proc stream. */
export interface StreamSession {
  /** Handles one message; failures should already become an answer on this stream. */
  onMessage(msg: ProcessingRequest__Output): void;
  /** The stream ended, however: release what the session holds. Called once. */
  onStreamEnd(): void;
}

/**
 * Serves one `Process` stream with a session from `createSession`: backpressure, isolation of
 * anything a session throws (answered with 500 on this stream alone), and exactly one
 * `onStreamEnd` however the stream ends. `label` names the server in logs.
 */
export function serveProcessStream(
  call: ServerDuplexStream<ProcessingRequest__Output, ProcessingResponse>,
  createSession: (sink: ResponseSink) => StreamSession,
  logger: Logger,
  tracker: StreamTracker,
  label: string,
): void {
  tracker.active++;
  tracker.total++;
  let ended = false;
  const sink: ResponseSink = {
    send(response: ProcessingResponse): void {
      if (ended) return;
      if (!call.write(response)) {
        call.pause();
        call.once('drain', () => call.resume());
      }
    },
    end(): void {
      if (ended) return;
      ended = true;
      call.end();
    },
  };
  const session = createSession(sink);
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    tracker.active--;
    session.onStreamEnd();
  };
  call.on('data', (msg: ProcessingRequest__Output) => {
    try {
      session.onMessage(msg);
    } catch (err) {
      // Sessions convert their failures; this guards against a bug in that conversion itself.
      logger.error({ err }, `${label} stream handler failed`);
      sink.send(immediateError(new InternalError('internal error while processing the request')));
      sink.end();
      finish();
    }
  });
  // The data plane half-closed: nothing more will come; close our side too.
  call.on('end', () => {
    finish();
    sink.end();
  });
  // Envoy ends every side stream with RST_STREAM (CANCELLED) even on success: a normal end.
  call.on('cancelled', finish);
  call.on('error', (err: Error & { code?: number }) => {
    if (err.code !== status.CANCELLED) logger.debug({ err: err.message }, `${label} stream error`);
    finish();
  });
  call.on('close', finish);
}

export function createExtProcHandlers(options: SessionOptions, tracker = new StreamTracker()): UntypedServiceImplementation {
  const process = (call: ServerDuplexStream<ProcessingRequest__Output, ProcessingResponse>): void =>
    serveProcessStream(call, (sink) => new ExtProcSession(sink, options), options.logger, tracker, 'ext_proc');
  return { Process: process };
}
