/**
 * The picker over real gRPC streams, as Envoy drives it in FULL_DUPLEX_STREAMED mode. Responses are
 * checked on their raw bytes where the wire format matters (dynamic metadata).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import type { ProcessingResponse__Output } from '../../src/extproc/proto.js';
import { startTestPicker, writeEndpointsFile } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders, subsetHint, type RawStream } from '../helpers/raw-extproc-client.js';
import { decodeStruct, fieldBytes } from '../helpers/wire.js';

const ENDPOINTS = ['127.0.0.11:8000', '127.0.0.12:8000', '127.0.0.13:8000', '127.0.0.13:8001'];
const FILE = `endpoints:
  - {name: a, address: 127.0.0.11, port: 8000}
  - {name: b, address: 127.0.0.12, port: 8000}
  - {name: c, address: 127.0.0.13, ports: [8000, 8001], labels: {llm-d.ai/role: decode}}
`;

let picker: PickerServer;
let client: RawExtProcClient;
const opened: RawStream[] = [];

beforeAll(async () => {
  picker = await startTestPicker({ discovery: { endpointsFile: writeEndpointsFile(FILE) } });
  client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
});
afterAll(async () => {
  client.close();
  await picker.shutdown(1000);
});

const HEADERS = { ':method': 'POST', ':path': '/v1/completions', ':authority': 'gw', 'content-type': 'application/json', 'x-request-id': 'req-1' };

function headerValues(msg: ProcessingResponse__Output | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const common = msg?.request_headers?.response;
  for (const h of common?.header_mutation?.set_headers ?? []) out.set(h.header?.key ?? '', h.header?.raw_value?.toString() ?? '');
  return out;
}

/** Sends a body in `chunks` pieces and waits for the complete routing answer or an immediate response. */
async function roundTrip(body: Buffer, chunks: number, headers: Record<string, string> = HEADERS, extra = {}): Promise<RawStream> {
  const s = client.open();
  opened.push(s);
  s.send(requestHeaders(headers, false, extra));
  const size = Math.ceil(body.length / chunks);
  for (let i = 0; i < chunks; i++) s.send(requestBody(body.subarray(i * size, (i + 1) * size), i === chunks - 1));
  await s.until((x) => x.ended || x.responses.some((r) => r.msg.immediate_response !== undefined || r.msg.request_body?.response?.body_mutation?.streamed_response?.end_of_stream === true));
  return s;
}

function immediateStatus(s: RawStream): number | undefined {
  return s.responses.find((r) => r.msg.immediate_response !== undefined)?.msg.immediate_response?.status?.code;
}

