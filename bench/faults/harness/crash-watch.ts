/**
 * Counts what would crash a process running the picker in-process: uncaught exceptions and unhandled
 * rejections raised while a scenario runs (the picker must contain every failure to its stream).
 */
export class CrashWatch {
  readonly errors: string[] = [];
  readonly #onError = (err: unknown): void => {
    this.errors.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
  };

  constructor() {
    process.on('uncaughtException', this.#onError);
    process.on('unhandledRejection', this.#onError);
  }

  get count(): number {
    return this.errors.length;
  }

  stop(): void {
    process.off('uncaughtException', this.#onError);
    process.off('unhandledRejection', this.#onError);
  }
}
