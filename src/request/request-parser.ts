/**
 * Request parsers, selected by `parser: {pluginRef}` in EndpointPickerConfig (default
 * `openai-parser`). A parser turns the request body into an LLMRequest, or returns undefined when the
 * body is routed without being understood (`passthrough-parser`: no model, no rewrite, no prefix
 * affinity; scheduling still uses endpoint load).
 */
import type { PluginFactory } from '../plugin/registry.js';
import type { Plugin, TypedName } from '../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../plugin/parameters.js';
import type { LLMRequest } from './llm-request.js';
import { parseOpenAIRequest } from './openai-parser.js';
import { ParsePool } from './parse-pool.js';
import { SummarizedRequest } from './request-summary.js';

let sharedPool: ParsePool | undefined;

/** The process's parse pool, started on first use (its workers never keep the process alive). */
export function sharedParsePool(): ParsePool {
  return (sharedPool ??= new ParsePool());
}

export interface RequestParser extends Plugin {
  /** Parses `body` sent to `path`; throws BadRequestError for an invalid request. */
  parse(path: string, body: Buffer): LLMRequest | undefined;
  /**
   * The same, off the event loop, for a body of at least LARGE_BODY_BYTES (rejects as `parse` throws).
   * Parsers that do no real work on the body need not have it.
   */
  parseLarge?(path: string, body: Buffer): Promise<LLMRequest | undefined>;
}

export function isRequestParser(p: Plugin): p is RequestParser {
  return typeof (p as Partial<RequestParser>).parse === 'function';
}

export const OPENAI_PARSER_TYPE = 'openai-parser';
export const PASSTHROUGH_PARSER_TYPE = 'passthrough-parser';

export class OpenAIParser implements RequestParser {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: OPENAI_PARSER_TYPE, name };
  }
  parse(path: string, body: Buffer): LLMRequest {
    return parseOpenAIRequest(path, body);
  }
  async parseLarge(path: string, body: Buffer): Promise<LLMRequest> {
    return new SummarizedRequest(await sharedParsePool().parse(path, body), body);
  }
}

export class PassthroughParser implements RequestParser {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: PASSTHROUGH_PARSER_TYPE, name };
  }
  parse(): undefined {
    return undefined;
  }
}

export const openAIParserFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, OPENAI_PARSER_TYPE, name);
  return new OpenAIParser(name);
};

export const passthroughParserFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, PASSTHROUGH_PARSER_TYPE, name);
  return new PassthroughParser(name);
};
