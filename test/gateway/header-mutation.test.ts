import { describe, expect, it } from 'vitest';
import type { HeaderMutation__Output } from '../../src/generated/envoy/service/ext_proc/v3/HeaderMutation.js';
import { HeaderList } from '../../src/gateway/header-list.js';
import { applyHeaderMutation, InvalidHeaderMutationError } from '../../src/gateway/header-mutation.js';

function list(...pairs: [string, string][]): HeaderList {
  const headers = new HeaderList();
  for (const [k, v] of pairs) headers.add(k, v);
  return headers;
}

function raw(key: string, value: string, extra: Partial<NonNullable<HeaderMutation__Output['set_headers']>[number]> = {}): NonNullable<HeaderMutation__Output['set_headers']>[number] {
  return { header: { key, raw_value: Buffer.from(value, 'latin1') }, ...extra };
}

describe('applyHeaderMutation', () => {
  it('overwrites by default, from raw_value or value', () => {
    const headers = list(['x-a', '1'], ['x-a', '2'], ['x-b', 'old']);
    const result = applyHeaderMutation(headers, { set_headers: [raw('X-A', 'new'), { header: { key: 'x-b', value: 'v' } }] }, 'request');
    expect(headers.entries()).toEqual([['x-a', 'new'], ['x-b', 'v']]);
    expect([...result.setNames]).toEqual(['x-a', 'x-b']);
  });

  it('honours append and every append_action', () => {
    const headers = list(['x-a', '1'], ['x-c', '3']);
    applyHeaderMutation(
      headers,
      {
        set_headers: [
          raw('x-a', '2', { append: { value: true } }),
          raw('x-b', 'absent', { append_action: 'ADD_IF_ABSENT' }),
          raw('x-a', 'ignored', { append_action: 'ADD_IF_ABSENT' }),
          raw('x-c', 'over', { append_action: 'OVERWRITE_IF_EXISTS' }),
          raw('x-d', 'never', { append_action: 'OVERWRITE_IF_EXISTS' }),
          raw('x-e', 'new', { append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }),
          raw('x-c', 'again', { append_action: 'APPEND_IF_EXISTS_OR_ADD' }),
        ],
      },
      'request',
    );
    expect(headers.entries()).toEqual([['x-a', '1'], ['x-c', 'again'], ['x-a', '2'], ['x-b', 'absent'], ['x-e', 'new']]);
  });

  it('ignores and counts what Envoy forbids by default, and applies the rest', () => {
    const headers = list([':authority', 'gw'], [':method', 'POST'], [':path', '/a'], ['host', 'h'], ['x-envoy-x', '1']);
    const result = applyHeaderMutation(
      headers,
      {
        set_headers: [raw('host', 'evil'), raw(':authority', 'evil'), raw(':method', 'GET'), raw(':scheme', 'https'), raw('x-envoy-upstream', 'x'), raw(':path', '/b')],
        remove_headers: [':path', 'host', 'x-envoy-x'],
      },
      'request',
    );
    expect(result.rejected).toBe(8);
    expect(headers.get(':path')).toBe('/b');
    expect(headers.get(':authority')).toBe('gw');
    expect(headers.get('host')).toBe('h');
    expect(headers.get('x-envoy-x')).toBe('1');
  });

  it('lets a response mutation set a valid :status only', () => {
    const headers = list([':status', '200']);
    expect(applyHeaderMutation(headers, { set_headers: [raw(':status', '429')] }, 'response').rejected).toBe(0);
    expect(headers.get(':status')).toBe('429');
    expect(applyHeaderMutation(headers, { set_headers: [raw(':status', '42')] }, 'response').rejected).toBe(1);
    expect(headers.get(':status')).toBe('429');
  });

  it('removes headers', () => {
    const headers = list(['x-a', '1'], ['x-b', '2'], ['x-a', '3']);
    applyHeaderMutation(headers, { remove_headers: ['X-A'] }, 'request');
    expect(headers.entries()).toEqual([['x-b', '2']]);
  });

  it('fails on both value and raw_value, or invalid names and values', () => {
    const headers = new HeaderList();
    expect(() => applyHeaderMutation(headers, { set_headers: [{ header: { key: 'x', value: 'a', raw_value: Buffer.from('b') } }] }, 'request')).toThrow(InvalidHeaderMutationError);
    expect(() => applyHeaderMutation(headers, { set_headers: [raw('bad name', 'v')] }, 'request')).toThrow(InvalidHeaderMutationError);
    expect(() => applyHeaderMutation(headers, { set_headers: [raw('x', 'a\r\nb')] }, 'request')).toThrow(InvalidHeaderMutationError);
    expect(() => applyHeaderMutation(headers, { remove_headers: ['x y'] }, 'request')).toThrow(InvalidHeaderMutationError);
  });
});

describe('HeaderList', () => {
  it('forwards without pseudo or hop-by-hop headers, including those named by connection', () => {
    const headers = HeaderList.fromRaw([':path', '/', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Accept', 'a', 'accept', 'b']);
    expect(headers.toForwardHeaders()).toEqual({ accept: ['a', 'b'] });
  });
});
