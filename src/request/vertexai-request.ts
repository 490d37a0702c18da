/**
 * Vertex AI PredictionService requests (the reference's `vertexai-parser`): a gRPC call whose one
 * length-prefixed message is a ChatCompletionsRequest, RawPredictRequest or StreamRawPredictRequest.
 * Each carries a `google.api.HttpBody` (field 2) whose `data` (field 2) is an OpenAI JSON body:
 * chat completions for ChatCompletions, a Responses body for (Stream)RawPredict. That JSON is read by
 * the OpenAI parser under the matching OpenAI path, so model, prompt and stream follow its rules.
 * Only the bytes the message declares are read; the protobuf walk is bounded by the message length.
 */
import type { MultimodalItem } from './multimodal-item.js';
import { BadRequestError } from '../errors/errors.js';
import type { ApiKind, LLMRequest } from './llm-request.js';
import { pathWithoutQuery } from './json-body.js';
import { parseOpenAIRequest } from './openai-parser.js';

/** The gRPC method suffixes the parser claims, as the reference lists them. */
export const VERTEXAI_METHOD_SUFFIXES: readonly string[] = ['PredictionService/ChatCompletions', 'PredictionService/StreamRawPredict', 'PredictionService/RawPredict'];

const GRPC_HEADER_BYTES = 5;
const HTTP_BODY_FIELD = 2;
const DATA_FIELD = 2;
const MAX_VARINT_BYTES = 10;

/** The Vertex message a method carries and the OpenAI path its inner JSON is parsed under; undefined for other paths. */
export function vertexMethodOf(path: string): { readonly message: string; readonly openAIPath: string } | undefined {
  const p = pathWithoutQuery(path);
  if (p.endsWith('PredictionService/ChatCompletions')) return { message: 'ChatCompletionsRequest', openAIPath: '/chat/completions' };
  if (p.endsWith('PredictionService/StreamRawPredict')) return { message: 'StreamRawPredictRequest', openAIPath: '/responses' };
  if (p.endsWith('PredictionService/RawPredict')) return { message: 'RawPredictRequest', openAIPath: '/responses' };
  return undefined;
}

/** The message of one uncompressed gRPC frame (bytes after the declared length are ignored, as in the reference). */
function grpcMessage(frame: Buffer): Buffer {
  if (frame.length < GRPC_HEADER_BYTES) {
    throw new BadRequestError(`invalid gRPC frame: expected at least ${GRPC_HEADER_BYTES} bytes for header, got ${frame.length}`);
  }
  const flag = frame[0] as number;
  if (flag === 1) throw new BadRequestError('compressed gRPC payload is not supported');
  if (flag !== 0) throw new BadRequestError(`invalid gRPC frame: compression flag ${flag}`);
  const length = frame.readUInt32BE(1);
  if (frame.length - GRPC_HEADER_BYTES < length) {
    throw new BadRequestError(`incomplete gRPC payload: header indicates ${length} bytes, but only ${frame.length - GRPC_HEADER_BYTES} bytes are available`);
  }
  return frame.subarray(GRPC_HEADER_BYTES, GRPC_HEADER_BYTES + length);
}

/**
 * Reads the top-level fields of a protobuf message one by one: after `next()` returns true, `field`
 * is the field number, and `start`..`end` the value's bytes (for a length-delimited field, without
 * its length prefix; `keyStart` is where the field's key begins). Throws BadRequestError on malformed wire data.
 */
class ProtoFieldReader {
  field = 0;
  wireType = 0;
  keyStart = 0;
  start = 0;
  end = 0;
  #at = 0;
  constructor(
    private readonly message: Buffer,
    private readonly what: string,
  ) {}

