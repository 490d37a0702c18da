/**
 * HTTP headers as Envoy holds them: an ordered list of entries with lower-case names, pseudo-headers
 * (`:method`, `:path`, `:authority`, `:scheme`, `:status`) included, repeated names kept as separate
 * entries. Values are latin1 strings, Node's lossless text form of header bytes.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { HeaderMap } from '../generated/envoy/config/core/v3/HeaderMap.js';

/** Headers that describe one connection hop; a proxy never forwards them (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'http2-settings',
  // Envoy answers `Expect: 100-continue` itself and does not pass it on.
  'expect',
]);

/** A mutable, ordered header list (see the module comment); names must be given lower-case. */
export class HeaderList {
  private list: [string, string][] = [];

  /** Builds a list from Node's `rawHeaders` (`[name, value, name, value, ...]`), lower-casing names. */
  static fromRaw(raw: readonly string[]): HeaderList {
    const headers = new HeaderList();
    for (let i = 0; i + 1 < raw.length; i += 2) headers.add((raw[i] ?? '').toLowerCase(), raw[i + 1] ?? '');
    return headers;
  }

  /** The first value of `name`, if any. */
  get(name: string): string | undefined {
    return this.list.find(([n]) => n === name)?.[1];
  }

  has(name: string): boolean {
    return this.list.some(([n]) => n === name);
  }

  /** Appends an entry, keeping any existing ones. */
  add(name: string, value: string): void {
    this.list.push([name, value]);
  }

  /** Replaces every entry of `name` with one, at the position of the first (or at the end). */
  set(name: string, value: string): void {
    const at = this.list.findIndex(([n]) => n === name);
    if (at < 0) {
      this.list.push([name, value]);
      return;
    }
    this.list[at] = [name, value];
    this.list = this.list.filter(([n], i) => i <= at || n !== name);
  }

  /** Removes every entry of `name`; returns whether there was one. */
  remove(name: string): boolean {
    const before = this.list.length;
    this.list = this.list.filter(([n]) => n !== name);
    return this.list.length !== before;
  }

  entries(): readonly (readonly [string, string])[] {
    return this.list;
  }

  /** The ext_proc form, values in `raw_value` as Envoy sends them. */
  toProto(): HeaderMap {
    return { headers: this.list.map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) };
  }

  /**
   * Node's outgoing form for the next hop: no pseudo-headers, no hop-by-hop headers (nor those the
   * `connection` header names), repeated names as arrays.
   */
  toForwardHeaders(): OutgoingHttpHeaders {
    const named = new Set((this.get('connection') ?? '').split(',').map((t) => t.trim().toLowerCase()));
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of this.list) {
      if (name.startsWith(':') || HOP_BY_HOP.has(name) || named.has(name)) continue;
      const prior = out[name];
      if (prior === undefined) out[name] = value;
      else if (Array.isArray(prior)) prior.push(value);
      else out[name] = [prior, value];
    }
    return out;
  }
}

/** Whether `name` is hop-by-hop (not forwarded, and not shown to the processor in responses). */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/** True when an HTTP/1 request carries a body: any transfer-encoding, or a non-zero content-length. */
export function requestHasBody(headers: IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '' && Number(length) !== 0;
}
