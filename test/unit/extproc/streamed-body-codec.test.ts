import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EXTERNAL_PROCESSOR_SERVICE, type ProcessingResponse } from '../../../src/extproc/proto.js';
import { BODY_CHUNK_BYTES, streamedBody } from '../../../src/extproc/responses.js';
import { splitFormOf, splitStreamedBody } from '../../../src/extproc/streamed-body-codec.js';

const codec = EXTERNAL_PROCESSOR_SERVICE.Process as unknown as {
  readonly responseSerialize: (value: ProcessingResponse) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => unknown;
};

/** The decoded message with its body replaced by a digest (deep equality over megabytes is slow). */
function decoded(wire: Buffer): unknown {
  const digest = (v: unknown): unknown => {
    if (Buffer.isBuffer(v)) return `${v.length} bytes, sha256 ${createHash('sha256').update(v).digest('hex')}`;
    if (v === null || typeof v !== 'object') return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, digest(x)]));
  };
  return digest(codec.responseDeserialize(wire));
}

function body(length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

describe('streamed body codec', () => {
  // Lengths around every varint boundary a chunk, or a message holding one, can cross.
  const lengths = [1, 2, 117, 118, 127, 128, 129, 16_370, 16_383, 16_384, 16_400, BODY_CHUNK_BYTES, 2_097_140, 2_097_152];
  for (const direction of ['request', 'response'] as const) {
    for (const eos of [false, true]) {
      it(`decodes as the protobufjs encoding does (${direction}, end_of_stream ${String(eos)})`, () => {
        for (const n of lengths) {
          const chunk = body(n);
          const { head, tail } = splitStreamedBody(direction, chunk, eos);
          expect(tail).toBe(chunk);
          const wire = Buffer.concat([head, tail]);
          const field = direction === 'request' ? 'request_body' : 'response_body';
          const reference = codec.responseSerialize({ [field]: { response: { body_mutation: { streamed_response: { body: chunk, end_of_stream: eos } } } } });
          // Same message; the bytes differ only in field order (end_of_stream first), so same length.
          expect(wire.length, `length ${n}`).toBe(reference.length);
          expect(wire.equals(reference), `length ${n}`).toBe(false); // field order differs
          expect(decoded(wire), `length ${n}`).toEqual(decoded(reference));
          expect((codec.responseDeserialize(wire) as { [k: string]: { response: { body_mutation: { streamed_response: { body: Buffer } } } } })[field]?.response.body_mutation.streamed_response.body.equals(chunk)).toBe(true);
        }
      });
    }
  }

  it('is attached by streamedBody to every non-empty chunk, and to none of an empty body', () => {
    const whole = body(BODY_CHUNK_BYTES * 2 + 5);
    const messages = streamedBody('request', whole, true);
    expect(messages).toHaveLength(3);
    const rebuilt = messages.map((m) => {
      const split = splitFormOf(m);
      expect(split).toBeDefined();
      return Buffer.concat([split?.head ?? Buffer.alloc(0), split?.tail ?? Buffer.alloc(0)]);
    });
    for (const [i, m] of messages.entries()) expect(decoded(rebuilt[i] as Buffer)).toEqual(decoded(codec.responseSerialize(m)));
    expect(splitFormOf(streamedBody('response', Buffer.alloc(0), true)[0] as ProcessingResponse)).toBeUndefined();
  });
});
