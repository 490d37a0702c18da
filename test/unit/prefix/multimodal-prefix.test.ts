import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import { ApproxPrefixMatch } from '../../../src/prefix/approx-prefix-match.js';
import { MAX_MEDIA_TOKENS_PER_REQUEST, MAX_PLACEHOLDER_TOKENS, placeholderTokens } from '../../../src/prefix/media-placeholders.js';
import { promptText } from '../../../src/prefix/prompt-text.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import type { MultimodalItem } from '../../../src/request/multimodal-item.js';
import { parseOpenAIRequest } from '../../../src/request/openai-parser.js';
import { SummarizedRequest, summarizeRequest } from '../../../src/request/request-summary.js';
import { NO_VIDEO_METADATA, parseResolution, videoMetadataOf } from '../../../src/request/video-metadata.js';
import { prefixMatchKey } from '../../../src/scheduling/prefix-match.js';
import { ApproxPrefixCacheProducer, DEFAULT_APPROX_PREFIX_CACHE_CONFIG } from '../../../src/scheduling/plugins/producers/approx-prefix-cache-producer.js';
import type { SchedulingResult } from '../../../src/scheduling/types.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';
import { pngDataUrl } from '../../helpers/images.js';

const SYSTEM = 'You are a careful visual assistant. '.repeat(40);
const image = (url: string): unknown => ({ type: 'image_url', image_url: { url } });
const video = (url: string): unknown => ({ type: 'video_url', video_url: { url } });

function chat(messages: unknown[]): LLMRequest {
  return parseOpenAIRequest('/v1/chat/completions', Buffer.from(JSON.stringify({ model: 'm', messages })));
}

function turn(media: unknown, question = 'What is shown here? Describe it in detail please.'): unknown[] {
  return [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: [media, { type: 'text', text: question }] },
  ];
}

const item = (over: Partial<MultimodalItem>): MultimodalItem => ({ modality: 'image', hash: '0123456789abcdef', width: 0, height: 0, contentChars: 0, ...over });

describe('media placeholder sizes (the reference estimator\'s defaults)', () => {
  it('images: width × height / 1024 from the header, else 640 × 360', () => {
    expect(placeholderTokens(item({}), NO_VIDEO_METADATA)).toBe(225);
    expect(placeholderTokens(item({ width: 1280, height: 720 }), NO_VIDEO_METADATA)).toBe(900);
    expect(placeholderTokens(item({ width: 10, height: 10 }), NO_VIDEO_METADATA)).toBe(1);
  });

  it('videos: ⌊duration × 2⌋ frames × tokens per frame, from the x-llm-d-video-* headers, else 10 s at 640 × 360', () => {
    const v = item({ modality: 'video' });
    expect(placeholderTokens(v, NO_VIDEO_METADATA)).toBe(20 * 225);
    expect(placeholderTokens(v, videoMetadataOf(new Map([['x-llm-d-video-duration-seconds', '5']])))).toBe(10 * 225);
    expect(placeholderTokens(v, videoMetadataOf(new Map([['x-llm-d-video-resolution', '1280x720']])))).toBe(20 * 900);
    // Source fps only matters to the strided frame mode, not the default sampled one.
    expect(placeholderTokens(v, videoMetadataOf(new Map([['x-llm-d-video-fps', '60']])))).toBe(20 * 225);
    expect(placeholderTokens(v, videoMetadataOf(new Map([['x-llm-d-video-duration-seconds', '0.2']])))).toBe(1);
    expect(placeholderTokens(v, videoMetadataOf(new Map([['x-llm-d-video-duration-seconds', '1e30']])))).toBe(MAX_PLACEHOLDER_TOKENS);
  });

  it('audio: ⌈characters / 4⌉', () => {
    expect(placeholderTokens(item({ modality: 'audio', contentChars: 10 }), NO_VIDEO_METADATA)).toBe(3);
    expect(placeholderTokens(item({ modality: 'audio', contentChars: 0 }), NO_VIDEO_METADATA)).toBe(1);
  });
});

