/**
 * An incremental parser of a server-sent-events body as OpenAI-compatible servers send it
 * (`data: <json>\n\n` per event, `data: [DONE]` last).
 */

/**
 * Feed decoded text in chunks of any size; each call returns the `data` of the events that the chunk
 * completed, in order. Contract (the SSE spec's rules that matter here): lines end in `\n`, `\r\n` or
 * `\r` (a `\r\n` split across chunks counts once); an event ends at a blank line; several `data:`
 * lines of one event are joined with `\n`; one space after the colon is dropped; comments (`:`) and
 * other fields (`event:`, `id:`, `retry:`) are ignored; an event without `data` lines yields nothing.
 * {@link finish} returns an event the body ended without a blank line after.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private pendingCr = false;

  /** Parses `text` and returns the data of every event it completed. */
  push(text: string): string[] {
    const out: string[] = [];
    let s = text;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (s.startsWith('\n')) s = s.slice(1);
    }
    this.buffer += s;
    let start = 0;
    for (;;) {
      const lf = this.buffer.indexOf('\n', start);
      const cr = this.buffer.indexOf('\r', start);
      if (lf < 0 && cr < 0) break;
      const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      let next = end + 1;
      if (end === cr) {
        if (end + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[end + 1] === '\n') next = end + 2;
      }
      this.line(this.buffer.slice(start, end), out);
      start = next;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** The end of the body: returns the data of an event left open, if any. */
  finish(): string[] {
    const out: string[] = [];
    if (this.buffer !== '') this.line(this.buffer, out);
    this.buffer = '';
    this.pendingCr = false;
    this.line('', out);
    return out;
  }

  private line(line: string, out: string[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push(this.data.join('\n'));
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.data.push(value);
  }
}
