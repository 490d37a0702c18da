/**
 * Pixel dimensions of a base64-encoded PNG, GIF or JPEG read from its header, as the reference's
 * token estimator reads them (Go's `image.DecodeConfig` over those three formats) to size an image's
 * placeholder tokens. Only the first MAX_HEADER_BASE64_CHARS characters are decoded, so a hostile
 * payload costs a bounded amount of work; a JPEG whose frame header lies beyond them (a very large
 * EXIF block) reads as undecodable, and the caller falls back to its default resolution.
 */

/** Base64 characters decoded at most (48 KiB of image bytes). */
export const MAX_HEADER_BASE64_CHARS = 64 * 1024;

export interface ImageDimensions {
  readonly width: number;
  readonly height: number;
}

const DATA_URL_MARKER = 'base64,';

/** Dimensions of a `data:image/…;base64,` URL's image, or undefined when it is not one or cannot be read. */
export function dataUrlImageDimensions(url: string): ImageDimensions | undefined {
  if (!url.startsWith('data:image/')) return undefined;
  // The media-type part of a data URL is short; a marker far in is payload, not a header.
  const at = url.slice(0, 256 + DATA_URL_MARKER.length).indexOf(DATA_URL_MARKER);
  if (at < 0) return undefined;
  return base64ImageDimensions(url, at + DATA_URL_MARKER.length);
}

/** Dimensions of the image whose base64 encoding starts at `start` in `text`, or undefined. */
export function base64ImageDimensions(text: string, start = 0): ImageDimensions | undefined {
  let end = Math.min(text.length, start + MAX_HEADER_BASE64_CHARS);
  end -= (end - start) % 4;
  const bytes = Buffer.from(text.slice(start, end), 'base64');
  return pngDimensions(bytes) ?? gifDimensions(bytes) ?? jpegDimensions(bytes);
}

function positive(width: number, height: number): ImageDimensions | undefined {
  return width > 0 && height > 0 ? { width, height } : undefined;
}

function pngDimensions(b: Buffer): ImageDimensions | undefined {
  // Signature, then the IHDR chunk: length, "IHDR", width, height (big-endian).
  if (b.length < 24 || b.readUInt32BE(0) !== 0x89504e47 || b.readUInt32BE(4) !== 0x0d0a1a0a || b.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return positive(b.readUInt32BE(16), b.readUInt32BE(20));
}

function gifDimensions(b: Buffer): ImageDimensions | undefined {
  if (b.length < 10) return undefined;
  const magic = b.toString('latin1', 0, 6);
  if (magic !== 'GIF87a' && magic !== 'GIF89a') return undefined;
  return positive(b.readUInt16LE(6), b.readUInt16LE(8));
}

function isStartOfFrame(marker: number): boolean {
  // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegDimensions(b: Buffer): ImageDimensions | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1] as number;
    // Fill bytes and standalone markers (RSTn, TEM) carry no length.
    if (marker === 0xff) {
      i++;
      continue;
    }
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const length = b.readUInt16BE(i + 2);
    if (length < 2) return undefined;
    if (isStartOfFrame(marker)) {
      // Segment: length, precision, height, width.
      if (i + 9 > b.length) return undefined;
      return positive(b.readUInt16BE(i + 7), b.readUInt16BE(i + 5));
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    i += 2 + length;
  }
  return undefined;
}
