/**
 * One HTTP exchange as Envoy drives its ext_proc stream in FULL_DUPLEX_STREAMED mode: request_headers
 * (with protocol_config), request_body chunks (the last with end_of_stream), then — after the
 * picker's answer — response_headers and response_body chunks paced like streamed tokens, then
 * RST_STREAM(CANCEL) even on success (envoy#22727); never a half-close. Every answer is checked
 * against Envoy's rules. A fault variant replaces the exchange with a malformed or cancelled one.
 */
import { bodyChunks, FULL_DUPLEX, postHeaders, requestBody, requestHeaders, responseBody, responseHeaders, sseChunk, type HeaderPairs } from './messages.js';
import { checkImmediate, checkRoutedPhase, headerAnswer, immediateStatus, requestBodyDone, responseBodyDone, responseBodyEcho } from './reply-rules.js';
import type { StreamRecord } from './stream-record.js';
import { pace } from './wait.js';

/** Faults from plan rows 9–22 that a soak mixes in. */
export type ExchangeFault = 'bad-json' | 'type-confusion' | 'protocol-violation' | 'cancel-mid-body' | 'cancel-mid-response' | 'spoofed-headers' | 'header-flood' | 'unknown-model';

export const EXCHANGE_FAULTS: readonly ExchangeFault[] = ['bad-json', 'type-confusion', 'protocol-violation', 'cancel-mid-body', 'cancel-mid-response', 'spoofed-headers', 'header-flood', 'unknown-model'];

export interface ExchangeSpec {
  readonly seq: number;
  readonly body: Buffer;
  /** Request body message size (0 = one message). */
  readonly chunkBytes: number;
  /** Response body chunks (SSE token events) after the routing answer. */
  readonly responseChunks: number;
  readonly chunkIntervalMs: number;
  readonly endpoints: ReadonlySet<string>;
  /** Bound on the whole exchange. */
  readonly timeoutMs: number;
  readonly fault?: ExchangeFault;
}

export interface ExchangeOutcome {
  /** The exchange went as expected (for a fault: the expected error, and nothing else). */
  readonly ok: boolean;
  readonly reason: string;
  /** Stream open → routing answer, ms (NaN when not routed). */
  readonly decisionMs: number;
  /** The server or the connection ended the stream while we were still using it. */
  readonly cut: boolean;
  readonly destination: string;
  readonly immediateStatus: number | undefined;
  /** Response-phase length, ms. */
  readonly responseMs: number;
  /** The stream ended by itself (trailers) or was cut: no reset of ours was needed. */
  readonly endedByServer: boolean;
}

const EXPECTED_STATUS: Partial<Record<ExchangeFault, number>> = { 'bad-json': 400, 'type-confusion': 400, 'protocol-violation': 500 };

function outcome(s: StreamRecord, ok: boolean, reason: string, extra: Partial<ExchangeOutcome> = {}): ExchangeOutcome {
  return { ok, reason, decisionMs: Number.NaN, cut: s.cut, destination: '', immediateStatus: immediateStatus(s.responses), responseMs: 0, endedByServer: s.endedByServer, ...extra };
}

function headersFor(spec: ExchangeSpec): HeaderPairs {
  const id = `x-${spec.seq}`;
  switch (spec.fault) {
    case 'spoofed-headers':
      return postHeaders('/v1/completions', id, [
        ['x-gateway-destination-endpoint', '6.6.6.6:80'],
        ['x-gateway-destination-endpoint', '[::1]:1'],
        ['x-gateway-destination-endpoint-subset', '6.6.6.6:80'],
        ['x-prefiller-host-port', '6.6.6.6:80'],
        ['x-data-parallel-rank', '7'],
      ]);
    case 'header-flood':
      return postHeaders('/v1/completions', id, Array.from({ length: 90 }, (_, i) => [`x-flood-${i}`, `v${'z'.repeat(i * 7)}\r\nx-injected: 1`] as const));
    default:
      return postHeaders('/v1/completions', id);
  }
}

function bodyFor(spec: ExchangeSpec): Buffer {
  switch (spec.fault) {
    case 'bad-json':
      return Buffer.from(`{"model":"m","prompt":"truncated ${spec.seq}`);
    case 'type-confusion':
      return Buffer.from(`{"model":5,"prompt":{"seq":${spec.seq}}}`);
    case 'unknown-model':
      return Buffer.from(JSON.stringify({ model: `no-such-model-${spec.seq}`, prompt: 'p', max_tokens: 4 }));
    default:
      return spec.body;
  }
}

