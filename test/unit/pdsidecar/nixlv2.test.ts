import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseFlags, Flags, UsageError } from '../../../src/cli/flags.js';
import { pdSidecarCommand, pdSidecarOptions } from '../../../src/cli/commands/pd-sidecar.js';
import { CachedTokensRewriter, rewriteJsonBody, rewriteSseLine } from '../../../src/pdsidecar/cached-tokens.js';
import { cachedTokensOf, decodeLegBody, isClientError, prefillLegBody, setCachedTokens, tokenLimitFields } from '../../../src/pdsidecar/nixlv2.js';
import { parseHostPort } from '../../../src/pdsidecar/sidecar.js';

describe('nixlv2 bodies', () => {
  const body = { model: 'm', prompt: 'p', stream: true, stream_options: { include_usage: true }, max_tokens: 50 };

  it('builds the prefill leg: kv_transfer_params, no stream, token limits 1, the client body untouched', () => {
    const limits = tokenLimitFields('/v1/completions') ?? [];
    expect(prefillLegBody(body, limits)).toEqual({
      model: 'm',
      prompt: 'p',
      stream: false,
      max_tokens: 1,
      max_completion_tokens: 1,
      kv_transfer_params: { do_remote_decode: true, do_remote_prefill: false, remote_engine_id: null, remote_block_ids: null, remote_host: null, remote_port: null },
    });
    expect(body.stream).toBe(true);
    expect(tokenLimitFields('/v1/responses')).toEqual(['max_output_tokens']);
    expect(tokenLimitFields('/v1/models')).toBeUndefined();
  });

  it('builds the decode leg with the client stream settings and the prefiller kv_transfer_params', () => {
    const kv = { do_remote_prefill: true, remote_engine_id: 'e' };
    expect(decodeLegBody(body, kv)).toEqual({ ...body, kv_transfer_params: kv });
    expect(decodeLegBody(body, undefined).kv_transfer_params).toBeNull();
  });

  it('reads and sets cached tokens; treats 400-451 as client errors', () => {
    expect(cachedTokensOf({ usage: { prompt_tokens_details: { cached_tokens: 32 } } })).toBe(32);
    expect(cachedTokensOf({ usage: { prompt_tokens_details: null } })).toBeUndefined();
    const r: Record<string, unknown> = { usage: { prompt_tokens: 10, prompt_tokens_details: null } };
    expect(setCachedTokens(r, 7)).toBe(true);
    expect(r).toEqual({ usage: { prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 7 } } });
    expect(setCachedTokens({ choices: [] }, 7)).toBe(false);
    expect([399, 400, 429, 451, 452, 500, 503].map(isClientError)).toEqual([false, true, true, true, false, false, false]);
  });

  it('parses the prefiller address', () => {
    expect(parseHostPort('10.0.0.1:8000')).toEqual({ host: '10.0.0.1', port: 8000 });
    expect(parseHostPort('[fd00::1]:8200, 10.0.0.2:8000')).toEqual({ host: 'fd00::1', port: 8200 });
    expect(parseHostPort('10.0.0.1')).toBeUndefined();
    expect(parseHostPort('10.0.0.1:99999')).toBeUndefined();
  });
});

describe('cached-tokens rewriting', () => {
  it('rewrites SSE data lines that carry usage and leaves the rest byte-identical', () => {
    expect(rewriteSseLine('data: {"usage":{"prompt_tokens":3,"prompt_tokens_details":null}}\n', 2)).toBe('data: {"usage":{"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":2}}}\n');
    expect(rewriteSseLine('data: {"choices":[{"text":"a"}]}\n', 2)).toBe('data: {"choices":[{"text":"a"}]}\n');
    expect(rewriteSseLine('data: [DONE]\n', 2)).toBe('data: [DONE]\n');
    expect(rewriteJsonBody(Buffer.from('{"usage":{"prompt_tokens_details":{"cached_tokens":0}}}'), 5).toString()).toBe('{"usage":{"prompt_tokens_details":{"cached_tokens":5}}}');
    expect(rewriteJsonBody(Buffer.from('oops'), 5).toString()).toBe('oops');
  });

  it('streams SSE split mid-line and rewrites a JSON body whole', async () => {
    const collect = async (chunks: string[], sse: boolean): Promise<string> => {
      let out = '';
      for await (const c of Readable.from(chunks.map((s) => Buffer.from(s))).pipe(new CachedTokensRewriter(9, sse))) out += (c as Buffer).toString();
      return out;
    };
    const sse = await collect(['data: {"choices":[]}\n\ndata: {"us', 'age":{"prompt_tokens_details":null}}\n\ndata: [DONE]\n\n'], true);
    expect(sse).toBe('data: {"choices":[]}\n\ndata: {"usage":{"prompt_tokens_details":{"cached_tokens":9}}}\n\ndata: [DONE]\n\n');
    expect(await collect(['{"usage":{"prompt_', 'tokens_details":null}}'], false)).toBe('{"usage":{"prompt_tokens_details":{"cached_tokens":9}}}');
  });
});

