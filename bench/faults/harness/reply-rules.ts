/**
 * Envoy's rules for what an ext_proc server may answer, as the fake Envoy checks them on every
 * reply (reliability.md §1.5, §1.9): valid header names and values, one form per value, few
 * set_headers, the destination header equal to the `envoy.lb` metadata and one of the configured
 * endpoints, owned headers removed and never echoed, body chunks ≤ 64 KiB reassembling byte-exact.
 */
import { DESTINATION_HEADER, DESTINATION_METADATA_NAMESPACE, OWNED_REQUEST_HEADERS } from '../../../src/extproc/headers.js';
import type { ProcessingResponse__Output } from '../../../src/extproc/proto.js';
import type { HeaderPairs } from './messages.js';

/** Most set_headers a routing answer may carry (plan row 18). */
export const MAX_SET_HEADERS = 4;
/** Envoy's guidance for a StreamedBodyResponse chunk. */
export const MAX_BODY_CHUNK = 64 * 1024;

const HEADER_NAME = /^:?[a-z0-9!#$%&'*+.^_`|~-]+$/;
const HOST_PORT = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\]):\d{1,5}$/i;

type Mutation = NonNullable<NonNullable<NonNullable<ProcessingResponse__Output['request_headers']>['response']>['header_mutation']>;
type ValueOption = NonNullable<Mutation['set_headers']>[number];

function valueOf(o: ValueOption): string {
  const raw = o.header?.raw_value;
  return raw !== undefined && raw.length > 0 ? raw.toString('latin1') : (o.header?.value ?? '');
}

/** Violations of the header rules in one mutation (names, values, both forms, count). */
export function mutationViolations(mutation: Mutation | undefined, maxSet = MAX_SET_HEADERS): string[] {
  const out: string[] = [];
  const set = mutation?.set_headers ?? [];
  if (set.length > maxSet) out.push(`${set.length} set_headers (> ${maxSet})`);
  for (const o of set) {
    const key = o.header?.key ?? '';
    if (!HEADER_NAME.test(key)) out.push(`invalid header name ${JSON.stringify(key.slice(0, 40))}`);
    if ((o.header?.raw_value?.length ?? 0) > 0 && (o.header?.value ?? '') !== '') out.push(`header ${key} has both value and raw_value`);
    if (/[\r\n\0]/.test(valueOf(o))) out.push(`header ${key} value has CR, LF or NUL`);
  }
  for (const name of mutation?.remove_headers ?? []) if (!HEADER_NAME.test(name)) out.push(`invalid removed header name ${JSON.stringify(name.slice(0, 40))}`);
  return out;
}

/** What the client sent, for the checks that depend on it. */
export interface Expectation {
  /** Configured endpoints (`ip:port`): the destination must be one of them. */
  readonly endpoints: ReadonlySet<string>;
  /** The request headers sent: owned ones must be removed and their values never echoed. */
  readonly sentHeaders?: HeaderPairs;
  /** The request body sent (undefined for a header-only request): it must come back byte-exact. */
  readonly body?: Buffer;
}

/** A routed request phase, as read from its responses. */
export interface RoutedAnswer {
  readonly destination: string;
  readonly echoed: Buffer | undefined;
  readonly violations: readonly string[];
}

/** The routing answer (request-headers response) among `responses`, if any. */
export function headerAnswer(responses: readonly ProcessingResponse__Output[]): ProcessingResponse__Output | undefined {
  return responses.find((r) => r.request_headers !== undefined);
}

/** The immediate response among `responses`, if any. */
export function immediateStatus(responses: readonly ProcessingResponse__Output[]): number | undefined {
  const r = responses.find((m) => m.immediate_response !== undefined);
  return r === undefined ? undefined : (r.immediate_response?.status?.code ?? 0);
}

/** The request body's streamed answer is complete (end_of_stream seen). */
export function requestBodyDone(responses: readonly ProcessingResponse__Output[]): boolean {
  return responses.some((r) => r.request_body?.response?.body_mutation?.streamed_response?.end_of_stream === true);
}

/**
 * Checks a request phase's responses: the header answer (destination rules, mutation rules, owned
 * headers) and, when a body was sent, the streamed body (chunk sizes, byte-exact echo).
 */
