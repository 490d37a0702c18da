import { describe, expect, it } from 'vitest';
import { base64ImageDimensions, dataUrlImageDimensions, MAX_HEADER_BASE64_CHARS } from '../../../src/request/image-dimensions.js';
import type { ApiKind, LLMRequest } from '../../../src/request/llm-request.js';
import { extractMultimodalItems, MAX_CLIENT_HASH_CHARS, MAX_HASHED_CHARS_PER_ITEM, MAX_MULTIMODAL_ITEMS, multimodalItemsOf } from '../../../src/request/multimodal-items.js';
import { parseOpenAIRequest } from '../../../src/request/openai-parser.js';
import { SummarizedRequest, summarizeRequest } from '../../../src/request/request-summary.js';
import { gifBase64, jpegBase64, pngBase64, pngDataUrl } from '../../helpers/images.js';

const chat = (...content: unknown[]): Record<string, unknown> => ({ model: 'm', messages: [{ role: 'user', content }] });
const text = { type: 'text', text: 'What is in this picture?' };
const req = (api: ApiKind, body: Record<string, unknown>): LLMRequest => ({ api, model: 'm', stream: false, cacheSalt: undefined, body, bodyBytes: 0 });

describe('multimodal items: OpenAI chat completions', () => {
  it('finds image, video and audio parts in order, with the reference modality names', () => {
    const items = extractMultimodalItems(
      'chat-completions',
      chat(
        text,
        { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
        { type: 'video_url', video_url: { url: 'https://example.com/clip.mp4' } },
        { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
        { type: 'audio_url', audio_url: { url: 'https://example.com/a.mp3' } },
      ),
    );
    expect(items.map((i) => i.modality)).toEqual(['image', 'video', 'audio', 'audio']);
    for (const i of items) expect(i.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(items.map((i) => i.hash)).size).toBe(4);
    expect(items[2]?.contentChars).toBe('UklGRg=='.length + 'wav'.length);
  });

  it('hashes the same content the same in any request and position, different content differently', () => {
    const a = extractMultimodalItems('chat-completions', chat({ type: 'image_url', image_url: { url: pngDataUrl(64, 64, 1) } }));
    const b = extractMultimodalItems('chat-completions', { messages: [{ role: 'system', content: 'x' }, { role: 'user', content: [text, { type: 'image_url', image_url: pngDataUrl(64, 64, 1) }] }] });
    const c = extractMultimodalItems('chat-completions', chat({ type: 'image_url', image_url: { url: pngDataUrl(64, 64, 2) } }));
    expect(a[0]?.hash).toBe(b[0]?.hash);
    expect(c[0]?.hash).not.toBe(a[0]?.hash);
  });

  it('reads an inline image\'s size from its header; a URL has none', () => {
    const items = extractMultimodalItems('chat-completions', chat({ type: 'image_url', image_url: { url: pngDataUrl(1280, 720) } }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }));
    expect(items.map((i) => [i.width, i.height])).toEqual([
      [1280, 720],
      [0, 0],
    ]);
  });

  it('skips malformed and non-media parts without failing', () => {
    const items = extractMultimodalItems('chat-completions', {
      messages: [
        null,
        'text',
        { role: 'user', content: 'a plain string' },
        { role: 'user', content: { type: 'image_url' } },
        {
          role: 'user',
          content: [
            null,
            7,
            [],
            { type: 'image_url' },
            { type: 'image_url', image_url: 5 },
            { type: 'image_url', image_url: { url: '' } },
            { type: 'video_url', video_url: { href: 'x' } },
            { type: 'input_audio', input_audio: { format: 'wav' } },
            { type: 'input_audio', input_audio: 'data' },
            { type: 'image', source: { data: 'x' } },
            { type: 'image_url', image_url: { url: 'https://ok' } },
          ],
        },
      ],
    });
    expect(items.map((i) => i.modality)).toEqual(['image']);
    expect(extractMultimodalItems('chat-completions', { messages: 'nope' })).toEqual([]);
    expect(extractMultimodalItems('chat-completions', {})).toEqual([]);
  });

  it('bounds items per request and the bytes hashed per item', () => {
    const many = Array.from({ length: 3 * MAX_MULTIMODAL_ITEMS }, (_, i) => ({ type: 'image_url', image_url: { url: `https://x/${i}.png` } }));
    const items = extractMultimodalItems('chat-completions', chat(...many));
    expect(items).toHaveLength(MAX_MULTIMODAL_ITEMS);
    expect(items.at(-1)?.hash).toBe(extractMultimodalItems('chat-completions', chat({ type: 'image_url', image_url: { url: `https://x/${MAX_MULTIMODAL_ITEMS - 1}.png` } }))[0]?.hash);
    // An item longer than the cap is known by its head, tail and length: a change there is seen…
    const big = 'A'.repeat(3 * MAX_HASHED_CHARS_PER_ITEM);
    const hashOf = (url: string): string | undefined => extractMultimodalItems('chat-completions', chat({ type: 'image_url', image_url: { url } }))[0]?.hash;
    const base = hashOf(`data:image/png;base64,${big}`);
    expect(hashOf(`data:image/png;base64,B${big.slice(1)}`)).not.toBe(base);
    expect(hashOf(`data:image/png;base64,${big.slice(1)}B`)).not.toBe(base);
    expect(hashOf(`data:image/png;base64,${big}AAAA`)).not.toBe(base);
    // …one in the middle is not (documented: identity is best effort beyond the cap).
    const mid = big.length / 2;
    expect(hashOf(`data:image/png;base64,${big.slice(0, mid)}B${big.slice(mid + 1)}`)).toBe(base);
  });

  it('other APIs and header-only requests have none', () => {
    expect(multimodalItemsOf(undefined)).toEqual([]);
    expect(multimodalItemsOf(req('completions', { prompt: 'x' }))).toEqual([]);
    expect(multimodalItemsOf(req('responses', { input: [{ type: 'input_image', image_url: 'https://x' }] }))).toEqual([]);
  });

  it('computes once per request and comes with the off-loop summary of a large body, without decoding it', () => {
    const body = Buffer.from(JSON.stringify(chat(text, { type: 'image_url', image_url: { url: pngDataUrl(32, 32) } })));
    const llm = parseOpenAIRequest('/v1/chat/completions', body);
    expect(multimodalItemsOf(llm)).toBe(multimodalItemsOf(llm));
    const summary = summarizeRequest('/v1/chat/completions', body, 1 << 20);
    const summarized = new SummarizedRequest(structuredClone(summary), body);
    const bodyRead = { count: 0 };
    const spy = new Proxy(summarized, {
      get(target, prop, receiver) {
        if (prop === 'body') bodyRead.count++;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    expect(multimodalItemsOf(spy)).toEqual(multimodalItemsOf(llm));
    expect(bodyRead.count).toBe(0);
  });
});

describe('multimodal items: Anthropic messages', () => {
  it('finds image blocks (URL or base64 source), also inside tool results', () => {
    const items = extractMultimodalItems('messages', {
      messages: [
        { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: pngBase64(800, 600) } }, { type: 'text', text: 'hi' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'shot', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'done' }, { type: 'image', source: { type: 'url', url: 'https://x/s.png' } }] }] },
        { role: 'user', content: [{ type: 'image', source: { type: 'base64' } }, { type: 'image' }] },
      ],
    });
    expect(items.map((i) => [i.modality, i.width, i.height])).toEqual([
      ['image', 800, 600],
      ['image', 0, 0],
    ]);
  });
});

