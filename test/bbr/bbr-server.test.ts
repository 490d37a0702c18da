import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBbr, type BbrServer } from '../../src/bbr/server.js';
import { MODEL_NAME_HEADER } from '../../src/bbr/model.js';
import type { ProcessingResponse__Output } from '../../src/extproc/proto.js';
import { selfSignedCertificate } from '../../src/extproc/tls.js';
import { silentLogger } from '../../src/observability/logger.js';
import { healthCheck } from '../helpers/health-client.js';
import { RawExtProcClient, requestBody, requestHeaders, type RawStream } from '../helpers/raw-extproc-client.js';
import { fieldBytes } from '../helpers/wire.js';

const HEADERS = { ':method': 'POST', ':path': '/v1/chat/completions', 'content-type': 'application/json' };
const CHAT = JSON.stringify({ model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: 'hi there' }] });

let bbr: BbrServer;
let client: RawExtProcClient;

function start(overrides: Partial<Parameters<typeof startBbr>[0]> = {}): Promise<BbrServer> {
  return startBbr({
    host: '127.0.0.1',
    grpcPort: 0,
    grpcHealthPort: 0,
    metricsPort: 0,
    secureServing: false,
    certPath: '',
    maxRequestBodyBytes: 1024,
    requestBodyMode: 'full-duplex',
    healthChecking: false,
    logger: silentLogger(),
    ...overrides,
  });
}

beforeAll(async () => {
  bbr = await start();
  client = new RawExtProcClient(`127.0.0.1:${bbr.grpcPort}`);
});

afterAll(async () => {
  client.close();
  await bbr.shutdown(100);
});

/** Header (name → value) set by a CommonResponse. */
function setHeaders(common: { header_mutation?: { set_headers?: { header?: { key?: string; raw_value?: Buffer } }[] } | null } | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of common?.header_mutation?.set_headers ?? []) out[h.header?.key ?? ''] = (h.header?.raw_value ?? Buffer.alloc(0)).toString('utf8');
  return out;
}

