/**
 * ext_proc messages as Envoy sends them in FULL_DUPLEX_STREAMED mode, and gRPC framing with the
 * project's own protobuf codec (src/extproc/proto.ts).
 */
import { PROCESS_METHOD, type ProcessingRequest, type ProcessingResponse__Output } from '../../../src/extproc/proto.js';

/** Envoy's protocol_config for FULL_DUPLEX_STREAMED both ways (sent on the first message). */
export const FULL_DUPLEX: NonNullable<ProcessingRequest['protocol_config']> = {
  request_body_mode: 'FULL_DUPLEX_STREAMED',
  response_body_mode: 'FULL_DUPLEX_STREAMED',
};

export type HeaderPairs = readonly (readonly [string, string | Buffer])[];

/** request_headers with `pairs` as raw_value entries (repeated names stay repeated). */
export function requestHeaders(pairs: HeaderPairs, endOfStream = false, extra: Partial<ProcessingRequest> = {}): ProcessingRequest {
  return {
    request_headers: {
      headers: { headers: pairs.map(([key, value]) => ({ key, raw_value: typeof value === 'string' ? Buffer.from(value, 'latin1') : value })) },
      end_of_stream: endOfStream,
    },
    ...extra,
  };
}

/** The request headers of an OpenAI POST through Envoy. */
export function postHeaders(path: string, requestId: string, extra: HeaderPairs = []): HeaderPairs {
  return [
    [':method', 'POST'],
    [':path', path],
    [':authority', 'gateway.local'],
    [':scheme', 'http'],
    ['content-type', 'application/json'],
    ['x-request-id', requestId],
    ...extra,
  ];
}

export function requestBody(body: Buffer | string, endOfStream: boolean): ProcessingRequest {
  return { request_body: { body: typeof body === 'string' ? Buffer.from(body) : body, end_of_stream: endOfStream } };
}

/** The body split into `chunkBytes` request_body messages, the last with end_of_stream. */
export function bodyChunks(body: Buffer, chunkBytes: number): ProcessingRequest[] {
  const out: ProcessingRequest[] = [];
  const size = chunkBytes > 0 ? chunkBytes : Math.max(1, body.length);
  let offset = 0;
  do {
    const end = Math.min(offset + size, body.length);
    out.push(requestBody(body.subarray(offset, end), end >= body.length));
    offset = end;
  } while (offset < body.length);
  return out;
}

export function responseHeaders(status = '200', contentType = 'text/event-stream'): ProcessingRequest {
  return {
    response_headers: {
      headers: { headers: [{ key: ':status', raw_value: Buffer.from(status) }, { key: 'content-type', raw_value: Buffer.from(contentType) }] },
      end_of_stream: false,
    },
  };
}

export function responseBody(body: Buffer | string, endOfStream: boolean): ProcessingRequest {
  return { response_body: { body: typeof body === 'string' ? Buffer.from(body) : body, end_of_stream: endOfStream } };
}

/** An OpenAI completions body with a prompt of about `promptBytes` bytes, distinct per `seq`. */
export function completionBody(seq: number, promptBytes: number, tag = 'fault'): Buffer {
  const head = `${tag}-${seq}: `;
  const filler = 'the picker routes tokens across replicas while queues grow ';
  let prompt = head;
  while (prompt.length < promptBytes) prompt += filler;
  return Buffer.from(JSON.stringify({ model: 'm', prompt: prompt.slice(0, Math.max(head.length, promptBytes)), max_tokens: 16, stream: true }));
}

/** One SSE token event as vLLM streams it. */
export function sseChunk(seq: number, index: number): Buffer {
  return Buffer.from(`data: {"id":"cmpl-${seq}","object":"text_completion","choices":[{"index":0,"text":" tok${index}","finish_reason":null}]}\n\n`);
}

/** Frames a serialized message for gRPC (5-byte prefix: uncompressed flag, big-endian length). */
export function grpcFrame(payload: Uint8Array, compressed = false): Buffer {
  const framed = Buffer.allocUnsafe(5 + payload.length);
  framed[0] = compressed ? 1 : 0;
  framed.writeUInt32BE(payload.length, 1);
  framed.set(payload, 5);
  return framed;
}

export function encodeRequest(msg: ProcessingRequest): Buffer {
  return PROCESS_METHOD.requestSerialize(msg);
}

export function decodeResponse(bytes: Buffer): ProcessingResponse__Output {
  return PROCESS_METHOD.responseDeserialize(bytes) as ProcessingResponse__Output;
}

/** Splits gRPC-framed bytes into messages, keeping an incomplete one for the next chunk. */
export class GrpcDeframer {
  #pending: Buffer | undefined;

  push(chunk: Buffer, onMessage: (payload: Buffer) => void): void {
    let buf = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      onMessage(buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
    }
    this.#pending = buf.length > 0 ? buf : undefined;
  }
}
