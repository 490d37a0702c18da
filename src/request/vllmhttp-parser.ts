/** The `vllmhttp-parser` plugin: vLLM's native `/inference/v1/generate` requests (generate-request.ts). */
import type { PluginFactory } from '../plugin/registry.js';
import type { TypedName } from '../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../plugin/parameters.js';
import { parseGenerateRequest } from './generate-request.js';
import type { LLMRequest } from './llm-request.js';
import { sharedParsePool, type RequestParser } from './request-parser.js';
import { SummarizedRequest } from './request-summary.js';

export const VLLMHTTP_PARSER_TYPE = 'vllmhttp-parser';

export class VllmHttpParser implements RequestParser {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: VLLMHTTP_PARSER_TYPE, name };
  }
  parse(path: string, body: Buffer): LLMRequest {
    return parseGenerateRequest(path, body);
  }
  async parseLarge(path: string, body: Buffer): Promise<LLMRequest> {
    return new SummarizedRequest(await sharedParsePool().parse(path, body), body);
  }
}

export const vllmHttpParserFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, VLLMHTTP_PARSER_TYPE, name);
  return new VllmHttpParser(name);
};
