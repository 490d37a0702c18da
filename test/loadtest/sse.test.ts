import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/loadtest/sse.js';

function feed(chunks: readonly string[]): string[] {
  const p = new SseParser();
  return [...chunks.flatMap((c) => p.push(c)), ...p.finish()];
}

describe('SseParser', () => {
  const body = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';

  it('yields each event once, however the body is split', () => {
    const expected = ['{"a":1}', '{"b":2}', '[DONE]'];
    expect(feed([body])).toEqual(expected);
    for (let cut = 1; cut < body.length; cut++) expect(feed([body.slice(0, cut), body.slice(cut)])).toEqual(expected);
    expect(feed([...body])).toEqual(expected);
  });

  it('accepts CRLF and CR line ends, a CRLF split across chunks counting once', () => {
    expect(feed(['data: x\r\n\r\ndata: y\r\r'])).toEqual(['x', 'y']);
    expect(feed(['data: x\r', '\n\r', '\ndata: y\r\n\r\n'])).toEqual(['x', 'y']);
  });

  it('joins multi-line data, ignores comments and other fields, drops one leading space only', () => {
    expect(feed([': keep-alive\n\nevent: message\nid: 7\ndata:  two\ndata:three\nretry: 5\n\n'])).toEqual([' two\nthree']);
  });

  it('returns an event the body ended without a blank line after, and nothing for empty events', () => {
    expect(feed(['\n\n: c\n\ndata: last'])).toEqual(['last']);
    expect(feed([''])).toEqual([]);
  });
});