/** The body streamed back in request_body StreamedBodyResponses, and whether the last one ended the stream. */
function streamedBack(responses: readonly ProcessingResponse__Output[]): { body: string; eos: boolean } {
  let body = '';
  let eos = false;
  for (const r of responses) {
    const s = r.request_body?.response?.body_mutation?.streamed_response;
    if (s === undefined || s === null) continue;
    body += (s.body ?? Buffer.alloc(0)).toString('utf8');
    eos = s.end_of_stream === true;
  }
  return { body, eos };
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${bbr.metricsPort}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

async function fullDuplex(body: string | readonly string[], headers: Record<string, string> = HEADERS): Promise<RawStream> {
  const s = client.open();
  s.send(requestHeaders(headers, false, { protocol_config: { request_body_mode: 'FULL_DUPLEX_STREAMED', response_body_mode: 'FULL_DUPLEX_STREAMED' } }));
  const chunks = typeof body === 'string' ? [body] : body;
  chunks.forEach((c, i) => s.send(requestBody(c, i === chunks.length - 1)));
  await s.until((x) => streamedBack(x.responses.map((r) => r.msg)).eos || x.ended);
  return s;
}

describe('epp bbr over gRPC', () => {
  it('sets X-Gateway-Model-Name from a body split over chunks, clears the route cache and streams the body back unchanged', async () => {
    const before = await metric('bbr_success_total');
    const s = await fullDuplex([CHAT.slice(0, 10), CHAT.slice(10)]);
    const first = s.responses[0];
    expect(first?.msg.request_headers?.response?.clear_route_cache).toBe(true);
    expect(setHeaders(first?.msg.request_headers?.response)).toEqual({ [MODEL_NAME_HEADER]: 'meta-llama/Llama-3.1-8B-Instruct' });
    // On the wire: ProcessingResponse.request_headers (field 1) → HeadersResponse.response (1) → CommonResponse.clear_route_cache (5).
    const common = fieldBytes(fieldBytes(first?.raw ?? Buffer.alloc(0), 1)[0] ?? Buffer.alloc(0), 1)[0] ?? Buffer.alloc(0);
    expect(common.includes(Buffer.from(MODEL_NAME_HEADER))).toBe(true);
    expect(streamedBack(s.responses.map((r) => r.msg))).toEqual({ body: CHAT, eos: true });
    expect(await metric('bbr_success_total')).toBe(before + 1);
    s.halfClose();
  });

  it('answers on the body in BUFFERED mode, without touching the body', async () => {
    const s = client.open();
    s.send(requestHeaders(HEADERS, false, { protocol_config: { request_body_mode: 'BUFFERED', response_body_mode: 'NONE' } }));
    s.send(requestBody(JSON.stringify({ model: 'qwen', prompt: 'x' }), true));
    await s.until((x) => x.responses.length >= 2);
    const [headers, body] = s.responses.map((r) => r.msg);
    expect(headers?.request_headers?.response?.header_mutation ?? undefined).toBeUndefined();
    const common = body?.request_body?.response;
    expect(common?.clear_route_cache).toBe(true);
    expect(setHeaders(common)).toEqual({ [MODEL_NAME_HEADER]: 'qwen' });
    expect(common?.body_mutation ?? undefined).toBeUndefined();
    s.halfClose();
  });

  it('passes a body without a model through without the header, and removes a client-supplied one', async () => {
    const before = await metric('bbr_model_not_in_body_total');
    const body = JSON.stringify({ prompt: 'no model here' });
    const s = await fullDuplex(body, { ...HEADERS, 'X-Gateway-Model-Name': 'steered' });
    const common = s.responses[0]?.msg.request_headers?.response;
    expect(setHeaders(common)).toEqual({});
    expect(common?.header_mutation?.remove_headers).toEqual([MODEL_NAME_HEADER]);
    expect(streamedBack(s.responses.map((r) => r.msg))).toEqual({ body, eos: true });
    expect(await metric('bbr_model_not_in_body_total')).toBe(before + 1);
    s.halfClose();
  });

  it('passes invalid JSON and non-string models through without the header', async () => {
    const before = await metric('bbr_model_not_parsed_total');
    for (const body of ['not json', JSON.stringify({ model: 42 }), JSON.stringify(['model'])]) {
      const s = await fullDuplex(body);
      const common = s.responses[0]?.msg.request_headers?.response;
      expect(setHeaders(common)).toEqual({});
      expect(common?.clear_route_cache ?? false).toBe(false);
      expect(streamedBack(s.responses.map((r) => r.msg))).toEqual({ body, eos: true });
      s.halfClose();
    }
    expect(await metric('bbr_model_not_parsed_total')).toBe(before + 3);
  });

  it('answers a body-less request at once, without the header', async () => {
    const s = client.open();
    s.send(requestHeaders({ ':method': 'GET', ':path': '/v1/models' }, true));
    await s.until((x) => x.responses.length >= 1);
    expect(s.responses[0]?.msg.response).toBe('request_headers');
    expect(setHeaders(s.responses[0]?.msg.request_headers?.response)).toEqual({});
    s.halfClose();
  });

  it('answers 413 once the body passes the cap', async () => {
    const s = client.open();
    s.send(requestHeaders(HEADERS));
    s.send(requestBody('x'.repeat(800), false));
    s.send(requestBody('x'.repeat(800), false));
    await s.until((x) => x.ended);
    expect(s.responses.at(-1)?.msg.immediate_response?.status?.code).toBe(413);
    expect(await metric('bbr_request_body_too_large_total')).toBeGreaterThanOrEqual(1);
  });

  it('passes response messages through', async () => {
    const s = await fullDuplex(CHAT);
    const n = s.responses.length;
    s.send({ response_headers: { headers: { headers: [{ key: ':status', raw_value: Buffer.from('200') }] } } });
    s.send({ response_body: { body: Buffer.from('data: {}\n\n'), end_of_stream: true } });
    await s.until((x) => x.responses.length >= n + 2);
    expect(s.responses[n]?.msg.response).toBe('response_headers');
    expect(s.responses[n + 1]?.msg.response_body?.response?.body_mutation?.streamed_response?.body?.toString()).toBe('data: {}\n\n');
    s.halfClose();
  });

  it('reports SERVING on its health port', async () => {
    expect(await healthCheck(`127.0.0.1:${bbr.grpcHealthPort}`, '')).toBe('SERVING');
  });
});

describe('epp bbr with --secure-serving', () => {
  it('serves ext_proc over TLS', async () => {
    const keyPair = await selfSignedCertificate(2048);
    const secure = await start({ secureServing: true, keyPair, metricsPort: -1 });
    const tls = new RawExtProcClient(`127.0.0.1:${secure.grpcPort}`, credentials.createSsl(Buffer.from(keyPair.cert), null, null, { checkServerIdentity: () => undefined }));
    try {
      const s = tls.open();
      s.send(requestHeaders(HEADERS));
      s.send(requestBody(CHAT, true));
      await s.until((x) => x.responses.length >= 2);
      expect(setHeaders(s.responses[0]?.msg.request_headers?.response)).toEqual({ [MODEL_NAME_HEADER]: 'meta-llama/Llama-3.1-8B-Instruct' });
      s.halfClose();
    } finally {
      tls.close();
      await secure.shutdown(100);
    }
  }, 30_000);
});
