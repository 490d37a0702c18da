/**
 * One request phase (headers, body, the picker's answer), then RST_STREAM as Envoy ends it, with the
 * answer classified and checked against Envoy's rules.
 */
import { bodyChunks, FULL_DUPLEX, requestHeaders, type HeaderPairs } from './messages.js';
import { checkImmediate, checkRoutedPhase, headerAnswer, immediateStatus, requestBodyDone } from './reply-rules.js';
import type { StreamOpener } from './stream-record.js';

export interface PhaseRequest {
  readonly headers: HeaderPairs;
  /** undefined: a header-only request (end_of_stream on the headers). */
  readonly body: Buffer | undefined;
  /** Request body message size (0 = one message). */
  readonly chunkBytes?: number;
  readonly endpoints: ReadonlySet<string>;
  readonly timeoutMs?: number;
}

export interface PhaseResult {
  /** `routed`, `immediate` (an error answer), `closed` (ended without either), `timeout`. */
  readonly kind: 'routed' | 'immediate' | 'closed' | 'timeout' | 'no-connection';
  readonly status: number | undefined;
  /** The immediate response's body text (`inference error: …`). */
  readonly reason: string;
  readonly destination: string;
  readonly violations: readonly string[];
  /** Stream open → answer, ms. */
  readonly ms: number;
  /** performance.now() when the stream was opened (the request cannot have been decided before). */
  readonly sentAt: number;
  readonly grpcStatus: string | undefined;
}

export async function requestPhase(opener: StreamOpener, req: PhaseRequest): Promise<PhaseResult> {
  const s = opener.open();
  if (s === undefined) return { kind: 'no-connection', status: undefined, reason: '', destination: '', violations: ['no usable connection'], ms: 0, sentAt: performance.now(), grpcStatus: undefined };
  const headerOnly = req.body === undefined;
  s.send(requestHeaders(req.headers, headerOnly, { protocol_config: FULL_DUPLEX }));
  if (req.body !== undefined) for (const m of bodyChunks(req.body, req.chunkBytes ?? 0)) s.send(m);
  const done = await s.until(
    (x) => immediateStatus(x.responses) !== undefined || (headerAnswer(x.responses) !== undefined && (headerOnly || requestBodyDone(x.responses))) || x.closed,
    req.timeoutMs ?? 10_000,
  );
  const ms = (s.responseAt.at(-1) ?? performance.now()) - s.openedAt;
  const status = immediateStatus(s.responses);
  let result: PhaseResult;
  if (status !== undefined) {
    const text = s.responses.find((r) => r.immediate_response !== undefined)?.immediate_response?.body?.toString('utf8') ?? '';
    result = { kind: 'immediate', status, reason: text, destination: '', violations: checkImmediate(s.responses), ms, sentAt: s.openedAt, grpcStatus: s.grpcStatus };
  } else if (headerAnswer(s.responses) !== undefined && done) {
    const routed = checkRoutedPhase(s.responses, { endpoints: req.endpoints, sentHeaders: req.headers, ...(req.body === undefined ? {} : { body: req.body }) });
    result = { kind: 'routed', status: undefined, reason: '', destination: routed.destination, violations: routed.violations, ms, sentAt: s.openedAt, grpcStatus: s.grpcStatus };
  } else {
    result = { kind: s.closed ? 'closed' : 'timeout', status: undefined, reason: `grpc-status ${String(s.grpcStatus)} ${s.grpcMessage} rst ${String(s.rstCode)}`, destination: '', violations: [], ms, sentAt: s.openedAt, grpcStatus: s.grpcStatus };
  }
  s.reset();
  return result;
}

/** `routed`, or the immediate status, or the failure kind: one word per outcome, for tallies. */
export function outcomeKey(r: PhaseResult): string {
  return r.kind === 'immediate' ? String(r.status) : r.kind;
}
