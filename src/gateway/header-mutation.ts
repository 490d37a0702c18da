/**
 * Applies an ext_proc `HeaderMutation` the way Envoy does with its default mutation rules
 * (envoy: source/extensions/filters/http/ext_proc/mutation_utils.cc, mutation_rules.proto):
 * - the processor may not set or remove `host`, `:authority`, `:scheme`, `:method` or `x-envoy-*`, and
 *   may never remove a `:` header; such mutations are silently ignored and counted as rejected;
 * - a header with both `value` and `raw_value`, or an invalid name or value, fails the whole request;
 * - `append_action` unset (or APPEND_IF_EXISTS_OR_ADD) defers to the `append` BoolValue, false by
 *   default, so a plain set overwrites.
 */
import type { HeaderMutation__Output } from '../generated/envoy/service/ext_proc/v3/HeaderMutation.js';
import type { HeaderValueOption__Output } from '../generated/envoy/config/core/v3/HeaderValueOption.js';
import type { HeaderList } from './header-list.js';

/**
 * Which message the headers belong to: the upstream request, the response to the client, or an
 * `ImmediateResponse` (where, as in Envoy, `:status` is taken from `status` rather than headers).
 */
export type MutationTarget = 'request' | 'response' | 'immediate';

/** What a mutation did: entries ignored under the rules, and the names it set. */
export interface MutationResult {
  readonly rejected: number;
  readonly setNames: ReadonlySet<string>;
}

/** A mutation Envoy would refuse outright (the request then fails with a 500). */
export class InvalidHeaderMutationError extends Error {
  override readonly name = 'InvalidHeaderMutationError';
}

// RFC 9110 token characters, lower-case only (names are lower-cased first), optional ':' prefix.
const HEADER_NAME = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;
// Node refuses to write anything else (`ERR_INVALID_CHAR`); Envoy's own check is looser.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const ROUTING_HEADERS = new Set(['host', ':authority', ':scheme', ':method']);

const EMPTY: MutationResult = { rejected: 0, setNames: new Set() };

/** Applies `mutation` to `headers` in place. Throws {@link InvalidHeaderMutationError}. */
export function applyHeaderMutation(headers: HeaderList, mutation: HeaderMutation__Output | undefined, target: MutationTarget): MutationResult {
  if (mutation === undefined) return EMPTY;
  let rejected = 0;
  const setNames = new Set<string>();
  for (const raw of mutation.remove_headers ?? []) {
    const name = raw.toLowerCase();
    if (!HEADER_NAME.test(name)) throw new InvalidHeaderMutationError(`invalid header name in remove_headers: ${JSON.stringify(raw)}`);
    if (name.startsWith(':') || ROUTING_HEADERS.has(name) || name.startsWith('x-envoy-')) {
      rejected++;
      continue;
    }
    headers.remove(name);
  }
  for (const option of mutation.set_headers ?? []) {
    const entry = readOption(option);
    if (entry === undefined) continue;
    const [name, value] = entry;
    if (!settable(name, value, target)) {
      rejected++;
      continue;
    }
    if (applySet(headers, option, name, value)) setNames.add(name);
  }
  return { rejected, setNames };
}

function readOption(option: HeaderValueOption__Output): [string, string] | undefined {
  const header = option.header;
  if (header === undefined) return undefined;
  const key = (header.key ?? '').toLowerCase();
  const text = header.value ?? '';
  const raw = header.raw_value;
  if (text.length > 0 && raw !== undefined && raw.length > 0) {
    throw new InvalidHeaderMutationError(`header ${key}: only one of value or raw_value may be set`);
  }
  const value = raw !== undefined && raw.length > 0 ? raw.toString('latin1') : text;
  if (!HEADER_NAME.test(key)) throw new InvalidHeaderMutationError(`invalid header name in set_headers: ${JSON.stringify(header.key ?? '')}`);
  if (!HEADER_VALUE.test(value)) throw new InvalidHeaderMutationError(`invalid character in the value of header ${key}`);
  return [key, value];
}

function settable(name: string, value: string, target: MutationTarget): boolean {
  if (ROUTING_HEADERS.has(name) || name.startsWith('x-envoy-')) return false;
  if (!name.startsWith(':')) return true;
  if (target === 'request') return name === ':path' && value.length > 0;
  if (target === 'response') return name === ':status' && /^[2-9]\d\d$/.test(value);
  return false;
}

/** Returns whether the header was written. */
function applySet(headers: HeaderList, option: HeaderValueOption__Output, name: string, value: string): boolean {
  switch (option.append_action ?? 'APPEND_IF_EXISTS_OR_ADD') {
    case 'APPEND_IF_EXISTS_OR_ADD':
      // A pseudo-header holds one value; appending to it can only mean replacing it.
      if (option.append?.value === true && !name.startsWith(':')) headers.add(name, value);
      else headers.set(name, value);
      return true;
    case 'ADD_IF_ABSENT':
      if (headers.has(name)) return false;
      headers.add(name, value);
      return true;
    case 'OVERWRITE_IF_EXISTS_OR_ADD':
      headers.set(name, value);
      return true;
    case 'OVERWRITE_IF_EXISTS':
      if (!headers.has(name)) return false;
      headers.set(name, value);
      return true;
  }
}
