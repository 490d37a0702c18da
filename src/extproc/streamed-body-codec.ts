/**
 * The wire form of a streamed body chunk (`ProcessingResponse.request_body|response_body` →
 * `CommonResponse.body_mutation.streamed_response{body, end_of_stream}`), written as a small head
 * followed by the chunk's own bytes, so a body is never copied into an encoder's buffer. Each
 * request echoes its whole body this way; at 220 KB the copy was one of three per-request buffers of
 * that size, and their allocation rate is what paces V8's full collections (bench/README "extproc").
 *
 * `end_of_stream` is written before `body` (protobuf readers accept fields in any order, and it lets
 * the bytes field end the message), and always, as protobufjs writes a field that is set: the same
 * message, the same length, and the same decoded object as the generic encoder's. Protobuf field numbers are those of
 * envoy/service/ext_proc/v3/external_processor.proto.
 */

/** The head and the body bytes that follow it; together one serialized ProcessingResponse. */
export interface SplitMessage {
  readonly head: Buffer;
  readonly tail: Buffer;
}

/** Property (not a protobuf field: protobufjs ignores it) under which `streamedBody` keeps the split form. */
export const SPLIT_FORM: unique symbol = Symbol('split-form');

/** A message that may carry its split form; messages are not changed after they are built. */
export interface SplitFormCarrier {
  [SPLIT_FORM]?: SplitMessage;
}

/** The split form `streamedBody` attached to `message`, if any. */
export function splitFormOf(message: object): SplitMessage | undefined {
  return (message as SplitFormCarrier)[SPLIT_FORM];
}

const REQUEST_BODY_FIELD = 3;
const RESPONSE_BODY_FIELD = 4;
const LENGTH_DELIMITED = 2;
const VARINT = 0;
// Field 1 of BodyResponse (response), 3 of CommonResponse (body_mutation), 3 of BodyMutation
// (streamed_response); in StreamedBodyResponse, 1 is body and 2 end_of_stream.
const TAG_RESPONSE = (1 << 3) | LENGTH_DELIMITED;
const TAG_BODY_MUTATION = (3 << 3) | LENGTH_DELIMITED;
const TAG_STREAMED_RESPONSE = (3 << 3) | LENGTH_DELIMITED;
const TAG_BODY = (1 << 3) | LENGTH_DELIMITED;
const TAG_END_OF_STREAM = (2 << 3) | VARINT;

function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    bytes++;
  }
  return bytes;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}

/** The split form of a streamed body chunk `body` (non-empty) in `direction`. */
export function splitStreamedBody(direction: 'request' | 'response', body: Buffer, endOfStream: boolean): SplitMessage {
  // Lengths from the innermost message out.
  const streamed = 2 + 1 + varintBytes(body.length) + body.length;
  const mutation = 1 + varintBytes(streamed) + streamed;
  const common = 1 + varintBytes(mutation) + mutation;
  const bodyResponse = 1 + varintBytes(common) + common;
  const headBytes = 1 + varintBytes(bodyResponse) + bodyResponse - body.length;
  const head = Buffer.allocUnsafe(headBytes);
  let at = 0;
  head[at++] = ((direction === 'request' ? REQUEST_BODY_FIELD : RESPONSE_BODY_FIELD) << 3) | LENGTH_DELIMITED;
  at = writeVarint(head, at, bodyResponse);
  head[at++] = TAG_RESPONSE;
  at = writeVarint(head, at, common);
  head[at++] = TAG_BODY_MUTATION;
  at = writeVarint(head, at, mutation);
  head[at++] = TAG_STREAMED_RESPONSE;
  at = writeVarint(head, at, streamed);
  head[at++] = TAG_END_OF_STREAM;
  head[at++] = endOfStream ? 1 : 0;
  head[at++] = TAG_BODY;
  at = writeVarint(head, at, body.length);
  if (at !== headBytes) throw new Error(`streamed body head is ${at} bytes, expected ${headBytes}`);
  return { head, tail: body };
}
