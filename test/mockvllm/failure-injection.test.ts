import { afterEach, describe, expect, it } from 'vitest';
import { errorTypeForStatus } from '../../src/mockvllm/api-error.js';
import { FAILURE_TYPES, FailureInjector, injectedFailure, returnErrorFor } from '../../src/mockvllm/failure-injection.js';
import { startMockVllm, type MockVllmOptions, type MockVllmServer } from '../../src/mockvllm/server.js';

const MODEL = 'Qwen/Qwen2.5-3B-Instruct';
const servers: MockVllmServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(extra: Partial<MockVllmOptions>): Promise<MockVllmServer> {
  const server = await startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, profile: 'instant', ...extra });
  servers.push(server);
  return server;
}

function post(server: MockVllmServer, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

interface ErrorBody {
  object: string;
  message: string;
  type: string;
  param: string | null;
  code: number;
}

describe('FailureInjector (llm-d-inference-sim semantics)', () => {
  it('fails the given percentage of requests, reproducibly under a seed', () => {
    const draws = (seed: number): (number | undefined)[] => {
      const injector = new FailureInjector(30, [], seed);
      return Array.from({ length: 10_000 }, () => injector.draw(MODEL)?.status);
    };
    const a = draws(7);
    const failed = a.filter((s) => s !== undefined).length / a.length;
    // Binomial(10,000, 0.3): sd ≈ 0.0046, so ±0.02 is more than 4 sd.
    expect(failed).toBeGreaterThan(0.28);
    expect(failed).toBeLessThan(0.32);
    expect(draws(7)).toEqual(a);
    expect(draws(8)).not.toEqual(a);
    // Every failure type is drawn when none is configured.
    expect(new Set(a.filter((s) => s !== undefined))).toEqual(new Set([429, 401, 400, 503, 404]));
  });

  it('draws only the configured types, about evenly', () => {
    const injector = new FailureInjector(100, ['rate_limit', 'server_error'], 1);
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
      const status = injector.draw(MODEL)?.status ?? 0;
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([429, 503]);
    expect(counts.get(429)).toBeGreaterThan(900);
    expect(counts.get(429)).toBeLessThan(1100);
  });

  it('never fails at rate 0 and rejects unusable settings', () => {
    const off = new FailureInjector(0, [], 1);
    for (let i = 0; i < 1000; i++) expect(off.draw(MODEL)).toBeUndefined();
    expect(() => new FailureInjector(101, [], 1)).toThrow(/0-100/);
    expect(() => new FailureInjector(0.5, [], 1)).toThrow(/integer percentage/);
    expect(() => new FailureInjector(10, ['oops' as never], 1)).toThrow(/unknown failure type/);
  });

  it('answers each type with the sim’s status, OpenAI type and param', () => {
    const shapes = FAILURE_TYPES.map((t) => {
      const e = injectedFailure(t, 'm');
      return [t, e.status, e.type, e.param];
    });
    expect(shapes).toEqual([
      ['rate_limit', 429, 'RateLimitError', null],
      ['invalid_api_key', 401, 'AuthenticationError', null],
      ['context_length', 400, 'BadRequestError', 'messages'],
      ['server_error', 503, 'InternalServerError', null],
      ['invalid_request', 400, 'BadRequestError', 'model'],
      ['model_not_found', 404, 'NotFoundError', 'model'],
    ]);
    expect(injectedFailure('rate_limit', 'm').message).toMatch(/^Rate limit reached for m /);
    expect(errorTypeForStatus(418)).toBe('APIConnectionError');
  });

  it('parses X-Return-Error values', () => {
    expect(returnErrorFor(undefined)).toBeUndefined();
    expect(returnErrorFor('')).toBeUndefined();
    expect(returnErrorFor('503')?.status).toBe(503);
    expect(returnErrorFor(['422', '500'])?.status).toBe(422);
    expect(returnErrorFor('abc')).toMatchObject({ status: 400, message: 'Invalid X-Return-Error header value "abc": must be an integer' });
    expect(returnErrorFor('42')?.status).toBe(400);
    expect(returnErrorFor('1000')?.status).toBe(400);
  });
});

describe('mock-vllm failure injection over HTTP', () => {
  it('fails about the configured share of requests, the same ones for the same seed', async () => {
    const statuses = async (server: MockVllmServer): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 300; i++) {
        const res = await post(server, '/v1/completions', { prompt: `p${i}`, max_tokens: 1 });
        out.push(res.status);
        if (res.status !== 200) {
          const body = (await res.json()) as ErrorBody;
          expect(body).toMatchObject({ object: 'error', code: res.status, type: errorTypeForStatus(res.status) });
        } else {
          await res.arrayBuffer();
        }
      }
      return out;
    };
    const a = await statuses(await start({ failureInjectionRate: 20, seed: 1234 }));
    const b = await statuses(await start({ failureInjectionRate: 20, seed: 1234 }));
    expect(b).toEqual(a);
    const share = a.filter((s) => s !== 200).length / a.length;
    // Binomial(300, 0.2): sd ≈ 0.023; the seed makes this exact, the bounds say it is the right rate.
    expect(share).toBeGreaterThan(0.13);
    expect(share).toBeLessThan(0.27);
  });

  it('rejects before the engine sees the request', async () => {
    const server = await start({ failureInjectionRate: 100, failureTypes: ['server_error'], seed: 1 });
    const res = await post(server, '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], stream: true });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ object: 'error', message: 'The server is overloaded or not ready yet.', type: 'InternalServerError', param: null, code: 503 });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain(`vllm:prefix_cache_queries_total{engine="0",model_name="${MODEL}"} 0.0`);
    expect((await fetch(`${server.url}/v1/models`)).status).toBe(200);
  });

  it('answers X-Return-Error with that status, ahead of random injection, on completions and chat', async () => {
    const server = await start({ failureInjectionRate: 100, failureTypes: ['rate_limit'], seed: 1 });
    const res = await post(server, '/v1/completions', { prompt: 'x' }, { 'X-Return-Error': '422' });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      object: 'error',
      message: 'Simulated error triggered by X-Return-Error header (code 422)',
      type: 'UnprocessableEntityError',
      param: null,
      code: 422,
    });
    const chat = await post(server, '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] }, { 'x-return-error': '500' });
    expect(chat.status).toBe(500);
    expect(((await chat.json()) as ErrorBody).type).toBe('InternalServerError');

    const bad = await post(server, '/v1/completions', { prompt: 'x' }, { 'X-Return-Error': 'abc' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).message).toContain('Invalid X-Return-Error');
    // A body that is not JSON is refused first, as in the sim.
    const notJson = await post(server, '/v1/completions', '{', { 'X-Return-Error': '503' });
    expect(notJson.status).toBe(400);
  });

  it('serves normally with no header and no rate', async () => {
    const server = await start({});
    const res = await post(server, '/v1/completions', { prompt: 'x', max_tokens: 2 });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });
});
