import { afterAll, describe, expect, it } from 'vitest';
import { BadRequestError, ResourceExhaustedError } from '../../../src/errors/errors.js';
import { promptText } from '../../../src/prefix/prompt-text.js';
import { contextCharacters } from '../../../src/request/context-chars.js';
import { rewriteModel, topLevelModelSpan } from '../../../src/request/model-rewrite.js';
import { parseOpenAIRequest } from '../../../src/request/openai-parser.js';
import { ParsePool } from '../../../src/request/parse-pool.js';
import { SummarizedRequest, summarizeRequest } from '../../../src/request/request-summary.js';

const pool = new ParsePool({ workers: 1, maxQueuedBytes: 8 << 20 });
afterAll(() => pool.close());

const chat = (n: number): Buffer =>
  Buffer.from(JSON.stringify({ model: 'm', stream: true, cache_salt: 's', messages: Array.from({ length: n }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `message ${i} café 🙂` })) }));

describe('a request parsed off the event loop', () => {
  it('summarises to what routing would have read from the inline parse', () => {
    for (const [path, body] of [
      ['/v1/chat/completions', chat(50)],
      ['/v1/completions', Buffer.from(JSON.stringify({ model: 'x', prompt: ['a', 'b'] }))],
      ['/v1/responses', Buffer.from(JSON.stringify({ model: 'x', instructions: 'be brief', input: 'hi' }))],
    ] as const) {
      const inline = parseOpenAIRequest(path, body);
      const summarized = new SummarizedRequest(summarizeRequest(path, body, 1 << 20), body);
      expect({ api: summarized.api, model: summarized.model, stream: summarized.stream, cacheSalt: summarized.cacheSalt, bodyBytes: summarized.bodyBytes }).toEqual({
        api: inline.api,
        model: inline.model,
        stream: inline.stream,
        cacheSalt: inline.cacheSalt,
        bodyBytes: inline.bodyBytes,
      });
      for (const limit of [16, 1000, Number.POSITIVE_INFINITY]) expect(promptText(summarized, limit).startsWith(promptText(inline, limit))).toBe(true);
      expect(summarized.promptUtf8Bytes).toBe(Buffer.byteLength(promptText(inline, Number.POSITIVE_INFINITY)));
      expect(summarized.contextChars).toBe(contextCharacters(inline.body));
      expect(summarized.body).toEqual(inline.body);
    }
  });

  it('cuts a long prompt prefix without splitting a surrogate pair', () => {
    const body = Buffer.from(JSON.stringify({ model: 'm', prompt: `${'a'.repeat(9)}🙂tail` }));
    const s = summarizeRequest('/v1/completions', body, 10);
    expect(s.promptPrefix).toBe(`${'a'.repeat(9)}🙂`);
    expect(s.promptComplete).toBe(false);
  });

  it('parses on a worker: same summary, and the same 400 for a bad body', async () => {
    const body = chat(20_000);
    expect(body.length).toBeGreaterThan(256 * 1024);
    const summary = await pool.parse('/v1/chat/completions', body);
    expect(summary).toEqual(summarizeRequest('/v1/chat/completions', body, 4 * 1024 * 1024));
    await expect(pool.parse('/v1/chat/completions', Buffer.from('{"model": "m", "messages": [}'))).rejects.toBeInstanceOf(BadRequestError);
    await expect(pool.parse('/v1/chat/completions', Buffer.from('{"model": "m"}'))).rejects.toThrow(/messages is required/);
  });

  it('refuses more than its bound of bodies waiting for a worker', async () => {
    const body = Buffer.alloc(3 << 20, 0x20);
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => pool.parse('/v1/completions', body)));
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof ResourceExhaustedError).length).toBeGreaterThan(0);
  });
});

describe('model rewrite in place', () => {
  it('changes only the model value: numbers beyond 2^53, spacing and key order stay as sent', () => {
    const body = Buffer.from('{ "seed": 12345678901234567890123, "model" :"small",\n "prompt": "p\\u00e9" }');
    const llm = parseOpenAIRequest('/v1/completions', body);
    expect(rewriteModel(body, llm, 'big/model-"x"').toString()).toBe('{ "seed": 12345678901234567890123, "model" :"big/model-\\"x\\"",\n "prompt": "p\\u00e9" }');
  });

  it('rewrites the model JSON.parse keeps (the last), and re-serialises a body the scanner does not take', () => {
    const dup = Buffer.from('{"model":"a","prompt":"p","model":"b"}');
    expect(topLevelModelSpan(dup)).toEqual([34, 37]);
    const dupLlm = parseOpenAIRequest('/v1/completions', dup);
    expect(JSON.parse(rewriteModel(dup, dupLlm, 't').toString())).toEqual({ model: 't', prompt: 'p' });
    const escaped = Buffer.from('{"mod\\u0065l":"a","prompt":"p"}');
    const llm = parseOpenAIRequest('/v1/completions', escaped);
    expect(topLevelModelSpan(escaped)).toBeUndefined();
    expect(JSON.parse(rewriteModel(escaped, llm, 't').toString())).toEqual({ model: 't', prompt: 'p' });
  });
});

describe('the parse pool and process exit', () => {
  it('keeps the process alive while parsing and lets it exit once idle', async () => {
    const { execFile } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const pool = fileURLToPath(new URL('../../../src/request/parse-pool.ts', import.meta.url));
    // No server, no timer: only the pool's worker could hold the process. It must wait for the parse
    // (the summary is printed) and then exit by itself; before the fix an idle worker's port kept it alive.
    const script = `const { ParsePool } = await import(${JSON.stringify(pool)});
      const body = Buffer.from(JSON.stringify({ model: 'm', prompt: 'x'.repeat(300000) }));
      const s = await new ParsePool().parse('/v1/completions', body);
      console.log('model=' + s.model);`;
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 30_000 }, (err, stdout) => {
        resolve({ code: err === null ? 0 : (child.exitCode ?? -1), stdout });
      });
    });
    expect(out.stdout).toContain('model=m');
    expect(out.code).toBe(0);
  }, 40_000);
});
