/**
 * The null ext_proc session: what any FULL_DUPLEX_STREAMED picker must do and nothing more — buffer
 * the request body until end of stream, answer the request headers with a fixed destination (header
 * plus `envoy.lb` metadata, route cache cleared, content-length as the picker sets it), echo the body
 * as ≤62,000-byte StreamedBodyResponse chunks. No JSON parse, no scheduling, no metrics, no logging.
 */
import type { ProcessingRequest__Output } from '../../src/extproc/proto.js';
import { routedHeadersResponse, setHeader, streamedBody } from '../../src/extproc/responses.js';
import type { StreamSession } from '../../src/extproc/service.js';
import type { ResponseSink } from '../../src/extproc/session.js';

/** One null stream. */
export class NullSession implements StreamSession {
  #chunks: Buffer[] = [];
  #bytes = 0;
  #answered = false;
  constructor(
    private readonly sink: ResponseSink,
    private readonly destination: string,
  ) {}
  onMessage(msg: ProcessingRequest__Output): void {
    if (this.#answered) return;
    if (msg.request === 'request_headers') {
      if (msg.request_headers?.end_of_stream === true) this.#answer();
    } else if (msg.request === 'request_body') {
      const b = msg.request_body?.body;
      if (b !== undefined && b.length > 0) {
        this.#chunks.push(b);
        this.#bytes += b.length;
      }
      if (msg.request_body?.end_of_stream === true) this.#answer();
    }
  }
  onStreamEnd(): void {
    this.#chunks = [];
  }
  #answer(): void {
    this.#answered = true;
    const body = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#bytes);
    this.#chunks = [];
    const set = body.length > 0 ? [setHeader('content-length', String(body.length))] : [];
    this.sink.send(routedHeadersResponse(this.destination, set, []));
    if (body.length > 0) for (const m of streamedBody('request', body, true)) this.sink.send(m);
  }
}

