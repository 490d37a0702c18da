/** The `sglanghttp-parser` plugin: SGLang's native `/generate` requests (sglang-request.ts). */
import type { PluginFactory } from '../plugin/registry.js';
import type { TypedName } from '../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../plugin/parameters.js';
import type { LLMRequest } from './llm-request.js';
import { sharedParsePool, type RequestParser } from './request-parser.js';
import { SummarizedRequest } from './request-summary.js';
import { parseSglangGenerateRequest } from './sglang-request.js';

export const SGLANGHTTP_PARSER_TYPE = 'sglanghttp-parser';

export class SglangHttpParser implements RequestParser {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: SGLANGHTTP_PARSER_TYPE, name };
  }
  parse(path: string, body: Buffer): LLMRequest {
    return parseSglangGenerateRequest(path, body);
  }
  async parseLarge(path: string, body: Buffer): Promise<LLMRequest> {
    return new SummarizedRequest(await sharedParsePool().parse(path, body), body);
  }
}

export const sglangHttpParserFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, SGLANGHTTP_PARSER_TYPE, name);
  return new SglangHttpParser(name);
};
