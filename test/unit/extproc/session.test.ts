import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RequestRouter, RoutingDecision, RoutingInput } from '../../../src/director/director.js';
import type { ProcessingResponse } from '../../../src/extproc/proto.js';
import { ExtProcSession, type SessionOptions } from '../../../src/extproc/session.js';
import { ResourceExhaustedError, ServiceUnavailableError } from '../../../src/errors/errors.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { OpenAIParser } from '../../../src/request/request-parser.js';
import { EppMetrics } from '../../../src/observability/metrics.js';
import { endpoint } from '../../helpers/endpoints.js';

class FakeRouter implements RequestRouter {
  inputs: RoutingInput[] = [];
  released = 0;
  firstBytes = 0;
  constructor(private readonly impl: (input: RoutingInput) => RoutingDecision | Promise<RoutingDecision>) {}
  route(input: RoutingInput): RoutingDecision | Promise<RoutingDecision> {
    this.inputs.push(input);
    return this.impl(input);
  }
  firstResponseByte(): void {
    this.firstBytes++;
  }
  release(): void {
    this.released++;
  }
}

const target = endpoint(0);
const decision = (over: Partial<RoutingDecision> = {}): RoutingDecision => ({
  targets: [target],
  destination: target.hostPort,
  incomingModel: 'm',
  targetModel: 'm',
  objective: '',
  priority: 0,
  fairnessId: 'default-flow',
  profile: 'default',
  scores: undefined,
  rewrittenBody: undefined,
  setHeaders: new Map(),
  responseHeaders: new Map(),
  scheduled: undefined,
  ...over,
});

function harness(router: RequestRouter, over: Partial<SessionOptions> = {}) {
  const sent: ProcessingResponse[] = [];
  let ended = 0;
  const session = new ExtProcSession(
    { send: (r) => sent.push(r), end: () => ended++ },
    {
      router,
      parser: new OpenAIParser('openai-parser'),
      metrics: new EppMetrics(),
      logger: silentLogger(),
      defaultBodyMode: 'full-duplex',
      maxRequestBodyBytes: 1024,
      decisionTimeoutMs: 5000,
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
      ...over,
    },
  );
  const msg = (m: object): void => session.onMessage(m);
  const headers = (h: Record<string, string>, eos = false): void =>
    msg({ request: 'request_headers', request_headers: { headers: { headers: Object.entries(h).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) }, end_of_stream: eos } });
  const body = (b: string, eos: boolean): void => msg({ request: 'request_body', request_body: { body: Buffer.from(b), end_of_stream: eos } });
  return { session, sent, ended: () => ended, msg, headers, body };
}

const status = (r: ProcessingResponse | undefined): number | undefined => r?.immediate_response?.status?.code ?? undefined;

afterEach(() => {
  vi.useRealTimers();
});

