/**
 * Progress on stderr: a redrawn bar when stderr is a terminal, otherwise plain lines (one at the start
 * and end of each stage, and one per quarter of a long stage) that logs can keep.
 */
import type { Clock } from './clock.js';

/** Stage progress sink. Calls come in order: `begin`, any number of `advance`, `end`. */
export interface Progress {
  begin(stage: string, total: number): void;
  advance(failed: boolean): void;
  end(): void;
}

/** Where progress goes: `process.stderr` or a test double. */
export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** Discards everything (tests, `--quiet`). */
export const silentProgress: Progress = { begin() {}, advance() {}, end() {} };

const BAR_WIDTH = 30;
const REDRAW_MS = 100;

abstract class Counting implements Progress {
  protected stage = '';
  protected total = 0;
  protected done = 0;
  protected failed = 0;
  protected startedAt = 0;
  constructor(
    protected readonly sink: ProgressSink,
    protected readonly clock: Clock,
  ) {}
  begin(stage: string, total: number): void {
    this.stage = stage;
    this.total = total;
    this.done = 0;
    this.failed = 0;
    this.startedAt = this.clock.now();
    this.started();
  }
  advance(failed: boolean): void {
    this.done++;
    if (failed) this.failed++;
    this.advanced();
  }
  protected seconds(): string {
    return ((this.clock.now() - this.startedAt) / 1000).toFixed(1);
  }
  protected errors(): string {
    return `${this.failed} error${this.failed === 1 ? '' : 's'}`;
  }
  abstract end(): void;
  protected abstract started(): void;
  protected abstract advanced(): void;
}

/** Plain lines for logs and pipes. */
export class LineProgress extends Counting {
  private quarter = 0;
  protected started(): void {
    this.quarter = 0;
    this.sink.write(`loadtest: ${this.stage}: ${this.total} requests\n`);
  }
  protected advanced(): void {
    if (this.total < 40) return;
    const q = Math.floor((this.done * 4) / this.total);
    if (q > this.quarter && q < 4) {
      this.quarter = q;
      this.sink.write(`loadtest: ${this.stage}: ${this.done}/${this.total}, ${this.errors()}\n`);
    }
  }
  end(): void {
    this.sink.write(`loadtest: ${this.stage}: ${this.done}/${this.total} done in ${this.seconds()} s, ${this.errors()}\n`);
  }
}

/** A bar redrawn in place (at most every 100 ms) on a terminal. */
export class BarProgress extends Counting {
  private drawnAt = Number.NEGATIVE_INFINITY;
  protected started(): void {
    this.drawnAt = Number.NEGATIVE_INFINITY;
    this.draw();
  }
  protected advanced(): void {
    if (this.clock.now() - this.drawnAt >= REDRAW_MS || this.done === this.total) this.draw();
  }
  end(): void {
    this.draw();
    this.sink.write('\n');
  }
  private draw(): void {
    this.drawnAt = this.clock.now();
    const filled = this.total === 0 ? BAR_WIDTH : Math.min(BAR_WIDTH, Math.round((this.done / this.total) * BAR_WIDTH));
    const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
    this.sink.write(`\r\x1b[2K${this.stage.padEnd(13)} [${bar}] ${this.done}/${this.total}  ${this.errors()}  ${this.seconds()} s`);
  }
}

/** The bar on a terminal, plain lines otherwise. */
export function createProgress(sink: ProgressSink, clock: Clock): Progress {
  return sink.isTTY === true ? new BarProgress(sink, clock) : new LineProgress(sink, clock);
}