describe('x-llm-d-video-* headers', () => {
  it('reads duration, resolution and fps; malformed or non-positive values count as not given', () => {
    expect(videoMetadataOf(new Map())).toBe(NO_VIDEO_METADATA);
    expect(videoMetadataOf(new Map([
      ['x-llm-d-video-duration-seconds', ' 12.5 '],
      ['x-llm-d-video-resolution', '1920X1080'],
      ['x-llm-d-video-fps', '29.97'],
    ]))).toEqual({ width: 1920, height: 1080, durationSeconds: 12.5, fps: 29.97 });
    expect(videoMetadataOf(new Map([
      ['x-llm-d-video-duration-seconds', '-3'],
      ['x-llm-d-video-resolution', '1920'],
      ['x-llm-d-video-fps', 'fast'],
    ]))).toEqual({ width: 0, height: 0, durationSeconds: 0, fps: 0 });
    expect(parseResolution('x1080')).toEqual([0, 0]);
    expect(parseResolution('0x5')).toEqual([0, 0]);
    expect(parseResolution(`${'9'.repeat(100)}x5`)).toEqual([0, 0]);
    expect(videoMetadataOf(new Map([['x-llm-d-video-duration-seconds', '1'.repeat(100)]])).durationSeconds).toBe(0);
  });
});

describe('prompt text with media', () => {
  it('writes each media part as a NUL and its placeholder tokens of hash, never its bytes', () => {
    const url = pngDataUrl(1280, 720, 9);
    const llm = chat(turn(image(url)));
    const t = promptText(llm, Number.POSITIVE_INFINITY);
    expect(t).not.toContain('data:image');
    const slotAt = t.indexOf('\u0000');
    const slot = /^[0-9a-f]+/.exec(t.slice(slotAt + 1));
    expect(slot?.[0]).toHaveLength(900 * 4);
    expect(t.startsWith(JSON.stringify([{ role: 'system', content: SYSTEM }]).slice(0, -1))).toBe(true);
    // A cut text is a prefix of the whole one, also when the cut falls inside a slot.
    const at = t.indexOf('\u0000') + 100;
    expect(t.startsWith(promptText(llm, at))).toBe(true);
    expect(promptText(llm, at).length).toBeGreaterThanOrEqual(at);
  });

  it('bounds the text of hostile media: huge claimed sizes and many items', () => {
    const claims = Array.from({ length: 100 }, (_, i) => image(pngDataUrl(1_000_000, 1_000_000, i)));
    const llm = chat([{ role: 'user', content: claims }]);
    expect(placeholderTokens({ modality: 'image', hash: 'h', width: 1_000_000, height: 1_000_000, contentChars: 0 }, NO_VIDEO_METADATA)).toBe(MAX_PLACEHOLDER_TOKENS);
    const t = promptText(llm, Number.POSITIVE_INFINITY);
    expect(t.length).toBeLessThan(MAX_MEDIA_TOKENS_PER_REQUEST * 4 + 10_000);
    // 64 items hashed, the rest written as a bare marker; the budget runs out on the third image.
    expect(t.split('\u0000')).toHaveLength(101);
    const summary = summarizeRequest('/v1/chat/completions', Buffer.from(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: claims }] })), 1 << 22);
    expect(summary.promptUtf8Bytes).toBe(Buffer.byteLength(t));
    expect(summary.multimodalItems).toHaveLength(64);
  });

  it('the off-loop summary agrees, and a video with x-llm-d-video-* headers is re-sized from the body', () => {
    const messages = turn(video('https://example.com/v.mp4'));
    const body = Buffer.from(JSON.stringify({ model: 'm', messages }));
    const llm = chat(messages);
    const summarized = new SummarizedRequest(summarizeRequest('/v1/chat/completions', body, 1 << 22), body);
    expect(promptText(summarized, 1 << 20)).toBe(promptText(llm, 1 << 20));
    const meta = videoMetadataOf(new Map([['x-llm-d-video-duration-seconds', '60']]));
    const long = promptText(summarized, 1 << 20, meta);
    expect(long).toBe(promptText(llm, 1 << 20, meta));
    expect(long.length - promptText(llm, 1 << 20).length).toBe((120 - 20) * 225 * 4);
  });
});

