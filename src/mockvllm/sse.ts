import type { ServerResponse } from 'node:http';

/**
 * A server-sent-events response in OpenAI's framing: `data: <json>\n\n` per event, `data: [DONE]\n\n`
 * last. Writes respect backpressure, and every method turns into a no-op once `signal` aborts (the
 * client went away), so a disconnect mid-stream never throws.
 */
export class SseStream {
  constructor(
    private readonly res: ServerResponse,
    private readonly signal: AbortSignal,
  ) {}

  open(): void {
    this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  }

  /** Sends one event; resolves false when the client is gone and generation should stop. */
  send(payload: unknown): Promise<boolean> {
    return this.write(`data: ${JSON.stringify(payload)}\n\n`);
  }

  /** Sends one named event (Anthropic's framing: `event: <name>` before the data line). */
  event(name: string, payload: unknown): Promise<boolean> {
    return this.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
  }

  /** Ends the response without a sentinel (Anthropic streams end with `message_stop`). */
  end(): void {
    if (!this.signal.aborted && !this.res.destroyed) this.res.end();
  }

  /** Sends the `[DONE]` sentinel and ends the response. */
  async done(): Promise<void> {
    if (await this.write('data: [DONE]\n\n')) this.res.end();
  }

  private async write(frame: string): Promise<boolean> {
    if (this.signal.aborted || this.res.destroyed) return false;
    if (!this.res.write(frame)) await this.drained();
    return !this.signal.aborted;
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      this.res.on('drain', done);
      this.signal.addEventListener('abort', done);
    });
  }
}
