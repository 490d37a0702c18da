/**
 * Responses the gateway makes up itself, as Envoy's "local replies" (its own 5xx, and the picker's
 * `ImmediateResponse`): plain text by default, explicit length, and the connection closed when the
 * client's request body has not been read to the end (so nothing half-read is parsed as a new request).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderList } from './header-list.js';

/** Envoy's bodies for the local replies the gateway imitates. */
export const LOCAL_REPLY = {
  noHealthyUpstream: 'no healthy upstream',
  upstreamConnectError: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  upstreamReset: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
  upstreamTimeout: 'upstream request timeout',
  payloadTooLarge: 'Payload Too Large',
} as const;

/**
 * Answers `res` with `status`, `headers` and `body` if nothing has been sent yet; otherwise resets the
 * connection, the only signal left once a response has started (as Envoy does).
 */
export function sendLocalReply(req: IncomingMessage, res: ServerResponse, status: number, body: string | Buffer, headers = new HeaderList()): void {
  if (res.headersSent || res.writableEnded) {
    res.destroy();
    return;
  }
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  const out = headers.toForwardHeaders();
  delete out['content-length'];
  if (payload.length > 0 && out['content-type'] === undefined) out['content-type'] = 'text/plain';
  out['content-length'] = String(payload.length);
  if (!req.complete) out.connection = 'close';
  res.writeHead(status, out);
  res.end(payload);
}
