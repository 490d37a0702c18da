/**
 * How many prompt tokens an image, video or audio clip stands for in the prefix estimate: the
 * defaults of the reference's tokenizer-free estimator (llm-d-router v0.10 `tokenizer/mm_estimate.go`,
 * used by the approximate prefix producer through the auto-created `token-producer`):
 *
 * - image: ⌊width × height / 1024⌋, with the size read from an inline image's header, else 640 × 360
 *   (225 tokens);
 * - video: frames × tokens per frame, frames = ⌊duration × 2⌋ (sampled at 2 fps; duration from
 *   `x-llm-d-video-duration-seconds`, else 10 s), tokens per frame = ⌊width × height / 1024⌋ (size
 *   from `x-llm-d-video-resolution`, else 640 × 360): 4500 tokens by default. `x-llm-d-video-fps` only
 *   matters to the reference's strided frame mode, which needs the token producer's `estimate`
 *   configuration (not offered here: see the README);
 * - audio: ⌈content characters / 4⌉.
 *
 * Every count is at least 1 and at most MAX_PLACEHOLDER_TOKENS (ours: an image header or a header value
 * can claim any size; tokens past the default `maxPrefixTokensToMatch` are never hashed anyway), and a
 * request's media together stand for at most MAX_MEDIA_TOKENS_PER_REQUEST (prompt-text.ts), so the
 * text written for them stays bounded whatever a client claims.
 */
import type { MultimodalItem } from '../request/multimodal-item.js';
import type { VideoMetadata } from '../request/video-metadata.js';
import { CHARS_PER_TOKEN } from './constants.js';

export const DEFAULT_MEDIA_WIDTH = 640;
export const DEFAULT_MEDIA_HEIGHT = 360;
export const PIXELS_PER_TOKEN = 1024;
export const DEFAULT_VIDEO_SECONDS = 10;
export const VIDEO_SAMPLE_FPS = 2;
/** The default `maxPrefixTokensToMatch` (131,072): more than any image or video a model server accepts. */
export const MAX_PLACEHOLDER_TOKENS = 1 << 17;
/** All media of one request: 1 MiB of hashed text. */
export const MAX_MEDIA_TOKENS_PER_REQUEST = 1 << 18;

function clamp(tokens: number): number {
  if (!(tokens >= 1)) return 1;
  return tokens > MAX_PLACEHOLDER_TOKENS ? MAX_PLACEHOLDER_TOKENS : Math.floor(tokens);
}

function pixelTokens(width: number, height: number): number {
  const w = width > 0 && height > 0 ? width : DEFAULT_MEDIA_WIDTH;
  const h = width > 0 && height > 0 ? height : DEFAULT_MEDIA_HEIGHT;
  return clamp(Math.floor((w * h) / PIXELS_PER_TOKEN));
}

/** Placeholder tokens of `item`, videos sized by `video` (see the module doc). */
export function placeholderTokens(item: MultimodalItem, video: VideoMetadata): number {
  switch (item.modality) {
    case 'image':
      return pixelTokens(item.width, item.height);
    case 'video': {
      const seconds = video.durationSeconds > 0 ? video.durationSeconds : DEFAULT_VIDEO_SECONDS;
      return clamp(Math.floor(seconds * VIDEO_SAMPLE_FPS) * pixelTokens(video.width, video.height));
    }
    case 'audio':
      return clamp(Math.ceil(item.contentChars / CHARS_PER_TOKEN));
  }
}
