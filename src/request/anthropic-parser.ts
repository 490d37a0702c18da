/** The `anthropic-parser` plugin: Anthropic Messages API requests (anthropic-request.ts). */
import type { PluginFactory } from '../plugin/registry.js';
import type { TypedName } from '../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../plugin/parameters.js';
import { isCountTokensPath, parseAnthropicRequest } from './anthropic-request.js';
import type { LLMRequest } from './llm-request.js';
import { sharedParsePool, type RequestParser } from './request-parser.js';
import { SummarizedRequest } from './request-summary.js';

export const ANTHROPIC_PARSER_TYPE = 'anthropic-parser';

export class AnthropicParser implements RequestParser {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: ANTHROPIC_PARSER_TYPE, name };
  }
  parse(path: string, body: Buffer): LLMRequest | undefined {
    return parseAnthropicRequest(path, body);
  }
  async parseLarge(path: string, body: Buffer): Promise<LLMRequest | undefined> {
    if (isCountTokensPath(path)) return undefined;
    return new SummarizedRequest(await sharedParsePool().parse(path, body), body);
  }
}

export const anthropicParserFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, ANTHROPIC_PARSER_TYPE, name);
  return new AnthropicParser(name);
};
