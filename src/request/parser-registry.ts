/**
 * `requestHandler.parsers` as the reference dispatches them: each parser claims path suffixes; a
 * request goes to the parser with the longest matching suffix, else to the first parser claiming
 * no paths (passthrough: the fallback; parsers listed after it are never used), else it is refused.
 * A second parser of a type already listed is skipped. Built once at startup; resolving a path is a
 * few string comparisons.
 */
import { BadRequestError } from '../errors/errors.js';
import type { TypedName } from '../plugin/plugin.js';
import type { LLMRequest } from './llm-request.js';
import { pathWithoutQuery } from './json-body.js';
import { ANTHROPIC_PATHS } from './anthropic-request.js';
import { GENERATE_PATH_SUFFIX } from './generate-request.js';
import { OPENAI_PARSER_TYPE, type RequestParser } from './request-parser.js';
import { SGLANG_GENERATE_SUFFIX } from './sglang-request.js';
import { VERTEXAI_METHOD_SUFFIXES } from './vertexai-request.js';

/** Path suffixes each parser type claims (the reference's `Claims().Paths`); a type absent here claims none. */
const CLAIMED_PATHS: ReadonlyMap<string, readonly string[]> = new Map([
  [OPENAI_PARSER_TYPE, ['chat/completions', 'completions', 'embeddings', 'responses', 'conversations', 'chat/completions/render', 'completions/render', 'images/generations']],
  ['anthropic-parser', ANTHROPIC_PATHS],
  ['vllmhttp-parser', [GENERATE_PATH_SUFFIX]],
  ['sglanghttp-parser', [SGLANG_GENERATE_SUFFIX]],
  ['vertexai-parser', VERTEXAI_METHOD_SUFFIXES],
]);

/** The parser type claiming the longest suffix of `path` among all known types, if any. */
function claimingType(path: string): string | undefined {
  let best: string | undefined;
  let bestLength = 0;
  for (const [type, suffixes] of CLAIMED_PATHS) {
    for (const suffix of suffixes) {
      if (suffix.length > bestLength && path.endsWith(suffix)) {
        best = type;
        bestLength = suffix.length;
      }
    }
  }
  return best;
}

export class ParserRegistry implements RequestParser {
  readonly typedName: TypedName = { type: 'parser-registry', name: 'requestHandler.parsers' };
  readonly #entries: { readonly parser: RequestParser; readonly suffixes: readonly string[] }[] = [];
  readonly #fallback: RequestParser | undefined;
  /** Parsers left out (a duplicate type, or listed after the fallback), for the startup log. */
  readonly skipped: readonly string[];

  constructor(parsers: readonly RequestParser[]) {
    const seen = new Set<string>();
    const skipped: string[] = [];
    let fallback: RequestParser | undefined;
    for (const parser of parsers) {
      if (fallback !== undefined) {
        skipped.push(`${parser.typedName.name} (listed after the fallback parser ${fallback.typedName.name})`);
        continue;
      }
      if (seen.has(parser.typedName.type)) {
        skipped.push(`${parser.typedName.name} (a parser of type ${parser.typedName.type} is already listed)`);
        continue;
      }
      seen.add(parser.typedName.type);
      const suffixes = CLAIMED_PATHS.get(parser.typedName.type) ?? [];
      if (suffixes.length === 0) fallback = parser;
      else this.#entries.push({ parser, suffixes });
    }
    this.#fallback = fallback;
    this.skipped = skipped;
  }

  /** The parser for `path`; throws BadRequestError when no parser claims it and there is no fallback. */
  resolve(path: string): RequestParser {
    const p = pathWithoutQuery(path);
    let best: RequestParser | undefined;
    let bestLength = 0;
    for (const entry of this.#entries) {
      for (const suffix of entry.suffixes) {
        if (suffix.length > bestLength && p.endsWith(suffix)) {
          best = entry.parser;
          bestLength = suffix.length;
        }
      }
    }
    const parser = best ?? this.#fallback;
    if (parser === undefined) {
      const claimant = claimingType(p);
      const hint = claimant === undefined ? 'no parser type claims it; add passthrough-parser to route it unparsed' : `${claimant} would take it`;
      throw new BadRequestError(`no parser is configured for path ${p.slice(0, 256)} (${hint})`);
    }
    return parser;
  }

  parse(path: string, body: Buffer): LLMRequest | undefined {
    return this.resolve(path).parse(path, body);
  }

  parseLarge(path: string, body: Buffer): Promise<LLMRequest | undefined> {
    try {
      const parser = this.resolve(path);
      return parser.parseLarge?.(path, body) ?? Promise.resolve(parser.parse(path, body));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
