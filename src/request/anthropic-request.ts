/**
 * anthropic-parser: the Anthropic Messages API as the reference parses it. `/v1/messages` needs a
 * JSON object with at least one message (each a `role` string and `content` that is a string or an
 * array of content blocks); `system` is a string or an array of blocks; `model` is read when it is a
 * string; `max_tokens` is the output cap; `stream: true` streams. `/v1/messages/count_tokens`
 * returns only a count, so its body is forwarded as is and routed on load alone (no model, no
 * rewrite, no prefix affinity), as upstream. Any other path is refused.
 *
 * Prefix hashing covers `[{system}?, {tools}?, {messages}]` as JSON (prompt-text.ts): what the
 * model server renders first, in the order it renders it.
 */
import { BadRequestError } from '../errors/errors.js';
import { countOf, decodeJsonObject, optionalModel, pathWithoutQuery } from './json-body.js';
import type { LLMRequest } from './llm-request.js';

/** The path suffixes the parser claims (the reference's `Claims().Paths`). */
export const ANTHROPIC_PATHS: readonly string[] = ['messages', 'messages/count_tokens'];

/** True for a token-counting path, whose body is forwarded unparsed. */
export function isCountTokensPath(path: string): boolean {
  return pathWithoutQuery(path).endsWith('/messages/count_tokens');
}

/** True for a path this parser parses (`…/messages`). */
export function isMessagesPath(path: string): boolean {
  return pathWithoutQuery(path).endsWith('/messages');
}

function contentProblem(content: unknown, where: string): string | undefined {
  if (typeof content === 'string') return undefined;
  if (!Array.isArray(content)) return `${where} must be a string or an array of content blocks`;
  for (let i = 0; i < content.length; i++) {
    const block: unknown = content[i];
    if (typeof block !== 'object' || block === null || Array.isArray(block)) return `${where}[${i}] must be a content block object`;
    const type = (block as { type?: unknown }).type;
    if (type !== undefined && typeof type !== 'string') return `${where}[${i}].type must be a string`;
  }
  return undefined;
}

function messagesProblem(body: Readonly<Record<string, unknown>>): string | undefined {
  const messages = body.messages;
  if (messages !== undefined && messages !== null && !Array.isArray(messages)) return 'messages must be an array';
  if (!Array.isArray(messages) || messages.length === 0) return 'must have at least one message';
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return `messages[${i}] must be an object`;
    const role = (m as { role?: unknown }).role;
    if (role !== undefined && typeof role !== 'string') return `messages[${i}].role must be a string`;
    const content = (m as { content?: unknown }).content;
    if (content !== undefined && content !== null) {
      const problem = contentProblem(content, `messages[${i}].content`);
      if (problem !== undefined) return problem;
    }
  }
  const system = body.system;
  if (system !== undefined && system !== null) return contentProblem(system, 'system');
  const tools = body.tools;
  if (tools !== undefined && tools !== null && !Array.isArray(tools)) return 'tools must be an array';
  return undefined;
}

/**
 * Parses a Messages API body sent to `path`: undefined for count_tokens (forwarded unparsed);
 * BadRequestError (400) for a path the parser does not serve or a body that is not a valid request.
 */
export function parseAnthropicRequest(path: string, bytes: Buffer): LLMRequest | undefined {
  if (isCountTokensPath(path)) return undefined;
  if (!isMessagesPath(path)) throw new BadRequestError(`unsupported API endpoint: ${pathWithoutQuery(path).slice(0, 256)}`);
  const body = decodeJsonObject(bytes);
  const problem = messagesProblem(body);
  if (problem !== undefined) throw new BadRequestError(`invalid messages request: ${problem}`);
  const salt = body.cache_salt;
  return {
    api: 'messages',
    model: optionalModel(body),
    stream: body.stream === true,
    cacheSalt: typeof salt === 'string' ? salt : undefined,
    body,
    bodyBytes: bytes.length,
    maxOutputTokens: countOf(body.max_tokens),
  };
}

