import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeferredBodyRequest } from '../../../src/request/deferred-body-request.js';
import { JsonMemberScanner } from '../../../src/request/json-members.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import { decodeOpenAIRequest, parseOpenAIRequest } from '../../../src/request/openai-parser.js';
import { MAX_JSON_DEPTH } from '../../../src/request/json-body.js';
import { anyText, jsonLiteralOf } from '../../helpers/json-literals.js';

const space = fc.constantFrom('', ' ', '\n', '\t', '\r\n  ');
const quoted = fc.tuple(anyText, fc.array(fc.nat(11), { maxLength: 8 })).map(([t, c]) => `"${jsonLiteralOf(t, c).toString('utf8')}"`);
const value = fc.oneof(
  quoted,
  fc.json({ maxDepth: 3 }),
  fc.constantFrom('true', 'false', 'null', '0', '-0', '12', '-1.5e3', '1E+2', '0.25', '[]', '{}', '[1,[2,[3]]]', '{"a":{"b":[]}}', '""'),
);
const name = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('model', 'prompt', 'stream', 'cache_salt', 'max_tokens', 'x') },
  { weight: 1, arbitrary: fc.constantFrom('mod\\u0065l', 'prompt ', '__proto__', 'prom\\"pt') },
);
const member = fc.tuple(name, space, space, value).map(([n, a, b, v]) => `"${n}"${a}:${b}${v}`);
const completionsBody = fc.tuple(fc.array(member, { maxLength: 7 }), space, space, fc.boolean(), fc.boolean()).map(([members, a, b, withModel, withPrompt]) => {
  const all = [...(withModel ? ['"model":"m-1"'] : []), ...(withPrompt ? ['"prompt":"a prompt \\u00e9\\n of some length"'] : []), ...members];
  return `${a}{${b}${all.join(`${a},${b}`)}${a}}${b}`;
});
/** A body, then sometimes one byte replaced by one that breaks JSON (or does not). */
const mutated = fc.tuple(completionsBody, fc.nat(), fc.nat(8), fc.constantFrom(0x00, 0x09, 0x0a, 0x1f, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x80, 0xff, 0x61, 0x75, 0x30)).map(([body, at, chance, byte]) => {
  const b = Buffer.from(body, 'utf8');
  if (chance < 3 && b.length > 0) b[at % b.length] = byte;
  return b;
});

function outcome(parse: () => LLMRequest): unknown {
  try {
    const r = parse();
    // The bytes kept for hashing spell the very prompt the body holds.
    if (r.promptJson !== undefined) expect(JSON.parse(`"${Buffer.from(r.promptJson).toString('utf8')}"`)).toBe(r.body.prompt);
    return { api: r.api, model: r.model, stream: r.stream, cacheSalt: r.cacheSalt, bodyBytes: r.bodyBytes, maxOutputTokens: r.maxOutputTokens, body: r.body };
  } catch (err) {
    return { error: err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err) };
  }
}

