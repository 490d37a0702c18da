/**
 * What multimodal items cost per request: finding and hashing the media of a parsed chat body
 * (multimodal-items.ts) and writing its prefix text (prompt-text.ts), for one inline image of
 * 270 KB (below the off-loop parse threshold: event-loop work) and of 1.3 MB (parsed on a worker),
 * and for a hostile body of 200 inline images of 1.1 MB (64 items hashed in full).
 *
 * Usage: npx tsx bench/prefix/multimodal.ts
 */
import { promptText } from '../../src/prefix/prompt-text.js';
import { extractMultimodalItems } from '../../src/request/multimodal-items.js';
import type { LLMRequest } from '../../src/request/llm-request.js';

function time(label: string, n: number, fn: () => void): void {
  for (let i = 0; i < Math.min(n, 50); i++) fn();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  process.stdout.write(`| ${label} | ${(Number(process.hrtime.bigint() - t) / 1e3 / n).toFixed(1)} |\n`);
}

const chat = (content: unknown[]): Record<string, unknown> => JSON.parse(JSON.stringify({ model: 'm', messages: [{ role: 'user', content }] })) as Record<string, unknown>;
const image = (bytes: number, salt = 0): unknown => ({ type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.alloc(bytes, salt).toString('base64')}` } });
const asRequest = (body: Record<string, unknown>): LLMRequest => ({ api: 'chat-completions', model: 'm', stream: false, cacheSalt: undefined, body, bodyBytes: 0 });

process.stdout.write('| case | µs per request |\n|---|---|\n');
const small = chat([{ type: 'text', text: 'What is this?' }, image(200 * 1024)]);
time('items, one 270 KB inline image', 500, () => extractMultimodalItems('chat-completions', small));
time('items + prefix text (512 KiB), one 270 KB inline image', 500, () => promptText(asRequest(small), 512 * 1024));
const large = chat([{ type: 'text', text: 'What is this?' }, image(1024 * 1024)]);
time('items, one 1.3 MB inline image', 200, () => extractMultimodalItems('chat-completions', large));
const hostile = chat(Array.from({ length: 200 }, (_, i) => image(800 * 1024, i)));
time('items, 200 inline images of 1.1 MB (hostile)', 5, () => extractMultimodalItems('chat-completions', hostile));
