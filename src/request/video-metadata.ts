/**
 * Per-request video properties from llm-d's `x-llm-d-video-*` request headers (llm-d-router v0.10
 * `metadata/consts.go`), which size a video's placeholder tokens in the prefix estimate:
 * `x-llm-d-video-duration-seconds` (float seconds), `x-llm-d-video-resolution` (`WIDTHxHEIGHT`, `x` or
 * `X`) and `x-llm-d-video-fps` (source frames per second). A missing, malformed or non-positive value
 * leaves its field 0 ("not given"), so the estimator falls back per field, as in the reference. They
 * apply to every video of the request.
 */

export const VIDEO_DURATION_HEADER = 'x-llm-d-video-duration-seconds';
export const VIDEO_RESOLUTION_HEADER = 'x-llm-d-video-resolution';
export const VIDEO_FPS_HEADER = 'x-llm-d-video-fps';

/** 0 in a field means not given. */
export interface VideoMetadata {
  readonly width: number;
  readonly height: number;
  readonly durationSeconds: number;
  readonly fps: number;
}

export const NO_VIDEO_METADATA: VideoMetadata = Object.freeze({ width: 0, height: 0, durationSeconds: 0, fps: 0 });

// Header values are client-controlled: anything longer is not a number anyone meant.
const MAX_VALUE_CHARS = 32;
const FLOAT = /^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INT = /^\d+$/;

function positiveFloat(text: string | undefined): number {
  if (text === undefined) return 0;
  const t = text.trim();
  if (t.length > MAX_VALUE_CHARS || !FLOAT.test(t)) return 0;
  const v = Number(t);
  return Number.isFinite(v) && v > 0 ? v : 0;
}

function positiveInt(text: string): number {
  const t = text.trim();
  if (t.length > MAX_VALUE_CHARS || !INT.test(t)) return 0;
  const v = Number(t);
  return Number.isSafeInteger(v) && v > 0 ? v : 0;
}

/** `WIDTHxHEIGHT` → [width, height], or [0, 0] when malformed. */
export function parseResolution(text: string | undefined): readonly [number, number] {
  if (text === undefined || text.length > 2 * MAX_VALUE_CHARS) return [0, 0];
  const at = text.search(/[xX]/);
  if (at <= 0) return [0, 0];
  const w = positiveInt(text.slice(0, at));
  const h = positiveInt(text.slice(at + 1));
  return w > 0 && h > 0 ? [w, h] : [0, 0];
}

/** The video metadata of a request's (lower-case) headers; NO_VIDEO_METADATA when none is given. */
export function videoMetadataOf(headers: ReadonlyMap<string, string>): VideoMetadata {
  const duration = headers.get(VIDEO_DURATION_HEADER);
  const resolution = headers.get(VIDEO_RESOLUTION_HEADER);
  const fps = headers.get(VIDEO_FPS_HEADER);
  if (duration === undefined && resolution === undefined && fps === undefined) return NO_VIDEO_METADATA;
  const [width, height] = parseResolution(resolution);
  return { width, height, durationSeconds: positiveFloat(duration), fps: positiveFloat(fps) };
}

/** True when `meta` gives any property. */
export function hasVideoMetadata(meta: VideoMetadata): boolean {
  return meta.width > 0 || meta.durationSeconds > 0 || meta.fps > 0;
}