describe('approx-prefix-cache-producer with media', () => {
  const blockBytes = 64 * 4;
  const producer = (): ApproxPrefixCacheProducer => new ApproxPrefixCacheProducer('p', { ...DEFAULT_APPROX_PREFIX_CACHE_CONFIG, autoTune: false, blockSizeTokens: 64 });
  const pool = [endpoint(0), endpoint(1), endpoint(2)];

  function produce(p: ApproxPrefixCacheProducer, llm: LLMRequest, headers: ReadonlyMap<string, string> = new Map()): { match: ApproxPrefixMatch; request: ReturnType<typeof schedulingRequest> } {
    const request = schedulingRequest({ llm, headers });
    p.produce(request, pool);
    const match = request.state.get(prefixMatchKey('p'));
    if (!(match instanceof ApproxPrefixMatch)) throw new Error('no match');
    return { match, request };
  }

  const blocks = (m: ApproxPrefixMatch): string[] => {
    const out: string[] = [];
    for (let i = 0; i < m.hashes.length; i += 2) out.push(`${m.hashes[i]}:${m.hashes[i + 1]}`);
    return out;
  };

  function routedTo(e: Endpoint): SchedulingResult {
    return { primaryProfileName: 'default', profileResults: new Map([['default', { targets: [e] }]]) };
  }

  it('same image → same block hashes; a different image → the same blocks before it and different ones from it on', () => {
    const p = producer();
    const a = blocks(produce(p, chat(turn(image(pngDataUrl(640, 480, 1))))).match);
    const a2 = blocks(produce(p, chat(turn(image(pngDataUrl(640, 480, 1))))).match);
    const b = blocks(produce(p, chat(turn(image(pngDataUrl(640, 480, 2))))).match);
    expect(a2).toEqual(a);
    expect(b).toHaveLength(a.length);
    const text = promptText(chat(turn(image(pngDataUrl(640, 480, 1)))), Number.POSITIVE_INFINITY);
    const firstWithImage = Math.floor(text.indexOf('\u0000') / blockBytes);
    expect(b.slice(0, firstWithImage)).toEqual(a.slice(0, firstWithImage));
    for (let i = firstWithImage; i < a.length; i++) expect(b[i]).not.toBe(a[i]);
  });

  it('an image URL and the same image inline are different items; the image weighs its placeholder tokens, not its bytes', () => {
    const p = producer();
    const huge = `data:image/png;base64,${'A'.repeat(2 * 1024 * 1024)}`;
    const { match } = produce(p, chat(turn(image(huge))));
    // 225 placeholder tokens plus ~1.5k characters of text: far below 2 MB / 256 bytes = 8192 blocks.
    expect(match.totalBlocks).toBeLessThan(12);
    expect(blocks(produce(p, chat(turn(image('https://x/cat.png')))).match)).not.toEqual(blocks(match));
  });

  it('a returning conversation with the same image matches the blocks its first turn left on the endpoint', () => {
    const p = producer();
    const first = turn(image(pngDataUrl(800, 600, 3)));
    const r1 = produce(p, chat(first));
    p.preRequest(r1.request, routedTo(pool[1] as Endpoint), new Map());
    const second = [...first, { role: 'assistant', content: 'A red bicycle leaning on a wall.' }, { role: 'user', content: 'What colour is the wall?' }];
    const r2 = produce(p, chat(second));
    // Every full block of the first turn but the last (which the message's closing JSON continues) is held by e1 only.
    expect(r2.match.matchedBlocks(pool[1] as Endpoint)).toBeGreaterThanOrEqual(r1.match.totalBlocks - 1);
    expect(r2.match.matchedBlocks(pool[0] as Endpoint)).toBe(0);
    // The same conversation with another image shares only the text before it.
    const other = produce(p, chat([...turn(image(pngDataUrl(800, 600, 4))), ...second.slice(2)]));
    expect(other.match.matchedBlocks(pool[1] as Endpoint)).toBeLessThan(r1.match.totalBlocks / 2);
  });

  it('x-llm-d-video-* headers size the video: a longer one has more blocks, and text after it hashes differently', () => {
    const p = producer();
    const messages = turn(video('https://example.com/talk.mp4'));
    const plain = produce(p, chat(messages)).match;
    const short = produce(p, chat(messages), new Map([['x-llm-d-video-duration-seconds', '2']])).match;
    const wide = produce(p, chat(messages), new Map([['x-llm-d-video-resolution', '1280x720']])).match;
    expect(short.totalBlocks).toBeLessThan(plain.totalBlocks);
    expect(wide.totalBlocks).toBeGreaterThan(plain.totalBlocks);
    expect(blocks(short).at(-1)).not.toBe(blocks(plain).at(-1));
    // The same headers give the same hashes.
    expect(blocks(produce(p, chat(messages), new Map([['x-llm-d-video-duration-seconds', '2']])).match)).toEqual(blocks(short));
  });
});