describe('parseOpenAIRequest fast path', () => {
  it('gives what decoding the whole body gives, for valid and broken bodies alike (property)', () => {
    let deferred = 0;
    let runs = 0;
    fc.assert(
      fc.property(mutated, (bytes) => {
        runs++;
        const fast = outcome(() => parseOpenAIRequest('/v1/completions', bytes));
        if (parseOpenAIRequestIsDeferred(bytes)) deferred++;
        expect(fast).toEqual(outcome(() => decodeOpenAIRequest('/v1/completions', bytes)));
      }),
      { numRuns: 4000, seed: 3 },
    );
    // The property must exercise the fast path, not only the fallback.
    expect(deferred).toBeGreaterThan(runs / 10);
  });

  it('keeps the prompt bytes for hashing only when they are valid UTF-8, and decodes the body once', () => {
    const r = parseOpenAIRequest('/v1/completions', Buffer.from('{"model":"m","prompt":"héllo\\n","stream":true,"cache_salt":"s\\u0041"}'));
    expect(r).toBeInstanceOf(DeferredBodyRequest);
    expect(r).toMatchObject({ api: 'completions', model: 'm', stream: true, cacheSalt: 'sA' });
    expect(Buffer.from(r.promptJson ?? []).toString()).toBe('héllo\\n');
    expect(r.body).toBe(r.body);
    expect(r.body).toEqual({ model: 'm', prompt: 'héllo\n', stream: true, cache_salt: 'sA' });
    const invalid = Buffer.concat([Buffer.from('{"model":"m","prompt":"a'), Buffer.from([0xc3]), Buffer.from('"}')]);
    const s = parseOpenAIRequest('/v1/completions', invalid);
    expect(s.promptJson).toBeUndefined();
    expect(s.body.prompt).toBe('a\ufffd');
  });

  it('leaves other APIs, non-string prompts and deep nesting to the full parse', () => {
    const chat = parseOpenAIRequest('/v1/chat/completions', Buffer.from('{"model":"m","messages":[{"role":"user","content":"x"}]}'));
    expect(chat).not.toBeInstanceOf(DeferredBodyRequest);
    expect(parseOpenAIRequest('/v1/completions', Buffer.from('{"model":"m","prompt":[1,2]}'))).not.toBeInstanceOf(DeferredBodyRequest);
    const deep = `{"model":"m","prompt":"x","a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`;
    expect(() => parseOpenAIRequest('/v1/completions', Buffer.from(deep))).toThrow('deeper than');
    const deepest = `{"model":"m","prompt":"x","a":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`;
    expect(parseOpenAIRequest('/v1/completions', Buffer.from(deepest))).toBeInstanceOf(DeferredBodyRequest);
  });
});

function parseOpenAIRequestIsDeferred(bytes: Buffer): boolean {
  try {
    return parseOpenAIRequest('/v1/completions', bytes) instanceof DeferredBodyRequest;
  } catch {
    return false;
  }
}

describe('JsonMemberScanner', () => {
  const names = ['model', 'prompt', 'a'];
  const scanner = new JsonMemberScanner(names, 8);

  it('accepts what JSON.parse accepts (top-level objects within the depth) and locates the last of each member (property)', () => {
    fc.assert(
      fc.property(mutated, (bytes) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(bytes.toString('utf8'));
        } catch {
          parsed = undefined;
        }
        const ok = scanner.scan(bytes);
        if (!ok) {
          // Rejected: not a JSON object, too deep, or a top-level name with an escape.
          const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
          if (isObject) expect(/"[^"]*\\/.test(bytes.toString('latin1')) || bytes.toString('latin1').split('[').length > 8 || bytes.toString('latin1').split('{').length > 8).toBe(true);
          return;
        }
        expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
        const obj = parsed as Record<string, unknown>;
        names.forEach((n, k) => {
          const start = scanner.start(k);
          if (!Object.hasOwn(obj, n)) {
            expect(start).toBe(-1);
            return;
          }
          expect(JSON.parse(bytes.toString('utf8', start, scanner.end(k)))).toEqual(obj[n]);
          expect(scanner.escaped(k)).toBe(typeof obj[n] === 'string' && bytes.subarray(start, scanner.end(k)).includes(0x5c));
        });
      }),
      { numRuns: 4000, seed: 5 },
    );
  });

  it('reads strings across its 64 KiB windows and rejects raw control characters anywhere in them', () => {
    const long = 'y'.repeat(200_000);
    expect(scanner.scan(Buffer.from(`{"prompt":"${long}\\n${long}","model":"m"}`))).toBe(true);
    expect(scanner.end(1) - scanner.start(1)).toBe(400_004);
    expect(scanner.scan(Buffer.from(`{"prompt":"${long}\n${long}","model":"m"}`))).toBe(false);
    expect(scanner.scan(Buffer.from(`{"prompt":"${long}`))).toBe(false);
    expect(scanner.scan(Buffer.from('{}'))).toBe(true);
    expect(scanner.scan(Buffer.from(' { } x'))).toBe(false);
  });
});