export function checkRoutedPhase(responses: readonly ProcessingResponse__Output[], exp: Expectation): RoutedAnswer {
  const violations: string[] = [];
  const answer = headerAnswer(responses);
  const common = answer?.request_headers?.response;
  if (answer === undefined || common === undefined) return { destination: '', echoed: undefined, violations: ['no request-headers answer'] };
  const mutation = common.header_mutation;
  violations.push(...mutationViolations(mutation));
  const dest = (mutation?.set_headers ?? []).filter((o) => o.header?.key === DESTINATION_HEADER);
  const destination = dest.length === 1 && dest[0] !== undefined ? valueOf(dest[0]) : '';
  if (dest.length !== 1) violations.push(`${dest.length} destination headers`);
  else if (dest[0]?.append_action !== 'OVERWRITE_IF_EXISTS_OR_ADD' && dest[0]?.append_action !== undefined) violations.push(`destination append_action ${String(dest[0]?.append_action)}`);
  const meta = answer.dynamic_metadata?.fields?.[DESTINATION_METADATA_NAMESPACE]?.structValue?.fields?.[DESTINATION_HEADER]?.stringValue;
  if (meta !== destination) violations.push(`destination header ${destination} != envoy.lb metadata ${String(meta)}`);
  if (!HOST_PORT.test(destination)) violations.push(`destination ${JSON.stringify(destination.slice(0, 60))} is not ip:port`);
  if (!exp.endpoints.has(destination)) violations.push(`destination ${destination.slice(0, 60)} is not a configured endpoint`);
  if (common.clear_route_cache !== true) violations.push('clear_route_cache not set');
  // Owned headers: removed when sent, never set from the client's value.
  const sent = new Map<string, string[]>();
  for (const [k, v] of exp.sentHeaders ?? []) {
    const key = k.toLowerCase();
    sent.set(key, [...(sent.get(key) ?? []), typeof v === 'string' ? v : v.toString('latin1')]);
  }
  const removed = new Set(mutation?.remove_headers ?? []);
  for (const h of OWNED_REQUEST_HEADERS) if (sent.has(h) && !removed.has(h)) violations.push(`owned header ${h} not removed`);
  for (const o of mutation?.set_headers ?? []) {
    const key = o.header?.key ?? '';
    if (OWNED_REQUEST_HEADERS.includes(key)) violations.push(`owned header ${key} set`);
    const clientValues = sent.get(key) ?? [];
    if (key === DESTINATION_HEADER && clientValues.includes(valueOf(o)) && !exp.endpoints.has(valueOf(o))) violations.push('spoofed destination honoured');
  }
  // The body, byte-exact, in chunks Envoy accepts.
  let echoed: Buffer | undefined;
  if (exp.body !== undefined) {
    const parts: Buffer[] = [];
    let ended = false;
    for (const r of responses) {
      const streamed = r.request_body?.response?.body_mutation?.streamed_response;
      if (streamed === undefined) continue;
      if (ended) violations.push('request body chunk after end_of_stream');
      const b = streamed.body ?? Buffer.alloc(0);
      if (b.length > MAX_BODY_CHUNK) violations.push(`request body chunk of ${b.length} bytes (> ${MAX_BODY_CHUNK})`);
      parts.push(b);
      if (streamed.end_of_stream === true) ended = true;
    }
    echoed = Buffer.concat(parts);
    if (!ended) violations.push('request body not ended');
    else if (!echoed.equals(exp.body)) violations.push(`forwarded body differs (${echoed.length} vs ${exp.body.length} bytes)`);
  }
  return { destination, echoed, violations };
}

/** Checks an immediate response: an error status and valid headers. */
export function checkImmediate(responses: readonly ProcessingResponse__Output[]): string[] {
  const r = responses.find((m) => m.immediate_response !== undefined)?.immediate_response;
  if (r === undefined) return ['no immediate response'];
  const out = mutationViolations(r.headers, 8);
  const code = r.status?.code ?? 0;
  if (code < 400 || code > 599) out.push(`immediate status ${code}`);
  return out;
}

/** The response body's streamed answer has ended (cheap: no bytes are joined). */
export function responseBodyDone(responses: readonly ProcessingResponse__Output[], from = 0): boolean {
  for (let i = responses.length - 1; i >= from; i--) if (responses[i]?.response_body?.response?.body_mutation?.streamed_response?.end_of_stream === true) return true;
  return false;
}

/** The response-phase body the server streamed back (response_body streamed_response chunks). */
export function responseBodyEcho(responses: readonly ProcessingResponse__Output[]): { readonly bytes: Buffer; readonly ended: boolean; readonly maxChunk: number } {
  const parts: Buffer[] = [];
  let ended = false;
  let maxChunk = 0;
  for (const r of responses) {
    const s = r.response_body?.response?.body_mutation?.streamed_response;
    if (s === undefined) continue;
    const b = s.body ?? Buffer.alloc(0);
    maxChunk = Math.max(maxChunk, b.length);
    parts.push(b);
    if (s.end_of_stream === true) ended = true;
  }
  return { bytes: Buffer.concat(parts), ended, maxChunk };
}
