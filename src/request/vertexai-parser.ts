/** The `vertexai-parser` plugin: Vertex AI PredictionService gRPC requests (vertexai-request.ts). */
import type { PluginFactory } from '../plugin/registry.js';
import type { TypedName } from '../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../plugin/parameters.js';
import type { LLMRequest } from './llm-request.js';
import { sharedParsePool, type RequestParser } from './request-parser.js';
import { SummarizedRequest } from './request-summary.js';
import { parseVertexAIRequest, VertexAIRequest, vertexInnerRequest } from './vertexai-request.js';

export const VERTEXAI_PARSER_TYPE = 'vertexai-parser';

export class VertexAIParser implements RequestParser {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: VERTEXAI_PARSER_TYPE, name };
  }
  parse(path: string, body: Buffer): LLMRequest | undefined {
    return parseVertexAIRequest(path, body);
  }
  /** Unwrapping the envelope is a bounded walk done inline; the inner JSON is parsed off the event loop. */
  async parseLarge(path: string, body: Buffer): Promise<LLMRequest | undefined> {
    const inner = vertexInnerRequest(path, body);
    if (inner === undefined) return undefined;
    return new VertexAIRequest(new SummarizedRequest(await sharedParsePool().parse(inner.openAIPath, inner.json), inner.json));
  }
}

export const vertexAIParserFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, VERTEXAI_PARSER_TYPE, name);
  return new VertexAIParser(name);
};