/** Runs one exchange on `stream`; never rejects. */
export async function runExchange(stream: StreamRecord, spec: ExchangeSpec): Promise<ExchangeOutcome> {
  const s = stream;
  const deadline = performance.now() + spec.timeoutMs;
  const left = (): number => Math.max(1, deadline - performance.now());
  const headers = headersFor(spec);
  const body = bodyFor(spec);

  if (spec.fault === 'protocol-violation') {
    s.send({ ...requestBody(body, true), protocol_config: FULL_DUPLEX });
    await s.until((x) => immediateStatus(x.responses) !== undefined || x.closed, left());
    const status = immediateStatus(s.responses);
    await s.until((x) => x.closed, Math.min(1000, left()));
    s.reset();
    return outcome(s, status === 500 && checkImmediate(s.responses).length === 0, status === 500 ? 'expected 500' : `got ${String(status)}`);
  }

  s.send(requestHeaders(headers, false, { protocol_config: FULL_DUPLEX }));
  const chunks = bodyChunks(body, spec.chunkBytes);
  if (spec.fault === 'cancel-mid-body') {
    const half = Math.max(1, Math.floor(chunks.length / 2));
    for (const m of chunks.slice(0, half)) s.send(chunks.length === 1 ? requestBody(body.subarray(0, body.length >> 1), false) : m);
    s.reset();
    return outcome(s, !s.cut, 'cancelled mid-body');
  }
  for (const m of chunks) s.send(m);

  const answered = await s.until((x) => (headerAnswer(x.responses) !== undefined && requestBodyDone(x.responses)) || immediateStatus(x.responses) !== undefined || x.closed, left());
  const status = immediateStatus(s.responses);
  const expected = spec.fault === undefined ? undefined : EXPECTED_STATUS[spec.fault];
  if (expected !== undefined || status !== undefined) {
    // The picker ends the stream after an immediate response: let it, rather than race its reset.
    await s.until((x) => x.closed, Math.min(1000, left()));
    s.reset();
    const violations = status === undefined ? [] : checkImmediate(s.responses);
    const ok = status === expected && violations.length === 0;
    return outcome(s, ok, ok ? `expected ${String(expected)}` : `status ${String(status)} (expected ${String(expected ?? 'routing')}) ${violations.join('; ')}`);
  }
  if (!answered) {
    s.reset();
    return outcome(s, false, s.closed ? `stream closed before the routing answer (grpc-status ${String(s.grpcStatus)} ${s.grpcMessage}, rst ${String(s.rstCode)})` : 'no routing answer in time');
  }
  const answerIndex = s.responses.findIndex((r) => r.request_headers !== undefined);
  const decisionMs = (s.responseAt[answerIndex] ?? Number.NaN) - s.openedAt;
  const routed = checkRoutedPhase(s.responses, { endpoints: spec.endpoints, sentHeaders: headers, body });
  if (routed.violations.length > 0) {
    s.reset();
    return outcome(s, false, routed.violations.join('; '), { decisionMs, destination: routed.destination });
  }

  // Response phase: headers, then token chunks paced like a model server streaming.
  const r0 = performance.now();
  const before = s.responses.length;
  s.send(responseHeaders());
  const sent: Buffer[] = [];
  const cancelAfter = spec.fault === 'cancel-mid-response' ? 1 : -1;
  for (let i = 0; i < spec.responseChunks; i++) {
    if (s.closed || performance.now() > deadline) break;
    if (spec.chunkIntervalMs > 0) await pace(spec.chunkIntervalMs);
    const chunk = sseChunk(spec.seq, i);
    sent.push(chunk);
    const last = i === spec.responseChunks - 1;
    s.send(responseBody(chunk, last));
    if (i + 1 === cancelAfter) {
      s.reset();
      return outcome(s, !s.cut, 'cancelled mid-response', { decisionMs, destination: routed.destination, responseMs: performance.now() - r0 });
    }
  }
  const echoedAll = await s.until((x) => responseBodyDone(x.responses, before) || x.closed, left());
  const responseMs = performance.now() - r0;
  const cut = s.cut;
  const echo = responseBodyEcho(s.responses.slice(before));
  const headersAnswered = s.responses.slice(before).some((r) => r.response_headers !== undefined);
  const expectedBytes = Buffer.concat(sent);
  let reason = 'ok';
  if (cut) reason = `response stream cut after ${responseMs.toFixed(0)} ms (rst ${String(s.rstCode)}, ${s.error ?? ''})`;
  else if (!echoedAll || sent.length < spec.responseChunks) reason = `response phase incomplete (${sent.length}/${spec.responseChunks} chunks sent, echo ended ${String(echo.ended)})`;
  else if (!headersAnswered) reason = 'response headers not answered';
  else if (!echo.bytes.equals(expectedBytes)) reason = `response body not passed through byte-exact (${echo.bytes.length} vs ${expectedBytes.length} bytes)`;
  const endedByServer = s.endedByServer || s.closed;
  // As Envoy does once the HTTP exchange is over, even on success.
  s.reset();
  return { ok: reason === 'ok', reason, decisionMs, cut, destination: routed.destination, immediateStatus: undefined, responseMs, endedByServer };
}
