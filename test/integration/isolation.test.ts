/**
 * Stream isolation over real gRPC: a stream whose handling blows up gets a 500 on its own, every other
 * stream is routed, and random protocol sequences never take the server down.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RequestRouter, RoutingDecision, RoutingInput } from '../../src/director/director.js';
import type { ProcessingRequest } from '../../src/extproc/proto.js';
import { extProcMethod, StreamTracker } from '../../src/extproc/service.js';
import { GrpcServer } from '../../src/grpc/grpc-server.js';
import { silentLogger } from '../../src/observability/logger.js';
import { OpenAIParser } from '../../src/request/request-parser.js';
import { EppMetrics } from '../../src/observability/metrics.js';
import { endpoint } from '../helpers/endpoints.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const target = endpoint(0);
const router: RequestRouter = {
  route(input: RoutingInput): RoutingDecision {
    if (input.requestId === 'poison') throw new TypeError('injected handler bug');
    return { targets: [target], destination: target.hostPort, incomingModel: 'm', targetModel: 'm', objective: '', priority: 0, fairnessId: 'default-flow', profile: 'default', scores: undefined, rewrittenBody: undefined, setHeaders: new Map(), responseHeaders: new Map(), scheduled: undefined };
  },
  release: () => undefined,
};

let server: GrpcServer;
let client: RawExtProcClient;
const tracker = new StreamTracker();

beforeAll(async () => {
  server = new GrpcServer({ logger: silentLogger(), label: 'ext_proc', maxReceiveMessageBytes: 2 << 20 });
  server.addMethod(
    extProcMethod(
      {
        router,
        parser: new OpenAIParser('openai-parser'),
        metrics: new EppMetrics(),
        logger: silentLogger(),
        defaultBodyMode: 'full-duplex',
        maxRequestBodyBytes: 1 << 20,
        decisionTimeoutMs: 1000,
        timers: { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) },
      },
      tracker,
    ),
  );
  const port = await server.listen('127.0.0.1', 0);
  client = new RawExtProcClient(`127.0.0.1:${port}`);
});

afterAll(async () => {
  client.close();
  await server.close();
});

describe('stream isolation', () => {
  it('one poisoned stream of 100 gets 500; the other 99 are routed', async () => {
    const streams = Array.from({ length: 100 }, (_, i) => {
      const s = client.open();
      s.send(requestHeaders({ ':path': '/v1/completions', 'x-request-id': i === 37 ? 'poison' : `r${i}` }));
      s.send(requestBody('{"model":"m","prompt":"p"}', true));
      return s;
    });
    await Promise.all(streams.map((s) => s.until((x) => x.responses.length >= 2 || x.responses.some((r) => r.msg.immediate_response !== undefined))));
    const codes = streams.map((s) => s.responses[0]?.msg.immediate_response?.status?.code ?? 'routed');
    expect(codes.filter((c) => c === 'routed')).toHaveLength(99);
    expect(codes[37]).toBe(500);
    for (const s of streams) s.halfClose();
    await vi.waitFor(() => expect(tracker.active).toBe(0), { timeout: 5000 });
  });

  it('survives random ext_proc message sequences; every stream is answered or ended', async () => {
    const message = fc.oneof(
      fc.record({ h: fc.dictionary(fc.constantFrom(':path', 'x-request-id', 'content-type', 'x-gateway-model-name-rewrite'), fc.string({ maxLength: 20 })), eos: fc.boolean() }).map(
        ({ h, eos }): ProcessingRequest => requestHeaders(h, eos),
      ),
      fc.record({ b: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('{"model":"m","prompt":"p"}')), eos: fc.boolean() }).map(({ b, eos }): ProcessingRequest => requestBody(b, eos)),
      fc.constant<ProcessingRequest>({ request_trailers: {} }),
      fc.constant<ProcessingRequest>({ response_headers: { headers: { headers: [] } } }),
      fc.constant<ProcessingRequest>({ response_body: { body: Buffer.from('x'), end_of_stream: true } }),
      fc.constant<ProcessingRequest>({}),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 8 }), async (seq) => {
        const s = client.open();
        for (const m of seq) s.send(m);
        s.halfClose();
        await s.until((x) => x.ended, 5000);
      }),
      { numRuns: 200, seed: 5 },
    );
    await vi.waitFor(() => expect(tracker.active).toBe(0), { timeout: 5000 });
    // And the server still routes.
    const s = client.open();
    s.send(requestHeaders({ ':path': '/v1/completions' }));
    s.send(requestBody('{"model":"m","prompt":"p"}', true));
    await s.until((x) => x.responses.length === 2);
    s.halfClose();
  });
});