describe('ext_proc FULL_DUPLEX_STREAMED', () => {
  it('routes a body split in several chunks: header equals wire metadata, route cache cleared, body intact in ≤62,000-byte chunks', async () => {
    const prompt = 'x'.repeat(150_000);
    const body = Buffer.from(JSON.stringify({ model: 'm', prompt, max_tokens: 5 }));
    const s = await roundTrip(body, 5);
    const [first, ...rest] = s.responses;
    expect(first?.msg.response).toBe('request_headers');
    expect(first?.msg.request_headers?.response?.clear_route_cache).toBe(true);
    const headers = headerValues(first?.msg);
    const destination = headers.get('x-gateway-destination-endpoint');
    expect(ENDPOINTS).toContain(destination);
    expect(headers.get('content-length')).toBe(String(body.length));
    // Field 8 of ProcessingResponse is dynamic_metadata: decode the bytes ourselves.
    const metadata = decodeStruct(fieldBytes(first?.raw ?? Buffer.alloc(0), 8)[0] ?? Buffer.alloc(0));
    expect(metadata).toEqual({ 'envoy.lb': { 'x-gateway-destination-endpoint': destination } });
    const chunks = rest.map((r) => r.msg.request_body?.response?.body_mutation?.streamed_response);
    expect(chunks.every((c) => c !== undefined && (c.body?.length ?? 0) <= 62_000)).toBe(true);
    expect(chunks.map((c) => c?.end_of_stream === true)).toEqual([...chunks.slice(0, -1).map(() => false), true]);
    expect(Buffer.concat(chunks.map((c) => c?.body ?? Buffer.alloc(0))).equals(body)).toBe(true);
    s.halfClose();
  });

  it('answers a header-only request (GET /v1/models) with an endpoint at once', async () => {
    const s = client.open();
    s.send(requestHeaders({ ':method': 'GET', ':path': '/v1/models' }, true));
    await s.until((x) => x.responses.length === 1);
    const headers = headerValues(s.responses[0]?.msg);
    expect(ENDPOINTS).toContain(headers.get('x-gateway-destination-endpoint'));
    expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    s.halfClose();
  });

  it.each([
    ['invalid JSON', 'no healthy upstream', '/v1/completions', 'BadRequest'],
    ['missing model', '{"prompt":"hello world"}', '/v1/completions', 'BadRequest - model not found in request body'],
    ['empty messages', '{"model":"m","messages":[]}', '/v1/chat/completions', 'BadRequest'],
    ['non-object JSON', '[1,2,3]', '/v1/completions', 'BadRequest'],
    ['pathological nesting', `{"model":"m","prompt":"p","x":${'['.repeat(5000)}${']'.repeat(5000)}}`, '/v1/completions', 'BadRequest'],
  ])('%s → 400', async (_name, body, path, text) => {
    const s = await roundTrip(Buffer.from(body), 2, { ...HEADERS, ':path': path });
    expect(immediateStatus(s)).toBe(400);
    const reply = s.responses.find((r) => r.msg.immediate_response)?.msg.immediate_response?.body?.toString() ?? '';
    expect(reply).toMatch(/^inference error: /);
    expect(reply).toContain(text);
    await s.until((x) => x.ended);
  });

  it('answers 413 as soon as a 40 MiB body passes the 32 MiB cap, without waiting for the rest', async () => {
    const s = client.open();
    s.send(requestHeaders(HEADERS));
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    for (let i = 0; i < 40 && immediateStatus(s) === undefined; i++) {
      s.send(requestBody(chunk, i === 39));
      sent++;
      if (sent > 32) await s.until((x) => x.responses.length > 0, 5000);
    }
    expect(immediateStatus(s)).toBe(413);
    expect(sent).toBeLessThanOrEqual(34);
    await s.until((x) => x.ended);
  });

  it('parses a 16 MB body of a million keys off the event loop: other streams are answered meanwhile, then it is routed byte-exact', async () => {
    const junk = Array.from({ length: 1_000_000 }, (_, i) => `"k${i}":${i}`).join(',');
    const big = Buffer.from(`{"model":"m","prompt":"the big one","junk":{${junk}}}`);
    expect(big.length).toBeGreaterThan(15 << 20);
    const bigStream = client.open();
    bigStream.send(requestHeaders({ ...HEADERS, 'x-request-id': 'big' }));
    for (let at = 0; at < big.length; at += 4 << 20) bigStream.send(requestBody(big.subarray(at, Math.min(at + (4 << 20), big.length)), at + (4 << 20) >= big.length));
    // Small requests sent after the big one has been received are answered while it is parsed.
    await vi.waitFor(() => expect(picker.streams.active).toBeGreaterThan(0));
    const small = Array.from({ length: 20 }, (_, i) => {
      const s = client.open();
      s.send(requestHeaders({ ...HEADERS, 'x-request-id': `small-${i}` }));
      s.send(requestBody(`{"model":"m","prompt":"small ${i}"}`, true));
      return s;
    });
    await Promise.all(small.map((s) => s.until((x) => x.responses.length >= 2)));
    expect(bigStream.responses.length).toBe(0);
    await bigStream.until((x) => x.responses.some((r) => r.msg.request_body?.response?.body_mutation?.streamed_response?.end_of_stream === true), 15_000);
    expect(ENDPOINTS).toContain(headerValues(bigStream.responses[0]?.msg).get('x-gateway-destination-endpoint'));
    const echoed = Buffer.concat(bigStream.responses.slice(1).map((r) => r.msg.request_body?.response?.body_mutation?.streamed_response?.body ?? Buffer.alloc(0)));
    expect(echoed.equals(big)).toBe(true);
    for (const s of [...small, bigStream]) s.halfClose();
  }, 30_000);

  it('answers 503 when the subset hint matches nothing, and when it is empty', async () => {
    const body = Buffer.from('{"model":"m","prompt":"p"}');
    expect(immediateStatus(await roundTrip(body, 1, HEADERS, subsetHint(['10.9.9.9:8000'])))).toBe(503);
    expect(immediateStatus(await roundTrip(body, 1, HEADERS, subsetHint([])))).toBe(503);
  });

  it('restricts candidates to the subset: ip:port exactly, a bare ip to all its ports', async () => {
    const body = Buffer.from('{"model":"m","prompt":"p"}');
    for (let i = 0; i < 6; i++) {
      const s = await roundTrip(body, 1, HEADERS, subsetHint(['127.0.0.12:8000']));
      expect(headerValues(s.responses[0]?.msg).get('x-gateway-destination-endpoint')).toBe('127.0.0.12:8000');
    }
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const s = await roundTrip(body, 1, HEADERS, subsetHint(['127.0.0.13']));
      seen.add(headerValues(s.responses[0]?.msg).get('x-gateway-destination-endpoint') ?? '');
    }
    expect(seen).toEqual(new Set(['127.0.0.13:8000', '127.0.0.13:8001']));
  });

  it('ignores spoofed destination headers and removes the other owned headers', async () => {
    const spoof = {
      ...HEADERS,
      'x-gateway-destination-endpoint': '6.6.6.6:80',
      'x-gateway-destination-endpoint-subset': '6.6.6.6:80',
      'x-prefiller-host-port': '6.6.6.6:80',
    };
    const s = await roundTrip(Buffer.from('{"model":"m","prompt":"p"}'), 1, spoof);
    const mutation = s.responses[0]?.msg.request_headers?.response?.header_mutation;
    const dest = mutation?.set_headers?.filter((h) => h.header?.key === 'x-gateway-destination-endpoint') ?? [];
    expect(dest).toHaveLength(1);
    expect(dest[0]?.append_action).toBe('OVERWRITE_IF_EXISTS_OR_ADD');
    expect(ENDPOINTS).toContain(dest[0]?.header?.raw_value?.toString());
    expect(mutation?.remove_headers).toEqual(expect.arrayContaining(['x-gateway-destination-endpoint-subset', 'x-prefiller-host-port']));
  });

  it('still routes after all of the failures above, and spreads distinct prompts', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const s = await roundTrip(Buffer.from(JSON.stringify({ model: 'm', prompt: `p${i}` })), 1);
      seen.add(headerValues(s.responses[0]?.msg).get('x-gateway-destination-endpoint') ?? '');
    }
    expect(seen.size).toBeGreaterThan(1);
    // Once the data plane half-closes, every stream is released: nothing leaks.
    for (const s of opened) s.halfClose();
    await vi.waitFor(() => expect(picker.streams.active).toBe(0), { timeout: 5000 });
  });

  it('passes response bodies through chunk by chunk', async () => {
    const s = await roundTrip(Buffer.from('{"model":"m","prompt":"p","stream":true}'), 1);
    const before = s.responses.length;
    s.send({ response_headers: { headers: { headers: [{ key: 'content-type', raw_value: Buffer.from('text/event-stream') }] } } });
    await s.until((x) => x.responses.length === before + 1);
    expect(s.responses.at(-1)?.msg.response).toBe('response_headers');
    for (const [i, text] of ['data: {"a":1}\n\n', 'data: [DONE]\n\n'].entries()) {
      s.send({ response_body: { body: Buffer.from(text), end_of_stream: i === 1 } });
      await s.until((x) => x.responses.length === before + 2 + i);
      const chunk = s.responses.at(-1)?.msg.response_body?.response?.body_mutation?.streamed_response;
      expect(chunk?.body?.toString()).toBe(text);
      expect(chunk?.end_of_stream === true).toBe(i === 1);
    }
    s.halfClose();
  });

  it('reports the routing in llm_d_epp_request_total (and its deprecated twin) and the processing histograms', async () => {
    const text = await picker.metrics.registry.metrics();
    expect(text).toMatch(/llm_d_epp_request_total\{model_name="m",target_model_name="m",fairness_id="default-flow",priority="0"\} \d+/);
    expect(text).toMatch(/inference_objective_request_total\{model_name="m",target_model_name="m",priority="0"\} \d+/);
    expect(text).toMatch(/llm_d_epp_request_error_total\{model_name="",target_model_name="",fairness_id="default-flow",priority="0",error_code="BadRequest"\} \d+/);
    expect(text).toMatch(/inference_objective_request_error_total\{model_name="",target_model_name="",error_code="BadRequest"\} \d+/);
    expect(text).toMatch(/^llm_d_epp_request_processing_duration_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^inference_extension_scheduler_e2e_duration_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^llm_d_epp_scheduler_attempts_total\{status="success",target_model_name="m",endpoint_name="[abc]",namespace="",port="800[01]"\} [1-9]/m);
  });
});

describe('ext_proc BUFFERED', () => {
  it('answers headers with CONTINUE and puts the destination on the body response', async () => {
    const s = client.open();
    s.send(requestHeaders(HEADERS, false, { protocol_config: { request_body_mode: 'BUFFERED', response_body_mode: 'BUFFERED' } }));
    await s.until((x) => x.responses.length === 1);
    expect(s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers ?? []).toHaveLength(0);
    s.send(requestBody('{"model":"m","prompt":"p"}', true));
    await s.until((x) => x.responses.length === 2);
    const body = s.responses[1]?.msg.request_body?.response;
    const dest = body?.header_mutation?.set_headers?.find((h) => h.header?.key === 'x-gateway-destination-endpoint');
    expect(ENDPOINTS).toContain(dest?.header?.raw_value?.toString());
    const metadata = decodeStruct(fieldBytes(s.responses[1]?.raw ?? Buffer.alloc(0), 8)[0] ?? Buffer.alloc(0));
    expect(metadata).toEqual({ 'envoy.lb': { 'x-gateway-destination-endpoint': dest?.header?.raw_value?.toString() } });
    expect(body?.body_mutation).toBeUndefined();
    s.halfClose();
  });
});
