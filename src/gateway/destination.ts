/**
 * The routing decision as the picker hands it to the data plane (GIE proposal 004): dynamic metadata
 * `envoy.lb` → `x-gateway-destination-endpoint` and a request header of the same name, both carrying
 * `ip:port` or an ordered comma list of them (IPv6 bracketed, `[::1]:8000`). Like Envoy's ORIGINAL_DST
 * cluster, only literal IP addresses with a port count; the first valid entry wins.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Struct__Output } from '../extproc/proto.js';
import type { Value__Output } from '../generated/google/protobuf/Value.js';

/** Header (and metadata key) naming the chosen endpoint. */
export const DESTINATION_HEADER = 'x-gateway-destination-endpoint';
/** Dynamic-metadata namespace of the destination. */
export const DESTINATION_METADATA_NAMESPACE = 'envoy.lb';

/** One upstream endpoint. `address` is the canonical `ip:port` / `[ipv6]:port` text. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly address: string;
}

/** Parses one `ip:port` or `[ipv6]:port`; anything else (host names, no port, port 0) is undefined. */
export function parseEndpoint(text: string): Endpoint | undefined {
  const trimmed = text.trim();
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(trimmed) ?? /^([^:[\]]+):(\d{1,5})$/.exec(trimmed);
  if (match === null) return undefined;
  const host = match[1] ?? '';
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) return undefined;
  const bracketed = trimmed.startsWith('[');
  if (bracketed ? !isIPv6(host) : !isIPv4(host)) return undefined;
  return { host, port, address: bracketed ? `[${host}]:${port}` : `${host}:${port}` };
}

/** The first valid endpoint of a comma list, as ORIGINAL_DST-style routing would use it. */
export function firstValidEndpoint(list: string): Endpoint | undefined {
  for (const part of list.split(',')) {
    const endpoint = parseEndpoint(part);
    if (endpoint !== undefined) return endpoint;
  }
  return undefined;
}

/**
 * The destination string in `envoy.lb` dynamic metadata, if present: a string value, or (tolerated)
 * a list of strings, joined with commas.
 */
export function destinationFromMetadata(metadata: Struct__Output | undefined): string | undefined {
  const namespace = metadata?.fields?.[DESTINATION_METADATA_NAMESPACE]?.structValue;
  const value = namespace?.fields?.[DESTINATION_HEADER];
  return value === undefined ? undefined : stringOf(value);
}

function stringOf(value: Value__Output): string | undefined {
  if (value.stringValue !== undefined) return value.stringValue;
  const items = value.listValue?.values;
  if (items === undefined) return undefined;
  const strings = items.map((v) => v.stringValue).filter((s): s is string => s !== undefined);
  return strings.length > 0 ? strings.join(',') : undefined;
}
