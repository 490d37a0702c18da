/** A workload that cannot be read or generated: a malformed trace line or an invalid parameter. */
export class WorkloadError extends Error {
  /** 1-based line of the trace the error is about, when it is about one. */
  readonly line: number | undefined;

  constructor(message: string, line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
    this.name = 'WorkloadError';
    this.line = line;
  }
}
