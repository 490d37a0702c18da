/**
 * fast-check generators for the fault suite: random ext_proc message sequences (mirroring Envoy's own
 * ext_proc fuzzer, plus bytes that are not even protobuf) and malformed or adversarial request bodies.
 */
import fc from 'fast-check';
import type { ProcessingRequest } from '../../../src/extproc/proto.js';
import { grpcFrame, encodeRequest, requestBody, requestHeaders, responseBody, responseHeaders, type HeaderPairs } from './messages.js';

/** One element of a fuzzed stream: a message, or raw bytes written into the gRPC stream. */
export type FuzzItem = { readonly kind: 'msg'; readonly msg: ProcessingRequest } | { readonly kind: 'raw'; readonly bytes: Buffer };

/** How a fuzzed stream ends on the client's side. */
export type FuzzEnd = 'half-close' | 'reset-now' | 'reset-after-answer' | 'truncated-frame';

export interface FuzzSequence {
  readonly items: readonly FuzzItem[];
  readonly end: FuzzEnd;
}

const VALID_BODY = '{"model":"m","prompt":"fuzz"}';
const PATHS = ['/v1/completions', '/v1/chat/completions', '/v1/responses', '/v1/embeddings', '/v1/models', '/', '//v1//completions/', '/v1/completions?x=1', '/v1%2Fcompletions', ''];
const BODY_MODES = ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED', 'GRPC'] as const;

const headerName = fc.oneof(
  fc.constantFrom(':path', ':method', ':authority', 'content-type', 'x-request-id', 'x-gateway-destination-endpoint', 'x-gateway-model-name-rewrite', 'x-gateway-inference-objective', 'x-gateway-destination-endpoint-subset', 'content-length'),
  fc.string({ minLength: 0, maxLength: 12 }),
);
const headerValue = fc.oneof(fc.constantFrom(...PATHS), fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b)));

const headersMsg = fc
  .record({ pairs: fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 }), eos: fc.boolean(), cfg: fc.option(fc.record({ req: fc.constantFrom(...BODY_MODES), res: fc.constantFrom(...BODY_MODES) }), { nil: undefined }) })
  .map(({ pairs, eos, cfg }): ProcessingRequest => requestHeaders(pairs as HeaderPairs, eos, cfg === undefined ? {} : { protocol_config: { request_body_mode: cfg.req, response_body_mode: cfg.res } }));

const bodyBytes = fc.oneof(
  fc.constant(Buffer.from(VALID_BODY)),
  fc.string({ maxLength: 60 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.integer({ min: 1, max: VALID_BODY.length - 1 }).map((n) => Buffer.from(VALID_BODY.slice(0, n))),
);

const subsetHint = fc.oneof(
  fc.array(fc.string({ maxLength: 24 }), { maxLength: 3 }).map((entries) => ({ listValue: { values: entries.map((e) => ({ stringValue: e })) } })),
  fc.constant({ numberValue: 5 }),
  fc.constant({ structValue: { fields: {} } }),
);

const message: fc.Arbitrary<ProcessingRequest> = fc.oneof(
  { weight: 4, arbitrary: headersMsg },
  { weight: 4, arbitrary: fc.record({ b: bodyBytes, eos: fc.boolean() }).map(({ b, eos }) => requestBody(b, eos)) },
  { weight: 1, arbitrary: fc.constant<ProcessingRequest>({ request_trailers: { trailers: { headers: [{ key: 'grpc-status', raw_value: Buffer.from('0') }] } } }) },
  { weight: 2, arbitrary: fc.constantFrom('200', '500', 'x').map((s) => responseHeaders(s)) },
  { weight: 2, arbitrary: fc.record({ b: bodyBytes, eos: fc.boolean() }).map(({ b, eos }) => responseBody(b, eos)) },
  { weight: 1, arbitrary: fc.constant<ProcessingRequest>({ response_trailers: {} }) },
  { weight: 1, arbitrary: fc.constant<ProcessingRequest>({}) },
  {
    weight: 1,
    arbitrary: subsetHint.map((value): ProcessingRequest => ({
      ...requestHeaders([[':path', '/v1/completions']], false),
      metadata_context: { filter_metadata: { 'envoy.lb.subset_hint': { fields: { 'x-gateway-destination-endpoint-subset': value } } } },
    })),
  },
);

/** Bytes that are no valid ProcessingRequest (or a compressed-flag frame nobody negotiated). */
const rawItem: fc.Arbitrary<FuzzItem> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 48 }).map((b): FuzzItem => ({ kind: 'raw', bytes: grpcFrame(b) })),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((b): FuzzItem => ({ kind: 'raw', bytes: grpcFrame(b, true) })),
  fc.constant<FuzzItem>({ kind: 'raw', bytes: grpcFrame(new Uint8Array(0)) }),
);

const item: fc.Arbitrary<FuzzItem> = fc.oneof({ weight: 12, arbitrary: message.map((msg): FuzzItem => ({ kind: 'msg', msg })) }, { weight: 1, arbitrary: rawItem });

export const fuzzSequence: fc.Arbitrary<FuzzSequence> = fc.record({
  items: fc.array(item, { minLength: 1, maxLength: 10 }),
  end: fc.constantFrom<FuzzEnd>('half-close', 'reset-now', 'reset-after-answer', 'truncated-frame'),
});

/** The framed bytes of an item. */
export function itemBytes(i: FuzzItem): Buffer {
  return i.kind === 'raw' ? i.bytes : grpcFrame(encodeRequest(i.msg));
}

/** `count` sequences drawn from `seed` (deterministic), in batches so memory stays flat. */
export function* fuzzSequences(count: number, seed: number, batch = 1000): Generator<FuzzSequence> {
  for (let done = 0, b = 0; done < count; b++) {
    const n = Math.min(batch, count - done);
    yield* fc.sample(fuzzSequence, { numRuns: n, seed: seed + b });
    done += n;
  }
}

/** Whole request bodies that are not valid requests: random bytes, truncated or mutated JSON, wrong shapes, odd encodings. */
export const malformedBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
  fc.json({ maxDepth: 4 }).map((j) => Buffer.from(j)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify({ model: v, prompt: v }))),
  fc.record({ text: fc.json({ maxDepth: 3 }), cut: fc.nat() }).map(({ text, cut }) => Buffer.from(text.slice(0, cut % Math.max(1, text.length)))),
  fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }).map(({ at, byte }) => {
    const b = Buffer.from('{"model":"m","prompt":"a prompt that is mutated in one byte","max_tokens":8}');
    b[at % b.length] = byte;
    return b;
  }),
  fc.constantFrom('', ' ', 'null', '[]', '{}', '"m"', '{"model":null}', '{"prompt":"p"}', '\ufeff{"model":"m","prompt":"p"}', '{"model":"m","prompt":"p"}{"x":1}').map((s) => Buffer.from(s)),
);

/** Prompts with hostile text: lone surrogates (as JSON escapes), NUL, BOM, raw invalid UTF-8 inside the string. */
export const hostilePromptBody: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      fc.string({ maxLength: 20 }).map((s) => Buffer.from(JSON.stringify(s).slice(1, -1))),
      fc.constantFrom('\\ud800', '\\udfff', '\\u0000', '\\ufeff', '\\ud83d\\ude00', '\\u2028').map((s) => Buffer.from(s)),
      fc.constantFrom([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xef, 0xbb, 0xbf]).map((b) => Buffer.from(b)),
    ),
    { maxLength: 12 },
  )
  .map((parts) => Buffer.concat([Buffer.from('{"model":"m","prompt":"'), ...parts, Buffer.from('","max_tokens":4}')]));