  next(): boolean {
    const m = this.message;
    if (this.#at >= m.length) return false;
    this.keyStart = this.#at;
    const key = this.#varint();
    this.field = Math.floor(key / 8);
    this.wireType = key % 8;
    if (this.field === 0) throw new BadRequestError(`unmarshaling ${this.what}: invalid field number 0`);
    let length: number;
    switch (this.wireType) {
      case 0:
        this.start = this.#at;
        this.#varint();
        this.end = this.#at;
        return true;
      case 1:
        length = 8;
        break;
      case 5:
        length = 4;
        break;
      case 2:
        length = this.#varint();
        break;
      default:
        throw new BadRequestError(`unmarshaling ${this.what}: unsupported wire type ${this.wireType} (field ${this.field})`);
    }
    if (length > m.length - this.#at) throw new BadRequestError(`unmarshaling ${this.what}: field ${this.field} runs past the end of the message`);
    this.start = this.#at;
    this.#at += length;
    this.end = this.#at;
    return true;
  }

  #varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.#at >= this.message.length) throw new BadRequestError(`unmarshaling ${this.what}: truncated varint`);
      const b = this.message[this.#at++] as number;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new BadRequestError(`unmarshaling ${this.what}: varint longer than ${MAX_VARINT_BYTES} bytes`);
  }
}

/**
 * The payload of the last length-delimited field `wanted` (for a bytes field the last wins; for
 * HttpBody, whose only field read here is bytes, merging occurrences gives the same `data`).
 */
function lastLengthDelimited(message: Buffer, wanted: number, what: string): Buffer | undefined {
  const reader = new ProtoFieldReader(message, what);
  let found: Buffer | undefined;
  while (reader.next()) {
    if (reader.field === wanted && reader.wireType === 2) found = message.subarray(reader.start, reader.end);
  }
  return found;
}

function varintBytes(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

function lengthDelimited(field: number, payload: Buffer): Buffer {
  return Buffer.concat([varintBytes(field * 8 + 2), varintBytes(payload.length), payload]);
}

/** The OpenAI JSON inside a Vertex request frame (any of the three messages: they share the layout). */
export function vertexJsonOf(frame: Buffer): Buffer {
  const httpBody = lastLengthDelimited(grpcMessage(frame), HTTP_BODY_FIELD, 'Vertex AI request');
  if (httpBody === undefined) throw new BadRequestError('Vertex AI request has no HttpBody');
  return lastLengthDelimited(httpBody, DATA_FIELD, 'HttpBody') ?? Buffer.alloc(0);
}

/**
 * The request frame with its JSON replaced by `json`: every other field of the message and of its
 * HttpBody is kept (HttpBody occurrences merged into one, as protobuf merges them), re-framed uncompressed.
 */
export function rewrapVertexRequest(frame: Buffer, json: Buffer): Buffer {
  const message = grpcMessage(frame);
  const kept: Buffer[] = [];
  const httpBodyFields: Buffer[] = [];
  const outer = new ProtoFieldReader(message, 'Vertex AI request');
  while (outer.next()) {
    if (outer.field !== HTTP_BODY_FIELD || outer.wireType !== 2) {
      kept.push(message.subarray(outer.keyStart, outer.end));
      continue;
    }
    const httpBody = message.subarray(outer.start, outer.end);
    const inner = new ProtoFieldReader(httpBody, 'HttpBody');
    while (inner.next()) {
      if (inner.field !== DATA_FIELD) httpBodyFields.push(httpBody.subarray(inner.keyStart, inner.end));
    }
  }
  httpBodyFields.push(lengthDelimited(DATA_FIELD, json));
  kept.push(lengthDelimited(HTTP_BODY_FIELD, Buffer.concat(httpBodyFields)));
  const payload = Buffer.concat(kept);
  const header = Buffer.alloc(GRPC_HEADER_BYTES);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** A request parsed from the JSON inside a Vertex envelope: the inner request's fields, marked as enveloped. */
export class VertexAIRequest implements LLMRequest {
  readonly envelope = 'vertexai-grpc';
  constructor(private readonly inner: LLMRequest) {}
  get api(): ApiKind {
    return this.inner.api;
  }
  get model(): string {
    return this.inner.model;
  }
  get stream(): boolean {
    return this.inner.stream;
  }
  get cacheSalt(): string | undefined {
    return this.inner.cacheSalt;
  }
  get body(): Record<string, unknown> {
    return this.inner.body;
  }
  get bodyBytes(): number {
    return this.inner.bodyBytes;
  }
  get maxOutputTokens(): number | undefined {
    return this.inner.maxOutputTokens;
  }
  get promptJson(): Buffer | undefined {
    return this.inner.promptJson;
  }
  get promptPrefix(): string | undefined {
    return this.inner.promptPrefix;
  }
  get promptComplete(): boolean | undefined {
    return this.inner.promptComplete;
  }
  get promptUtf8Bytes(): number | undefined {
    return this.inner.promptUtf8Bytes;
  }
  get contextChars(): number | undefined {
    return this.inner.contextChars;
  }
  get modelSpan(): readonly [number, number] | undefined {
    return this.inner.modelSpan;
  }
  get multimodalItems(): readonly MultimodalItem[] | undefined {
    return this.inner.multimodalItems;
  }
}

/** The OpenAI path and JSON a Vertex request carries; throws BadRequestError (400) when the frame or message is malformed. */
export function vertexInnerRequest(path: string, body: Buffer): { readonly openAIPath: string; readonly json: Buffer } | undefined {
  const method = vertexMethodOf(path);
  if (method === undefined) return undefined;
  const message = grpcMessage(body);
  const httpBody = lastLengthDelimited(message, HTTP_BODY_FIELD, method.message);
  if (httpBody === undefined) throw new BadRequestError(`${method.message} has no HttpBody`);
  const json = lastLengthDelimited(httpBody, DATA_FIELD, 'HttpBody') ?? Buffer.alloc(0);
  return { openAIPath: method.openAIPath, json };
}

/**
 * Parses a Vertex AI request: undefined (routed unparsed, as the reference does) for a path that is
 * none of the three methods; BadRequestError for a malformed frame, message or inner OpenAI body.
 */
export function parseVertexAIRequest(path: string, body: Buffer): LLMRequest | undefined {
  const inner = vertexInnerRequest(path, body);
  if (inner === undefined) return undefined;
  return new VertexAIRequest(parseOpenAIRequest(inner.openAIPath, inner.json));
}
