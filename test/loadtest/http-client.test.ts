import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { failureKind } from '../../src/loadtest/errors.js';
import { generationBody, LoadClient } from '../../src/loadtest/http-client.js';

/** A clock the test advances; the fake body moves it as the client reads. */
class ManualClock {
  t = 1000;
  now(): number {
    return this.t;
  }
}

/** A fetch answering one canned response whose body chunks arrive `stepMs` apart on `clock`. */
function fakeFetch(clock: ManualClock, status: number, chunks: readonly string[], stepMs: number, headers: Record<string, string> = {}): { fetch: typeof fetch; bodies: unknown[] } {
  const bodies: unknown[] = [];
  const f = (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    bodies.push(JSON.parse(typeof init?.body === 'string' ? init.body : 'null'));
    let i = 0;
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          clock.t += stepMs;
          const chunk = chunks[i++];
          if (chunk === undefined) controller.close();
          else controller.enqueue(encoder.encode(chunk));
        },
      },
      // Pull only when the client reads, so the clock moves at read time.
      { highWaterMark: 0 },
    );
    return Promise.resolve(new Response(stream, { status, headers }));
  };
  return { fetch: f, bodies };
}

const event = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;

describe('LoadClient', () => {
  it('measures TTFT and inter-token gaps of a stream on the injected clock, and reads usage and the replica header', async () => {
    const clock = new ManualClock();
    const chunks = [
      event({ choices: [{ delta: { role: 'assistant', content: '' } }] }),
      event({ choices: [{ delta: { content: 'a' } }] }),
      event({ choices: [{ delta: { content: 'b' } }] }) + event({ choices: [{ delta: { content: 'c' } }] }),
      event({ choices: [{ delta: {}, finish_reason: 'length' }] }),
      event({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 8 } } }),
      'data: [DONE]\n\n',
    ];
    const { fetch, bodies } = fakeFetch(clock, 200, chunks, 5, { 'x-inference-pod': 'vllm-1', 'content-type': 'text/event-stream' });
    const client = new LoadClient({ baseUrl: 'http://gw', timeoutMs: 10_000, clock, fetch });
    const outcome = await client.send(generationBody('m', '/v1/chat/completions', { system: 'sys', user: 'q' }, 3, true));
    expect(outcome).toMatchObject({ ok: true, status: 200, replica: 'vllm-1', outputTokens: 3, cachedTokens: 8, ttftMs: 10 });
    // 'b' and 'c' came in one read 5 ms after 'a': the 5 ms is split between them.
    expect(outcome.itlMs).toEqual([2.5, 2.5]);
    expect(outcome.latencyMs).toBe(35);
    expect(bodies[0]).toEqual({
      model: 'm',
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'q' },
      ],
      max_tokens: 3,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('counts completions text events when the stream reports no usage', async () => {
    const clock = new ManualClock();
    const { fetch } = fakeFetch(clock, 200, [event({ choices: [{ text: 'x' }] }), event({ choices: [{ text: 'y' }] }), 'data: [DONE]\n\n'], 1);
    const outcome = await new LoadClient({ baseUrl: 'http://gw', timeoutMs: 1000, clock, fetch }).send(generationBody('m', '/v1/completions', { user: 'q' }, 2, true));
    expect(outcome).toMatchObject({ ok: true, outputTokens: 2, ttftMs: 1, itlMs: [1] });
    expect(outcome.replica).toBeUndefined();
  });

  it('reports an error status, a stream cut before [DONE], and a non-JSON body as failures by kind', async () => {
    const clock = new ManualClock();
    const spec = generationBody('m', '/v1/completions', { user: 'q' }, 2, true);
    const send = (status: number, chunks: string[], stream = true): ReturnType<LoadClient['send']> =>
      new LoadClient({ baseUrl: 'http://gw', timeoutMs: 1000, clock, fetch: fakeFetch(clock, status, chunks, 1).fetch }).send(stream ? spec : generationBody('m', '/v1/completions', { user: 'q' }, 2, false));
    expect(await send(503, ['no healthy upstream'])).toMatchObject({ ok: false, status: 503, error: 'HTTP 503' });
    expect(await send(200, [event({ choices: [{ text: 'x' }] })])).toMatchObject({ ok: false, error: 'incomplete stream' });
    expect(await send(200, ['<html>'], false)).toMatchObject({ ok: false, error: 'bad response' });
    expect(await send(200, ['{"usage":{"completion_tokens":2}}'], false)).toMatchObject({ ok: true, outputTokens: 2 });
  });

  it('names a refused connection, never throwing', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const client = new LoadClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 5000, clock: new ManualClock() });
    expect(await client.send(generationBody('m', '/v1/completions', { user: 'q' }, 1, false))).toMatchObject({ ok: false, status: 0, error: 'connection refused' });
  });

  it('classifies abort reasons and error codes', () => {
    const timeout = new Error('t');
    timeout.name = 'TimeoutError';
    const deadline = new Error('d');
    deadline.name = 'StageDeadline';
    expect(failureKind(timeout)).toBe('timeout');
    expect(failureKind(deadline)).toBe('stage deadline');
    expect(failureKind(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) }))).toBe('host not found');
    expect(failureKind(new TypeError('fetch failed', { cause: new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]) }))).toBe('connection refused');
    expect(failureKind(new TypeError('fetch failed', { cause: new Error('bad port') }))).toBe('network error: bad port');
  });
});
