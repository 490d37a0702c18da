import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, payloadTooLarge, type ApiError } from './api-error.js';

/** Largest request body the mock accepts; larger bodies get 413. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Reads the whole request body, rejecting with a 413 {@link ApiError} as soon as it passes `limit`
 * (by `content-length` or by bytes received). After a rejection the rest of the body is read and
 * discarded rather than the connection cut, so a client still uploading sees the 413 instead of a
 * broken pipe; the server's `requestTimeout` bounds how long that can last.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(payloadTooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        req.resume();
        reject(payloadTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('request closed before its body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Parses a body as a JSON object; anything else is a 400 {@link ApiError}. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`Invalid JSON body: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/** Sends a complete JSON response (no-op if the client is already gone). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, 'application/json', JSON.stringify(body));
}

/** Sends a complete response with a known length (no-op if the client is already gone). */
export function sendText(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Sends an {@link ApiError} in vLLM's error shape. */
export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, err.toBody());
}
