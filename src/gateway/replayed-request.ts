/**
 * A client request whose body the gateway has already read (to route on its `model`), replayed to an
 * Exchange as if it were arriving: same method, path and headers (body length made explicit, since
 * the body is now known), the body as one chunk, then the end. The original request is complete, so
 * local replies keep the connection open.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/**
 * The request an Exchange reads: `headers` overrides (lower-case names; '' removes) are applied to
 * the original's, and `content-length` is set to the body's length.
 */
export function replayRequest(original: IncomingMessage, body: Buffer, headers: ReadonlyMap<string, string>): IncomingMessage {
  const overrides = new Map(headers);
  overrides.set('content-length', String(body.length));
  overrides.set('transfer-encoding', '');
  const rawHeaders: string[] = [];
  const raw = original.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (!overrides.has(name.toLowerCase())) rawHeaders.push(name, raw[i + 1] ?? '');
  }
  const parsed: Record<string, string | string[] | undefined> = { ...original.headers };
  for (const [name, value] of overrides) {
    if (value === '') {
      delete parsed[name];
      continue;
    }
    rawHeaders.push(name, value);
    parsed[name] = value;
  }
  const stream = Readable.from(body.length > 0 ? [body] : [], { objectMode: false });
  // The Exchange reads only these members of an IncomingMessage: the stream events, pause/resume and
  // the fields assigned here.
  return Object.assign(stream, { rawHeaders, headers: parsed, url: original.url, method: original.method, complete: true }) as unknown as IncomingMessage;
}
