import { describe, expect, it } from 'vitest';
import { HeaderList, HpackDecoder, HpackError } from '../../../src/h2/hpack-decoder.js';
import { encodeHeaderBlock } from '../../../src/h2/hpack-encoder.js';
import { huffmanDecode, huffmanEncode } from '../../../src/h2/hpack-huffman.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function fields(list: HeaderList): [string, string][] {
  return Array.from({ length: list.count }, (_, i) => [list.names[i] as string, list.values[i] as string]);
}

describe('HPACK decoder (RFC 7541 Appendix C)', () => {
  it('decodes C.3: three requests without Huffman coding, with the dynamic table', () => {
    const d = new HpackDecoder(4096);
    const out = new HeaderList();
    d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'), out, 1 << 16);
    expect(fields(out)).toEqual([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']]);
    expect(d.tableSize).toBe(57);
    d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865'), out, 1 << 16);
    expect(fields(out)).toEqual([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']]);
    expect(d.tableSize).toBe(110);
    d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'), out, 1 << 16);
    expect(fields(out)).toEqual([[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']]);
    expect(d.tableSize).toBe(164);
  });

  it('decodes C.4: the same requests Huffman-coded', () => {
    const d = new HpackDecoder(4096);
    const out = new HeaderList();
    d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'), out, 1 << 16);
    expect(out.get(':authority')).toBe('www.example.com');
    d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'), out, 1 << 16);
    expect(out.get('cache-control')).toBe('no-cache');
    d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'), out, 1 << 16);
    expect(out.get('custom-key')).toBe('custom-value');
    expect(d.tableSize).toBe(164);
  });

  it('evicts the oldest entries to stay within the table size, and honours size updates', () => {
    const d = new HpackDecoder(100);
    const out = new HeaderList();
    // Two 50-byte entries (name 8 + value 10 + 32) fill it; a third evicts the first.
    const lit = (name: string, value: string): Buffer => Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
    d.decode(Buffer.concat([lit('aaaaaaaa', '0123456789'), lit('bbbbbbbb', '0123456789')]), out, 1 << 16);
    expect(d.tableSize).toBe(100);
    d.decode(Buffer.concat([lit('cccccccc', '0123456789'), Buffer.from([0xbe])]), out, 1 << 16); // 62 = newest
    expect(fields(out)).toEqual([['cccccccc', '0123456789'], ['cccccccc', '0123456789']]);
    d.decode(Buffer.from([0xbf]), out, 1 << 16); // 63 = the older one left: bbbbbbbb
    expect(out.get('bbbbbbbb')).toBe('0123456789');
    expect(() => d.decode(Buffer.from([0xc0]), out, 1 << 16)).toThrow(HpackError); // 64: evicted
    d.decode(Buffer.from([0x20]), out, 1 << 16); // size update to 0 empties the table
    expect(d.tableSize).toBe(0);
    expect(() => d.decode(Buffer.from([0x3f, 0x46]), out, 1 << 16)).toThrow(/exceeds the advertised/); // 31 + 70 = 101 > 100
    expect(() => d.decode(Buffer.from([0x82, 0x20]), out, 1 << 16)).toThrow(/after a header field/);
  });

  it('rejects malformed blocks: index 0, truncated strings, endless integers, bad Huffman padding, EOS', () => {
    const d = new HpackDecoder(4096);
    const out = new HeaderList();
    expect(() => d.decode(Buffer.from([0x80]), out, 1 << 16)).toThrow(/index 0/);
    expect(() => d.decode(Buffer.from([0x00, 0x05, 0x61]), out, 1 << 16)).toThrow(/longer than the header block/);
    expect(() => d.decode(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), out, 1 << 16)).toThrow(HpackError);
    // 'a' is 00011 (5 bits): padding with zeros is invalid, with ones valid.
    expect(() => d.decode(Buffer.from([0x00, 0x81, 0x1f, 0x81, 0x18]), out, 1 << 16)).toThrow(/padding/);
    d.decode(Buffer.from([0x00, 0x81, 0x1f, 0x81, 0x1f]), out, 1 << 16);
    expect(fields(out)).toEqual([['a', 'a']]);
    // 4 bytes of ones hold the 30-bit EOS code.
    expect(() => d.decode(Buffer.from([0x00, 0x81, 0x1f, 0x84, 0xff, 0xff, 0xff, 0xff]), out, 1 << 16)).toThrow(/EOS/);
  });

  it('flags a header list over the limit but keeps decoding so the table stays in step', () => {
    const d = new HpackDecoder(4096);
    const out = new HeaderList();
    const big = 'x'.repeat(100);
    const block = Buffer.concat([Buffer.from([0x40, 0x01, 0x61, 0x64]), Buffer.from(big), Buffer.from([0x40, 0x01, 0x62, 0x01, 0x62])]);
    d.decode(block, out, 120);
    expect(out.tooLarge).toBe(true);
    expect(d.tableSize).toBe(133 + 34);
    d.decode(Buffer.from([0xbe]), out, 1 << 16);
    expect(fields(out)).toEqual([['b', 'b']]);
  });
});

describe('Huffman code', () => {
  it('round-trips every byte value and matches the RFC example', () => {
    const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    const encoded = huffmanEncode(all);
    expect(huffmanDecode(encoded, 0, encoded.length)).toBe(all);
    expect(huffmanEncode('www.example.com').toString('hex')).toBe('f1e3c2e5f23a6ba0ab90f4ff');
  });
});

describe('HPACK encoder', () => {
  it('indexes exact static entries and writes literals the decoder reads back', () => {
    const block = encodeHeaderBlock([[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', '0']]);
    expect(block[0]).toBe(0x88);
    const out = new HeaderList();
    new HpackDecoder(4096).decode(block, out, 1 << 16);
    expect(fields(out)).toEqual([[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', '0']]);
    const long = encodeHeaderBlock([['x', 'y'.repeat(300)]]);
    new HpackDecoder(4096).decode(long, out, 1 << 16);
    expect(out.get('x')).toHaveLength(300);
  });
});