describe('multimodal items: vLLM generate features', () => {
  it('pairs hashes with placeholder ranges per modality, ordered by offset', () => {
    const items = extractMultimodalItems('generate', {
      token_ids: [1, 2, 3],
      features: {
        mm_hashes: { video: ['v1'], image: ['i1', 'i2'], audio: ['a1'], point_cloud: ['p1'] },
        mm_placeholders: { video: [{ offset: 50, length: 10 }], image: [{ offset: 80, length: 4 }, { offset: 5, length: 4 }], point_cloud: [{ offset: 1, length: 1 }] },
      },
    });
    // audio has no ranges and point_cloud is no modality the reference knows: both skipped.
    expect(items.map((i) => [i.modality, i.hash])).toEqual([
      ['image', 'i2'],
      ['video', 'v1'],
      ['image', 'i1'],
    ]);
  });

  it('keeps short client hashes, hashes long ones, ignores malformed features', () => {
    const long = 'h'.repeat(MAX_CLIENT_HASH_CHARS + 1);
    const items = extractMultimodalItems('generate', { features: { mm_hashes: { image: [long, 3, ''] }, mm_placeholders: { image: [{ offset: 0 }, { offset: 1 }, { offset: 2 }] } } });
    expect(items).toHaveLength(1);
    expect(items[0]?.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(extractMultimodalItems('generate', { features: { mm_hashes: ['x'], mm_placeholders: {} } })).toEqual([]);
    expect(extractMultimodalItems('generate', { features: 'x' })).toEqual([]);
  });
});

describe('image dimensions from headers', () => {
  it('reads PNG, GIF and JPEG, as data URLs or bare base64', () => {
    expect(dataUrlImageDimensions(pngDataUrl(1024, 768))).toEqual({ width: 1024, height: 768 });
    expect(base64ImageDimensions(gifBase64(320, 200))).toEqual({ width: 320, height: 200 });
    expect(base64ImageDimensions(jpegBase64(1920, 1080))).toEqual({ width: 1920, height: 1080 });
    expect(dataUrlImageDimensions(`data:image/jpeg;base64,${jpegBase64(640, 480, 1000)}`)).toEqual({ width: 640, height: 480 });
  });

  it('gives up on other formats, truncated or hostile input, and frames beyond the bounded window', () => {
    expect(dataUrlImageDimensions('https://x/y.png')).toBeUndefined();
    expect(dataUrlImageDimensions('data:image/webp;base64,UklGRiQAAABXRUJQ')).toBeUndefined();
    expect(base64ImageDimensions(pngBase64(10, 10).slice(0, 12))).toBeUndefined();
    expect(base64ImageDimensions(pngBase64(0, 10))).toBeUndefined();
    expect(base64ImageDimensions('!!!not base64!!!')).toBeUndefined();
    expect(base64ImageDimensions(jpegBase64(640, 480, MAX_HEADER_BASE64_CHARS))).toBeUndefined();
    expect(dataUrlImageDimensions(`data:image/png;${'x'.repeat(1000)}base64,${pngBase64(5, 5)}`)).toBeUndefined();
  });
});