describe('ExtProcSession', () => {
  it('holds the header answer until body end-of-stream, then header answer before body', () => {
    const h = harness(new FakeRouter(() => decision()));
    h.headers({ ':path': '/v1/completions', 'x-request-id': 'abc' });
    h.body('{"model":"m",', false);
    expect(h.sent).toHaveLength(0);
    h.body('"prompt":"p"}', true);
    expect(h.sent.map((r) => Object.keys(r).find((k) => k !== 'dynamic_metadata'))).toEqual(['request_headers', 'request_body']);
    expect(h.session.requestId).toBe('abc');
  });

  it('answers 503 when an asynchronous decision misses the deadline, and releases a late decision', async () => {
    vi.useFakeTimers();
    let resolveLate: (d: RoutingDecision) => void = () => undefined;
    const router = new FakeRouter(() => new Promise<RoutingDecision>((r) => (resolveLate = r)));
    const h = harness(router, { decisionTimeoutMs: 200 });
    h.headers({ ':path': '/v1/completions' });
    h.body('{"model":"m","prompt":"p"}', true);
    await vi.advanceTimersByTimeAsync(199);
    expect(h.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(status(h.sent[0])).toBe(503);
    expect(h.sent[0]?.immediate_response?.body?.toString()).toContain('DeadlineExceeded');
    expect(h.ended()).toBe(1);
    resolveLate(decision());
    await vi.advanceTimersByTimeAsync(0);
    expect(router.released).toBe(1);
    expect(h.sent).toHaveLength(1);
  });

  it('answers an asynchronous decision made in time', async () => {
    vi.useFakeTimers();
    const h = harness(new FakeRouter(() => Promise.resolve(decision())));
    h.headers({ ':path': '/v1/completions' });
    h.body('{"model":"m","prompt":"p"}', true);
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sent[0]?.request_headers?.response?.clear_route_cache).toBe(true);
  });

  it('isolates a failing router: that stream gets 500 and ends', () => {
    const h = harness(
      new FakeRouter(() => {
        throw new TypeError('boom');
      }),
    );
    h.headers({ ':path': '/v1/completions' });
    h.body('{"model":"m","prompt":"p"}', true);
    expect(status(h.sent[0])).toBe(500);
    expect(h.ended()).toBe(1);
    h.body('more', true); // messages after the end are ignored
    expect(h.sent).toHaveLength(1);
  });

  it.each([
    [new ResourceExhaustedError('failed to find target endpoint: profile "default" found no endpoint'), 429, 'inference error: ResourceExhausted - failed to find target endpoint'],
    [new ServiceUnavailableError('failed to find endpoint candidates for serving the request'), 503, 'inference error: ServiceUnavailable - failed to find endpoint candidates'],
  ])('maps %s to its status and body', (error, code, text) => {
    const h = harness(
      new FakeRouter(() => {
        throw error;
      }),
    );
    h.headers({ ':path': '/v1/completions' });
    h.body('{"model":"m","prompt":"p"}', true);
    expect(status(h.sent[0])).toBe(code);
    expect(h.sent[0]?.immediate_response?.body?.toString()).toContain(text);
  });

  it('rejects a body before headers as a protocol violation (500)', () => {
    const h = harness(new FakeRouter(() => decision()));
    h.body('{}', true);
    expect(status(h.sent[0])).toBe(500);
  });

  it('answers 413 on the chunk that passes the cap and drops what it buffered', () => {
    const router = new FakeRouter(() => decision());
    const h = harness(router);
    h.headers({ ':path': '/v1/completions' });
    h.body('x'.repeat(1000), false);
    expect(h.sent).toHaveLength(0);
    h.body('x'.repeat(100), false);
    expect(status(h.sent[0])).toBe(413);
    expect(router.inputs).toHaveLength(0);
  });

  it('reports the first non-empty response body chunk once, before the release', () => {
    const router = new FakeRouter(() => decision());
    const h = harness(router);
    h.headers({ ':path': '/v1/completions' });
    h.body('{"model":"m","prompt":"p"}', true);
    h.msg({ request: 'response_headers', response_headers: { headers: { headers: [] }, end_of_stream: false } });
    h.msg({ request: 'response_body', response_body: { body: Buffer.alloc(0), end_of_stream: false } });
    expect(router.firstBytes).toBe(0);
    h.msg({ request: 'response_body', response_body: { body: Buffer.from('data: {}'), end_of_stream: false } });
    h.msg({ request: 'response_body', response_body: { body: Buffer.from('data: [DONE]'), end_of_stream: true } });
    h.session.onStreamEnd();
    expect(router.firstBytes).toBe(1);
    expect(router.released).toBe(1);
  });

  it('releases the routed request exactly once, however the stream ends', () => {
    const router = new FakeRouter(() => decision());
    const h = harness(router);
    h.headers({ ':path': '/v1/completions' });
    h.body('{"model":"m","prompt":"p"}', true);
    h.session.onStreamEnd();
    h.session.onStreamEnd();
    expect(router.released).toBe(1);
  });

  it('forwards a rewritten body with its new content-length and rewrites the model back in responses', () => {
    const rewritten = Buffer.from('{"model":"t","prompt":"p"}');
    const h = harness(new FakeRouter(() => decision({ targetModel: 't', rewrittenBody: rewritten })));
    h.headers({ ':path': '/v1/completions', 'x-gateway-model-name-rewrite': 't' });
    h.body('{"model":"m", "prompt":"p"}', true);
    const set = h.sent[0]?.request_headers?.response?.header_mutation?.set_headers ?? [];
    expect(set.find((o) => o.header?.key === 'content-length')?.header?.raw_value?.toString()).toBe(String(rewritten.length));
    expect(h.sent[0]?.request_headers?.response?.header_mutation?.remove_headers).toContain('x-gateway-model-name-rewrite');
    expect(h.sent[1]?.request_body?.response?.body_mutation?.streamed_response?.body).toEqual(rewritten);
    h.msg({ request: 'response_headers', response_headers: { headers: { headers: [] } } });
    h.msg({ request: 'response_body', response_body: { body: Buffer.from('{"model":"t","x":1}'), end_of_stream: true } });
    expect(h.sent.at(-1)?.response_body?.response?.body_mutation?.streamed_response?.body?.toString()).toBe('{"model":"m","x":1}');
  });

  it('sets plugin headers on the forwarded request, overwriting (not removing) a client copy', () => {
    const h = harness(new FakeRouter(() => decision({ setHeaders: new Map([['x-prefiller-host-port', '10.0.0.9:8000']]) })));
    h.headers({ ':path': '/v1/completions', 'x-prefiller-host-port': '6.6.6.6:1', 'x-encoder-hosts-ports': '6.6.6.6:2' });
    h.body('{"model":"m","prompt":"p"}', true);
    const mutation = h.sent[0]?.request_headers?.response?.header_mutation;
    expect(mutation?.set_headers?.find((o) => o.header?.key === 'x-prefiller-host-port')?.header?.raw_value?.toString()).toBe('10.0.0.9:8000');
    expect(mutation?.remove_headers).toEqual(['x-encoder-hosts-ports']);
  });

  it('adds plugin response headers (e.g. a session token) to the response the client gets', () => {
    const h = harness(new FakeRouter(() => decision({ responseHeaders: new Map([['x-session-token', 'dG9rZW4=']]) })));
    h.headers({ ':path': '/v1/completions' });
    h.body('{"model":"m","prompt":"p"}', true);
    h.msg({ request: 'response_headers', response_headers: { headers: { headers: [] } } });
    const set = h.sent.at(-1)?.response_headers?.response?.header_mutation?.set_headers ?? [];
    expect(set.map((o) => [o.header?.key, o.header?.raw_value?.toString()])).toEqual([['x-session-token', 'dG9rZW4=']]);
  });

  it('treats request trailers as the end of the body and answers them; the body before them does not end the stream', () => {
    const h = harness(new FakeRouter(() => decision()));
    h.headers({ ':path': '/v1/completions' });
    h.body('{"model":"m","prompt":"p"}', false);
    h.msg({ request: 'request_trailers', request_trailers: {} });
    expect(h.sent.map((r) => Object.keys(r)[0])).toEqual(['request_headers', 'request_body', 'request_trailers']);
    // As Envoy's own tests expect: with trailers to follow, the last body chunk has end_of_stream false.
    expect(h.sent[1]?.request_body?.response?.body_mutation?.streamed_response?.end_of_stream).toBe(false);
  });

  it('ends the body with end_of_stream when no trailers follow', () => {
    const h = harness(new FakeRouter(() => decision()));
    h.headers({ ':path': '/v1/completions' });
    h.body('{"model":"m","prompt":"p"}', true);
    expect(h.sent[1]?.request_body?.response?.body_mutation?.streamed_response?.end_of_stream).toBe(true);
  });

  it('answers 503 with x-llm-d-request-dropped-reason: rejected-shutting-down once the picker has stopped taking requests', () => {
    let stopping = false;
    const router = new FakeRouter(() => decision());
    const h = harness(router, { shuttingDown: () => stopping });
    h.headers({ ':path': '/v1/completions' });
    h.body('{"model":"m","prompt":"p"}', true);
    expect(h.sent[0]?.request_headers).toBeDefined();
    stopping = true;
    const late = harness(router, { shuttingDown: () => stopping });
    late.headers({ ':path': '/v1/completions' });
    expect(status(late.sent[0])).toBe(503);
    const set = late.sent[0]?.immediate_response?.headers?.set_headers ?? [];
    expect(set.find((o) => o.header?.key === 'x-llm-d-request-dropped-reason')?.header?.raw_value?.toString()).toBe('rejected-shutting-down');
    expect(late.ended()).toBe(1);
    expect(router.inputs).toHaveLength(1);
  });

  it('rewrites the model back on bytes: characters split across chunks and invalid UTF-8 pass unchanged', () => {
    const h = harness(new FakeRouter(() => decision({ targetModel: 'target-model', rewrittenBody: Buffer.from('{"model":"target-model","prompt":"p"}') })));
    h.headers({ ':path': '/v1/completions', 'x-gateway-model-name-rewrite': 'target-model' });
    h.body('{"model":"m","prompt":"p"}', true);
    h.msg({ request: 'response_headers', response_headers: { headers: { headers: [] } } });
    // "é" (c3 a9) and "€" (e2 82 ac) split across chunks, a lone continuation byte (80), and the model name.
    const whole = Buffer.concat([Buffer.from('{"model":"target-model","text":"caf'), Buffer.from([0xc3, 0xa9, 0x20, 0xe2, 0x82, 0xac, 0x80]), Buffer.from('"}')]);
    const cuts = [36, 39];
    const parts = [whole.subarray(0, cuts[0]), whole.subarray(cuts[0], cuts[1]), whole.subarray(cuts[1])];
    parts.forEach((p, i) => h.msg({ request: 'response_body', response_body: { body: p, end_of_stream: i === parts.length - 1 } }));
    const out = Buffer.concat(h.sent.slice(-3).map((r) => (r.response_body?.response?.body_mutation?.streamed_response?.body ?? Buffer.alloc(0)) as Buffer));
    const expected = Buffer.concat([Buffer.from('{"model":"m","text":"caf'), Buffer.from([0xc3, 0xa9, 0x20, 0xe2, 0x82, 0xac, 0x80]), Buffer.from('"}')]);
    expect(out.equals(expected)).toBe(true);
    expect(out.length).toBe(whole.length - 'target-model'.length + 1);
  });

  it('routes a header-only request without a body and without parsing', () => {
    const router = new FakeRouter(() => decision());
    const h = harness(router);
    h.headers({ ':method': 'GET', ':path': '/v1/models' }, true);
    expect(router.inputs[0]?.llm).toBeUndefined();
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]?.dynamic_metadata).toBeDefined();
  });
});
