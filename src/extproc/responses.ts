/**
 * Builders for ProcessingResponse messages, and the one place where picker errors become HTTP
 * statuses. Header values always go in `raw_value` (Envoy rejects a header with both forms set) and
 * with an explicit OVERWRITE action, so a client's copy of any header the picker sets is replaced.
 */
import type { EppError, ErrorCode } from '../errors/errors.js';
import type { HeaderValueOption, ProcessingResponse } from './proto.js';
import { DESTINATION_HEADER, DESTINATION_METADATA_NAMESPACE, DESTINATION_SCORES_KEY, DROPPED_REASON_HEADER } from './headers.js';
import { SPLIT_FORM, splitStreamedBody, type SplitFormCarrier } from './streamed-body-codec.js';

/** Largest body chunk sent to the data plane (the reference's margin under 64 KiB proxy limits). */
export const BODY_CHUNK_BYTES = 62_000;

/** HTTP status for each error code. The reference's quirks kept: scheduling failure → 429. */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  BadRequest: 400,
  PayloadTooLarge: 413,
  ResourceExhausted: 429,
  Internal: 500,
  ServiceUnavailable: 503,
  DeadlineExceeded: 503,
};

export function setHeader(key: string, value: string): HeaderValueOption {
  return { header: { key, raw_value: Buffer.from(value, 'latin1') }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}

/**
 * `dynamic_metadata` carrying the destination under `envoy.lb` (Struct values use camelCase keys on
 * the wire) and, when given, the endpoint scores as a struct of `ip:port` → number under
 * `x-gateway-destination-endpoint-scores` (`--emit-endpoint-scores`).
 */
export function destinationMetadata(destination: string, scores?: ReadonlyMap<string, number>): ProcessingResponse['dynamic_metadata'] {
  const fields: Record<string, { stringValue: string } | { structValue: { fields: Record<string, { numberValue: number }> } }> = { [DESTINATION_HEADER]: { stringValue: destination } };
  if (scores !== undefined && scores.size > 0) {
    const byEndpoint: Record<string, { numberValue: number }> = {};
    for (const [endpoint, score] of scores) byEndpoint[endpoint] = { numberValue: score };
    fields[DESTINATION_SCORES_KEY] = { structValue: { fields: byEndpoint } };
  }
  return { fields: { [DESTINATION_METADATA_NAMESPACE]: { structValue: { fields } } } };
}

/** The routing answer to the request headers (full-duplex mode, or a body-less request). */
export function routedHeadersResponse(destination: string, setHeaders: HeaderValueOption[], removeHeaders: string[], scores?: ReadonlyMap<string, number>): ProcessingResponse {
  return {
    request_headers: {
      response: {
        clear_route_cache: true,
        header_mutation: { set_headers: [setHeader(DESTINATION_HEADER, destination), ...setHeaders], remove_headers: removeHeaders },
      },
    },
    dynamic_metadata: destinationMetadata(destination, scores),
  };
}

/** The routing answer on the body response (BUFFERED mode): headers ride on the body's CommonResponse. */
export function routedBufferedBodyResponse(destination: string, setHeaders: HeaderValueOption[], removeHeaders: string[], body: Buffer | undefined, scores?: ReadonlyMap<string, number>): ProcessingResponse {
  return {
    request_body: {
      response: {
        clear_route_cache: true,
        header_mutation: { set_headers: [setHeader(DESTINATION_HEADER, destination), ...setHeaders], remove_headers: removeHeaders },
        ...(body === undefined ? {} : { body_mutation: { body } }),
      },
    },
    dynamic_metadata: destinationMetadata(destination, scores),
  };
}

/** A plain CONTINUE answer to request or response headers, optionally removing headers. */
export function continueHeaders(direction: 'request' | 'response', removeHeaders: string[] = []): ProcessingResponse {
  const response = removeHeaders.length === 0 ? {} : { header_mutation: { remove_headers: removeHeaders } };
  return direction === 'request' ? { request_headers: { response } } : { response_headers: { response } };
}

/** A CONTINUE answer to a body chunk in a non-duplex mode, optionally replacing the chunk. */
export function continueBody(direction: 'request' | 'response', body?: Buffer): ProcessingResponse {
  const response = body === undefined ? {} : { body_mutation: { body } };
  return direction === 'request' ? { request_body: { response } } : { response_body: { response } };
}

/**
 * Splits `body` into StreamedBodyResponse messages of at most BODY_CHUNK_BYTES (views, no copies);
 * the last carries `endOfStream`. An empty body yields one empty message.
 */
export function streamedBody(direction: 'request' | 'response', body: Buffer, endOfStream: boolean): ProcessingResponse[] {
  const out: ProcessingResponse[] = [];
  let offset = 0;
  do {
    const end = Math.min(offset + BODY_CHUNK_BYTES, body.length);
    const last = end >= body.length;
    const chunk = body.subarray(offset, end);
    const eos = last && endOfStream;
    const response = { body_mutation: { streamed_response: { body: chunk, end_of_stream: eos } } };
    const message: ProcessingResponse = direction === 'request' ? { request_body: { response } } : { response_body: { response } };
    // The codec writes a non-empty chunk as head + the chunk itself (no copy): see streamed-body-codec.ts.
    if (chunk.length > 0) (message as SplitFormCarrier)[SPLIT_FORM] = splitStreamedBody(direction, chunk, eos);
    out.push(message);
    offset = end;
  } while (offset < body.length);
  return out;
}

export function trailersResponse(direction: 'request' | 'response'): ProcessingResponse {
  return direction === 'request' ? { request_trailers: {} } : { response_trailers: {} };
}

/** An error as Envoy's local reply: status, `inference error: <Code> - <message>` body, and the drop reason header for dropped requests. */
export function immediateError(err: EppError): ProcessingResponse {
  const headers = [setHeader('content-type', 'text/plain; charset=utf-8')];
  if (err.dropReason !== undefined) headers.push(setHeader(DROPPED_REASON_HEADER, err.dropReason));
  return {
    immediate_response: {
      status: { code: STATUS_BY_CODE[err.code] },
      headers: { set_headers: headers },
      body: Buffer.from(`inference error: ${err.code} - ${err.message}`, 'utf8'),
      details: `epp_${err.code}`,
    },
  };
}