describe('epp pd-sidecar flags (v0.10)', () => {
  const parse = (argv: string[]): Flags => {
    const { values, given } = parseFlags(pdSidecarCommand.flags, argv);
    return new Flags(values, given);
  };

  it('has the reference flags and defaults: --model-server-port 8200', () => {
    const o = pdSidecarOptions(parse([]));
    expect(o).toMatchObject({ port: 8000, vllmPort: 8200, vllmHost: '127.0.0.1', connectTimeoutMs: 5000, prefillTimeoutMs: 60_000 });
    expect(o.prefillerTls).toBeUndefined();
    expect(o.decoderTls).toBeUndefined();
    expect(o.p2pPull).toBeUndefined();
    expect(parse([]).bool('secure-proxy')).toBe(true);
    expect(pdSidecarOptions(parse(['--port', '9000', '--model-server-port=9001', '--kv-connector', 'nixlv2', '--secure-proxy=false'])).vllmPort).toBe(9001);
  });

  it('takes --vllm-port as the deprecated alias, only when --model-server-port is not given', () => {
    expect(pdSidecarOptions(parse(['--vllm-port=9002'])).vllmPort).toBe(9002);
    expect(pdSidecarOptions(parse(['--vllm-port=9002', '--model-server-port=9003'])).vllmPort).toBe(9003);
    expect(pdSidecarOptions(parse(['--model-server-port=9003', '--vllm-port=9002'])).vllmPort).toBe(9003);
  });

  it('--enable-tls and --tls-insecure-skip-verify take stage lists', () => {
    const o = pdSidecarOptions(parse(['--enable-tls=prefiller,decoder', '--tls-insecure-skip-verify', 'decoder']));
    expect(o.prefillerTls).toEqual({ insecureSkipVerify: false });
    expect(o.decoderTls).toEqual({ insecureSkipVerify: true });
    expect(pdSidecarOptions(parse(['--enable-tls=prefiller', '--enable-tls=encoder'])).decoderTls).toBeUndefined();
    expect(() => pdSidecarOptions(parse(['--enable-tls=prefill']))).toThrow('--enable-tls stages must be one of: prefiller, decoder, encoder');
    expect(() => pdSidecarOptions(parse(['--tls-insecure-skip-verify=all']))).toThrow(UsageError);
  });

  it('--enable-p2p-pull with --p2p-connector-port (default 7777)', () => {
    expect(pdSidecarOptions(parse(['--enable-p2p-pull'])).p2pPull).toEqual({ port: 7777 });
    expect(pdSidecarOptions(parse(['--enable-p2p-pull', '--p2p-connector-port=7000'])).p2pPull).toEqual({ port: 7000 });
  });

  it('says --connector was removed, and refuses connectors and data parallelism this build does not implement', () => {
    expect(() => pdSidecarOptions(parse(['--connector', 'nixlv2']))).toThrow('--connector was removed in llm-d v0.10: use --kv-connector');
    expect(() => pdSidecarOptions(parse(['--kv-connector', 'shared-storage']))).toThrow(/shared-storage/);
    expect(() => pdSidecarOptions(parse(['--data-parallel-size', '2']))).toThrow(UsageError);
    expect(() => pdSidecarOptions(parse(['--model-server-port', '0']))).toThrow(UsageError);
    expect(() => parse(['--model-server-port', '70000'])).toThrow('invalid port "70000"');
  });
});
