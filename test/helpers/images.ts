/** Minimal image headers (enough for a dimension reader) as base64 and data URLs, for multimodal tests. */

/** A PNG signature and IHDR chunk for a `width` × `height` image, then `salt` bytes (distinct content). */
export function pngBase64(width: number, height: number, salt = 0): string {
  const b = Buffer.alloc(40);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b.writeUInt32BE(salt, 33);
  return b.toString('base64');
}

export function pngDataUrl(width: number, height: number, salt = 0): string {
  return `data:image/png;base64,${pngBase64(width, height, salt)}`;
}

export function gifBase64(width: number, height: number): string {
  const b = Buffer.alloc(16);
  b.write('GIF89a', 0, 'latin1');
  b.writeUInt16LE(width, 6);
  b.writeUInt16LE(height, 8);
  return b.toString('base64');
}

/** SOI, APP0 segments of `app0Bytes` payload in all, then a baseline SOF0 frame header. */
export function jpegBase64(width: number, height: number, app0Bytes = 14): string {
  const segments: Buffer[] = [];
  for (let left = app0Bytes; left > 0; left -= 60000) {
    const n = Math.min(left, 60000);
    const seg = Buffer.alloc(4 + n);
    seg.writeUInt16BE(0xffe0, 0);
    seg.writeUInt16BE(n + 2, 2);
    segments.push(seg);
  }
  const app0 = Buffer.concat(segments);
  const sof = Buffer.alloc(19);
  sof.writeUInt16BE(0xffc0, 0);
  sof.writeUInt16BE(17, 2);
  sof[4] = 8;
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof]).toString('base64');
}
